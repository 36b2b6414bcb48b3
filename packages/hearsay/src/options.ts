import type { NodeOptions, PeerStore } from '@hearsay/core'

/**
 * The options of `createNode()` from `hearsay`: every option of `@hearsay/core`'s, except that
 * `store` may also be a name — a directory path in Node (LevelDB), an IndexedDB database name in
 * browsers — and `transports` defaults to the platform's.
 */
export interface HearsayOptions extends Omit<NodeOptions, 'store'> {
  /**
   * A `PeerStore` (used as is, and not closed by `stop()` unless `closeStore: true`), or the name
   * of a store that the node opens and closes itself: a directory path in Node (LevelDB), an
   * IndexedDB database name in browsers.
   * @default './.hearsay' in Node (relative to the working directory); 'hearsay' in browsers
   */
  store?: PeerStore | string
}

export function checkStoreName (store: unknown): void {
  if (typeof store === 'string' && store.length === 0) throw new TypeError('store must be a non-empty name or a PeerStore')
}
