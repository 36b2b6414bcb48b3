/**
 * The few operations the peer store needs from an ordered key-value database: string keys
 * (compared as UTF-8 bytes), byte values. `level` (LevelDB / browser-level) and raw IndexedDB
 * each get a small adapter to it, so the store's logic is written once.
 */
export type KvOp = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

export interface KvIterator {
  /** The next entry in key order, or undefined at the end. */
  next: () => Promise<[string, Uint8Array] | undefined>
  close: () => Promise<void>
}

export interface KvDatabase {
  /** Opens the database; may be called again after a failure. */
  open: () => Promise<void>
  close: () => Promise<void>
  /** The value of `key`, undefined when absent; a value that is not bytes comes back as it is (the codec rejects it). */
  get: (key: string) => Promise<Uint8Array | undefined>
  getMany: (keys: string[]) => Promise<Array<Uint8Array | undefined>>
  /** Applies every op atomically. */
  batch: (ops: KvOp[]) => Promise<void>
  /** Entries with `gte <= key < lt`, in key order. */
  entries: (gte: string, lt: string) => KvIterator
}
