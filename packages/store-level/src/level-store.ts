import { Level } from 'level'
import { StoreLockedError } from './errors.js'
import type { KvDatabase } from './kv.js'
import { kvStore } from './kv-store.js'
import type { KvPeerStore, KvStoreOptions } from './kv-store.js'

/**
 * Any abstract-level database (a `Level`, a `ClassicLevel`, a `BrowserLevel`, a sublevel, …):
 * the methods this store calls, declared here rather than taken from abstract-level, whose types
 * need Node's (`Buffer`) and ES2024's (`Symbol.asyncDispose`): so the declarations of the browser
 * entries compile with lib ES2022 + DOM and no @types/node.
 */
export interface LevelDatabase {
  /** abstract-level's `'opening' | 'open' | 'closing' | 'closed'`. */
  readonly status: string
  open: (...args: any[]) => Promise<void>
  close: (...args: any[]) => Promise<void>
  get: (key: any, options?: any) => Promise<any>
  getMany: (keys: any[], options?: any) => Promise<any[]>
  batch: (operations: any[], options?: any) => Promise<void>
  iterator: (options?: any) => any
}

export interface LevelStoreOptions extends KvStoreOptions {
  /**
   * Where the data lives: a directory path in Node (LevelDB through classic-level), the name of
   * an IndexedDB database in browsers (browser-level). Required unless `db` is given.
   */
  location?: string
  /**
   * An abstract-level database to use instead of opening `location` (e.g. a sublevel of the
   * application's own database). The store opens it if needed and does not close it.
   */
  db?: LevelDatabase
}

/** A `PeerStore` on level, with a few extras for operations and tests. */
export interface LevelPeerStore extends KvPeerStore {
  /** The underlying database (`Level` opened at `location`, or the `db` passed in). Reading it starts opening the store. */
  readonly db: LevelDatabase
  /** The `location` option (undefined with `db`). */
  readonly location: string | undefined
}

// every operation names its encodings, so that a database passed in with other defaults works
const ENC = { keyEncoding: 'utf8', valueEncoding: 'view' } as const

/** The store's key-value operations on an abstract-level database. */
function levelKv (database: () => LevelDatabase, label: string): KvDatabase {
  return {
    open: async () => {
      try {
        await database().open()
      } catch (err) {
        const cause = err as { code?: unknown, cause?: { code?: unknown } }
        if (cause?.code === 'LEVEL_LOCKED' || cause?.cause?.code === 'LEVEL_LOCKED') {
          throw new StoreLockedError(`cannot open the peer store at ${label}: it is locked (another process or store has it open)`, { cause: err })
        }
        throw err
      }
    },
    close: async () => { await database().close() },
    get: async (key) => await database().get(key, ENC),
    getMany: async (keys) => await database().getMany(keys, ENC),
    batch: async (ops) => { await database().batch(ops, ENC) },
    entries: (gte, lt) => database().iterator({ gte, lt, ...ENC })
  }
}

/**
 * A `PeerStore` on [level](https://github.com/Level/level): LevelDB (classic-level) in Node,
 * IndexedDB (browser-level) in browsers, picked by level's own `browser` export. Browsers that
 * need no abstract-level database of their own take `indexedDbStore`, which keeps the same
 * layout without level's code.
 */
export function levelStore (opts: LevelStoreOptions): LevelPeerStore {
  if (opts === null || typeof opts !== 'object') throw new TypeError('levelStore needs { location } or { db }')
  if (opts.db === undefined && (typeof opts.location !== 'string' || opts.location.length === 0)) {
    throw new TypeError('levelStore needs a non-empty location or a db')
  }
  const location = opts.location
  const label = location ?? 'db'
  // created and opened on first use, so that creating a store (or a node) touches no disk
  let db: LevelDatabase | undefined = opts.db
  // prefix '' makes the IndexedDB database carry exactly the given name (browser-level's default
  // prefix is 'level-js-'); classic-level ignores the option
  const database = (): LevelDatabase => (db ??= new Level<string, Uint8Array>(location!, { ...ENC, prefix: '' } as never))
  const store = kvStore({ db: levelKv(database, label), label, owns: opts.db === undefined }, opts)
  return Object.defineProperties(store, {
    db: { enumerable: true, get: () => { store.open().catch(() => {}); return database() } },
    location: { enumerable: true, value: location }
  }) as LevelPeerStore
}
