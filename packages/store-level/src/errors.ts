import { StoreError } from '@hearsay/core'

/**
 * The database is in use by another process (LevelDB's LOCK), another tab (Web Locks) or
 * another store in this process. Its `code` is `ERR_STORE` like every store error.
 */
export class StoreLockedError extends StoreError {
  // a literal, not the class's own name: minifiers rename classes in application bundles
  override readonly name: string = 'StoreLockedError'
}
