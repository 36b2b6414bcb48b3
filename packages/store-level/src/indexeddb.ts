import { StoreError } from '@hearsay/core'
import type { KvDatabase, KvIterator } from './kv.js'

/** Entries `entries()` reads per IndexedDB transaction (a transaction cannot outlive a task). */
const PAGE = 100

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

function request<T> (r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => { resolve(r.result) }
    r.onerror = () => { reject(r.error ?? new Error('IndexedDB request failed')) }
  })
}

function completion (tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => { resolve() }
    // a failed request aborts its transaction: `abort` covers every failure
    tx.onabort = () => { reject(tx.error ?? new Error('IndexedDB transaction aborted')) }
  })
}

/** Values are stored as `Uint8Array`; an `ArrayBuffer` (older writers) is viewed as bytes, anything else is left for the codec to reject. */
function bytes (value: unknown): Uint8Array | undefined {
  return value instanceof ArrayBuffer ? new Uint8Array(value) : value as Uint8Array | undefined
}

/**
 * The store's key-value operations on raw IndexedDB, in browser-level's layout: database `name`
 * (version 1) holding one object store also called `name`, keys as UTF-8 bytes (IndexedDB binary
 * keys, ordered bytewise like LevelDB), values as `Uint8Array`. So `levelStore({ location: name })`
 * and `indexedDbStore({ name })` read and write the same data.
 */
export function indexedDbKv (name: string, factory: IDBFactory | undefined): KvDatabase {
  let db: IDBDatabase | undefined

  const objects = (mode: IDBTransactionMode): { tx: IDBTransaction, store: IDBObjectStore } => {
    if (db === undefined) throw new StoreError(`the IndexedDB database ${name} is not open`)
    const tx = db.transaction(name, mode)
    return { tx, store: tx.objectStore(name) }
  }

  return {
    open: async () => {
      if (db !== undefined) return
      const idb = factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB
      if (idb === undefined) throw new StoreError('IndexedDB is not available in this runtime')
      const req = idb.open(name, 1)
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name)
      }
      const opened = await request(req)
      if (!opened.objectStoreNames.contains(name)) {
        opened.close()
        throw new StoreError(`the IndexedDB database ${name} was made by something else (it has no object store ${name})`)
      }
      // a deletion or upgrade from another tab must not wait for this one: give way, and later
      // operations fail with StoreError
      opened.onversionchange = () => { opened.close() }
      db = opened
    },

    close: async () => {
      db?.close()
      db = undefined
    },

    get: async (key) => {
      const { store } = objects('readonly')
      return bytes(await request(store.get(utf8.encode(key))))
    },

    getMany: async (keys) => {
      const { store } = objects('readonly')
      const values = await Promise.all(keys.map(async k => await request(store.get(utf8.encode(k)))))
      return values.map(bytes)
    },

    batch: async (ops) => {
      const { tx, store } = objects('readwrite')
      const done = completion(tx)
      for (const op of ops) {
        if (op.type === 'put') store.put(op.value, utf8.encode(op.key))
        else store.delete(utf8.encode(op.key))
      }
      await done
    },

    entries: (gte, lt): KvIterator => {
      const upper = utf8.encode(lt)
      let lower: IDBValidKey = utf8.encode(gte)
      let after = false // whether `lower` was the last key already read
      let end = false
      let page: Array<[string, Uint8Array]> = []
      return {
        next: async () => {
          if (page.length === 0 && !end) {
            const { store } = objects('readonly')
            const range = IDBKeyRange.bound(lower, upper, after, true)
            const [keys, values] = await Promise.all([request(store.getAllKeys(range, PAGE)), request(store.getAll(range, PAGE))])
            page = keys.map((k, i) => [fromUtf8.decode(k as ArrayBuffer), bytes(values[i]) as Uint8Array])
            if (keys.length < PAGE) end = true
            else { lower = keys[keys.length - 1]!; after = true }
          }
          return page.shift()
        },
        close: async () => { end = true; page = [] }
      }
    }
  }
}
