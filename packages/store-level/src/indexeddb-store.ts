import { indexedDbKv } from './indexeddb.js'
import { kvStore } from './kv-store.js'
import type { KvPeerStore, KvStoreOptions } from './kv-store.js'

/**
 * What `indexedDB` accepts: `IDBFactory` where the DOM library is loaded (browsers); elsewhere
 * any object with an IndexedDB `open` (fake-indexeddb's, for one). So these declarations compile
 * without the DOM library (a Node program) as well as with it.
 */
export type IndexedDbFactory = typeof globalThis extends { indexedDB: infer F } ? F : { open: (name: string, version?: number) => unknown }

export interface IndexedDbStoreOptions extends KvStoreOptions {
  /** The IndexedDB database (and object store) name. Required. */
  name: string
  /** The IndexedDB to use. @default globalThis.indexedDB */
  indexedDB?: IndexedDbFactory
}

/** A `PeerStore` on IndexedDB directly. */
export interface IndexedDbPeerStore extends KvPeerStore {
  /** The `name` option. */
  readonly name: string
}

/**
 * A `PeerStore` on raw IndexedDB, for browsers: what `levelStore` does there, in the same
 * layout and with the same Web Lock, without level's code (about 21 kB gzip less in a bundle).
 * `hearsay`'s browser entry uses it.
 */
export function indexedDbStore (opts: IndexedDbStoreOptions): IndexedDbPeerStore {
  if (opts === null || typeof opts !== 'object' || typeof opts.name !== 'string' || opts.name.length === 0) {
    throw new TypeError('indexedDbStore needs a non-empty name')
  }
  const store = kvStore({ db: indexedDbKv(opts.name, opts.indexedDB as IDBFactory | undefined), label: opts.name, owns: true }, opts)
  return Object.defineProperty(store, 'name', { enumerable: true, value: opts.name }) as IndexedDbPeerStore
}
