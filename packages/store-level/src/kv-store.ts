import { applyStatEvent, checkStatEvent, DEFAULT_TOMBSTONE_MS, emptyStats, StoreError, throwIfAborted } from '@hearsay/core'
import type { AbortOptions, KnownOptions, PeerRecord, PeerStats, PeerStore, SaveEntry, StatEvent } from '@hearsay/core'
import {
  Corrupt, decodeBytes, decodeRow, decodeTombstone, encodeBytes, encodeRow, encodeTombstone, KEY
} from './codec.js'
import type { StoredRow } from './codec.js'
import { StoreLockedError } from './errors.js'
import type { KvDatabase, KvOp } from './kv.js'

/** The options every store on a `KvDatabase` shares (`levelStore`, `indexedDbStore`). */
export interface KvStoreOptions {
  /** Wall-clock source (ms since the epoch) for `lastSeen` and tombstones. @default Date.now */
  now?: () => number
  /** How long a removed address is ignored by `save` and by stat events other than a successful dial, ms. @default 86400000 (24 h) */
  tombstoneMs?: number
  /** Most stat events written in one database batch; more wait for the next one. @default 10000 */
  maxBatch?: number
  /** Called for every stored value that is skipped because it cannot be decoded. @default none */
  onCorrupt?: (info: { key: string, reason: string }) => void
  /**
   * Where the Web Locks API exists (browsers), hold an exclusive lock named
   * `hearsay-store:<location>` while the store is open, so that a second tab opening the same
   * database fails with `StoreLockedError` as a second process does on LevelDB's own lock.
   * @default true
   */
  lock?: boolean
}

/** A `PeerStore` on a key-value database, with a few extras for operations and tests. */
export interface KvPeerStore extends PeerStore {
  /** How many stored values were skipped so far because they were garbage or of another format. */
  readonly corrupt: number
  /** Resolves once the database is open; rejects with `StoreError` if it cannot be opened. */
  open: () => Promise<void>
  /** Resolves when every write called so far is acknowledged by the database. */
  flush: () => Promise<void>
}

/** @internal how a store factory describes its database to `kvStore` */
export interface KvStoreTarget {
  db: KvDatabase
  /** Names the database in errors and in the Web Lock (`hearsay-store:<label>`). */
  label: string
  /** Whether the store opened the database itself: only then does it lock and close it. */
  owns: boolean
}

const MAX_ADDRESS_LENGTH = 2048

interface Group {
  events: Map<string, StatEvent[]>
  count: number
  done: Promise<void>
}

function validAddress (a: unknown): a is string {
  return typeof a === 'string' && a.length > 0 && a.length <= MAX_ADDRESS_LENGTH
}

function storeError (what: string, err: unknown): Error {
  if (err instanceof StoreError || err instanceof TypeError) return err
  if ((err as { code?: unknown })?.code === 'ERR_ABORTED') return err as Error
  return new StoreError(`peer store ${what} failed`, { cause: err })
}

/** Throws `TypeError` for options no store can work with; returns them resolved. */
export function resolveKvOptions (opts: KvStoreOptions): { now: () => number, tombstoneMs: number, maxBatch: number } {
  const now = opts.now ?? Date.now
  const tombstoneMs = opts.tombstoneMs ?? DEFAULT_TOMBSTONE_MS
  if (typeof tombstoneMs !== 'number' || !(tombstoneMs >= 0)) throw new TypeError('tombstoneMs must be a number >= 0')
  const maxBatch = opts.maxBatch ?? 10_000
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new TypeError('maxBatch must be an integer >= 1')
  return { now, tombstoneMs, maxBatch }
}

/**
 * The peer store's logic on any `KvDatabase`.
 *
 * Writes are serialised through one queue, so read-modify-write of stats cannot lose counts.
 * Stat events (`record`) that arrive while a write is in flight are grouped and written in one
 * batch: one read and one write per address however many events it got. A write's promise
 * resolves once the batch is acknowledged by the database. Reads see every write called before
 * them. Nothing touches the database until the first operation (or `open()`).
 */
export function kvStore (target: KvStoreTarget, opts: KvStoreOptions): KvPeerStore {
  const { now, tombstoneMs, maxBatch } = resolveKvOptions(opts)
  const { db, label, owns } = target

  let corrupt = 0
  let closed = false
  let group: Group | undefined
  /** The end of the write queue: every write runs after the one before it. */
  let tail: Promise<void> = Promise.resolve()

  let unlock: (() => void) | undefined
  let unlocked: Promise<unknown> = Promise.resolve()
  /** Releases the Web Lock (if held); resolves once the browser has let it go. */
  const releaseLock = async (): Promise<void> => {
    unlock?.()
    unlock = undefined
    await unlocked.catch(() => {})
  }
  const acquireLock = async (): Promise<void> => {
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
    if (!owns || opts.lock === false || locks === undefined || typeof locks.request !== 'function') return
    const held = new Promise<void>((resolve) => { unlock = resolve })
    await new Promise<void>((resolve, reject) => {
      unlocked = locks.request(`hearsay-store:${label}`, { ifAvailable: true }, async (lock) => {
        if (lock === null) {
          unlock = undefined
          reject(new StoreLockedError(`cannot open the peer store ${label}: it is locked (another tab or store has it open)`))
          return
        }
        resolve()
        await held
      })
      unlocked.catch(reject)
    })
  }

  let opening: Promise<void> | undefined
  const ensureOpen = (): Promise<void> => {
    if (opening === undefined) {
      opening = (async () => {
        await acquireLock()
        try {
          await db.open()
        } catch (err) {
          await releaseLock()
          if (err instanceof StoreError) throw err
          throw new StoreError(`cannot open the peer store at ${label}`, { cause: err })
        }
      })()
      opening.catch(() => {}) // reported by every operation, not as an unhandled rejection
    }
    return opening
  }

  const reportCorrupt = (key: string, c: Corrupt): void => {
    corrupt++
    try { opts.onCorrupt?.({ key, reason: c.reason }) } catch { /* a throwing callback changes nothing */ }
  }

  const check = (options?: AbortOptions): void => {
    if (closed) throw new StoreError('The store is closed')
    throwIfAborted(options?.signal)
  }

  /** Runs `task` after every write queued before it; the queue survives a failed task. */
  const enqueue = <T>(what: string, task: () => Promise<T>): Promise<T> => {
    const run = tail.then(async () => {
      await ensureOpen()
      try { return await task() } catch (err) { throw storeError(what, err) }
    })
    tail = run.then(() => {}, () => {})
    return run
  }

  /** Waits for the writes called so far (not for later ones), then reads. */
  const read = async <T>(what: string, task: () => Promise<T>): Promise<T> => {
    const before = tail
    await ensureOpen()
    await before
    try { return await task() } catch (err) { throw storeError(what, err) }
  }

  const getMany = async (keys: string[]): Promise<Array<Uint8Array | undefined>> =>
    keys.length === 0 ? [] : await db.getMany(keys)

  const rowOf = (key: string, bytes: Uint8Array | undefined): StoredRow | undefined => {
    if (bytes === undefined) return undefined
    const row = decodeRow(bytes)
    if (row instanceof Corrupt) { reportCorrupt(key, row); return undefined }
    return row
  }

  /** Tombstone state of an address: `live` blocks learning; `expired` should be deleted. */
  const tombstoneOf = (key: string, bytes: Uint8Array | undefined, t: number): 'none' | 'live' | 'expired' => {
    if (bytes === undefined) return 'none'
    const at = decodeTombstone(bytes)
    if (at instanceof Corrupt) { reportCorrupt(key, at); return 'expired' }
    return t - at >= tombstoneMs ? 'expired' : 'live'
  }

  const writeGroup = async (g: Group): Promise<void> => {
    if (group === g) group = undefined
    const addresses = [...g.events.keys()]
    const rowKeys = addresses.map(a => KEY.row + a)
    const existing = await getMany(rowKeys)
    const rows = existing.map((b, i) => rowOf(rowKeys[i]!, b))
    // tombstones matter only where there is no row
    const missing = addresses.filter((_a, i) => rows[i] === undefined)
    const tombBytes = await getMany(missing.map(a => KEY.tombstone + a))
    const tombs = new Map(missing.map((a, i) => [a, tombBytes[i]]))
    const t = now()
    const ops: KvOp[] = []
    addresses.forEach((address, i) => {
      let row = rows[i]
      let tomb = row === undefined ? tombstoneOf(KEY.tombstone + address, tombs.get(address), t) : 'none'
      let changed = false
      for (const event of g.events.get(address)!) {
        if (row === undefined) {
          // a removed address comes back only by a successful dial
          if (tomb === 'live' && event.type !== 'dial-ok') continue
          row = { peerId: null, stats: emptyStats() }
          if (tomb !== 'none') { ops.push({ type: 'del', key: KEY.tombstone + address }); tomb = 'none' }
        }
        row.stats = applyStatEvent(row.stats, event, t)
        if (event.type === 'dial-ok' && event.peerId !== undefined) row.peerId = event.peerId
        changed = true
      }
      if (changed && row !== undefined) ops.push({ type: 'put', key: KEY.row + address, value: encodeRow(row) })
    })
    if (ops.length > 0) await db.batch(ops)
  }

  return {
    get corrupt () { return corrupt },

    async open () {
      if (closed) throw new StoreError('The store is closed')
      await ensureOpen()
    },

    async flush () { await tail },

    save (entries: Array<string | SaveEntry>, options?: AbortOptions): Promise<void> {
      try {
        check(options)
        if (!Array.isArray(entries)) throw new TypeError('save takes an array of addresses')
        const list = entries.map(e => {
          const entry = typeof e === 'string' ? { address: e } : e
          if (entry === null || typeof entry !== 'object' || !validAddress(entry.address)) throw new TypeError('address must be a non-empty string')
          if (entry.peerId !== undefined && (typeof entry.peerId !== 'string' || entry.peerId.length === 0)) throw new TypeError('peerId must be a non-empty string')
          return entry
        })
        if (list.length === 0) return Promise.resolve()
        return enqueue('save', async () => {
          const addresses = [...new Set(list.map(e => e.address))]
          const rowBytes = await getMany(addresses.map(a => KEY.row + a))
          const tombBytes = await getMany(addresses.map(a => KEY.tombstone + a))
          const t = now()
          const rows = new Map<string, { row: StoredRow | undefined, changed: boolean, blocked: boolean }>()
          const ops: KvOp[] = []
          addresses.forEach((a, i) => {
            const row = rowOf(KEY.row + a, rowBytes[i])
            const tomb = tombstoneOf(KEY.tombstone + a, tombBytes[i], t)
            if (tomb === 'expired') ops.push({ type: 'del', key: KEY.tombstone + a })
            rows.set(a, { row, changed: false, blocked: tomb === 'live' })
          })
          for (const entry of list) {
            const r = rows.get(entry.address)!
            if (r.blocked) continue
            if (r.row === undefined) {
              r.row = { peerId: entry.peerId ?? null, stats: emptyStats() }
              r.changed = true
            } else if (entry.peerId !== undefined && entry.peerId !== r.row.peerId) {
              r.row.peerId = entry.peerId
              r.changed = true
            }
          }
          for (const [a, r] of rows) if (r.changed) ops.push({ type: 'put', key: KEY.row + a, value: encodeRow(r.row!) })
          if (ops.length > 0) await db.batch(ops)
        })
      } catch (err) { return Promise.reject(err) }
    },

    remove (addresses: string[], options?: AbortOptions): Promise<void> {
      try {
        check(options)
        if (!Array.isArray(addresses)) throw new TypeError('remove takes an array of addresses')
        for (const a of addresses) if (!validAddress(a)) throw new TypeError('address must be a non-empty string')
        if (addresses.length === 0) return Promise.resolve()
        return enqueue('remove', async () => {
          const tomb = encodeTombstone(now())
          const ops: KvOp[] = []
          for (const a of new Set(addresses)) {
            ops.push({ type: 'del', key: KEY.row + a }, { type: 'put', key: KEY.tombstone + a, value: tomb })
          }
          await db.batch(ops)
        })
      } catch (err) { return Promise.reject(err) }
    },

    async * known (options: KnownOptions = {}): AsyncGenerator<PeerRecord> {
      check(options)
      const limit = options.limit ?? Infinity
      if (limit <= 0) return
      const before = tail
      try { await ensureOpen(); await before } catch (err) { throw storeError('known', err) }
      throwIfAborted(options.signal)
      const it = db.entries(KEY.row, KEY.rowEnd)
      let n = 0
      try {
        while (true) {
          throwIfAborted(options.signal)
          if (closed) throw new StoreError('The store is closed')
          let entry: [string, Uint8Array] | undefined
          try { entry = await it.next() } catch (err) { throw storeError('known', err) }
          if (entry === undefined) return
          const [key, value] = entry
          const row = rowOf(key, value)
          if (row === undefined) continue
          n++
          yield { address: key.slice(KEY.row.length), peerId: row.peerId, stats: row.stats }
          if (n >= limit) return
        }
      } finally {
        await it.close().catch(() => {})
      }
    },

    getStats (address: string, options?: AbortOptions): Promise<PeerStats> {
      try {
        check(options)
        if (typeof address !== 'string') throw new TypeError('address must be a string')
        if (!validAddress(address)) return Promise.resolve(emptyStats())
        return read('getStats', async () => {
          const key = KEY.row + address
          return rowOf(key, await db.get(key))?.stats ?? emptyStats()
        })
      } catch (err) { return Promise.reject(err) }
    },

    record (address: string, event: StatEvent, options?: AbortOptions): Promise<void> {
      try {
        check(options)
        if (!validAddress(address)) throw new TypeError('address must be a non-empty string')
        checkStatEvent(event)
        let g = group
        if (g === undefined) {
          const fresh: Group = { events: new Map(), count: 0, done: undefined as unknown as Promise<void> }
          fresh.done = enqueue('record', async () => { await writeGroup(fresh) })
          group = g = fresh
        }
        const list = g.events.get(address)
        if (list === undefined) g.events.set(address, [event])
        else list.push(event)
        // a full group is sealed: later events go to the next batch
        if (++g.count >= maxBatch && group === g) group = undefined
        return g.done
      } catch (err) { return Promise.reject(err) }
    },

    getIdentity (options?: AbortOptions): Promise<Uint8Array | undefined> {
      try {
        check(options)
        return read('getIdentity', async () => {
          const bytes = await db.get(KEY.identity)
          if (bytes === undefined) return undefined
          const key = decodeBytes(bytes, 64)
          if (key instanceof Corrupt) { reportCorrupt(KEY.identity, key); return undefined }
          return key
        })
      } catch (err) { return Promise.reject(err) }
    },

    setIdentity (secretKey: Uint8Array, options?: AbortOptions): Promise<void> {
      try {
        check(options)
        if (!(secretKey instanceof Uint8Array) || secretKey.length !== 64) throw new TypeError('secret key must be 64 bytes')
        const value = encodeBytes(secretKey)
        return enqueue('setIdentity', async () => { await db.batch([{ type: 'put', key: KEY.identity, value }]) })
      } catch (err) { return Promise.reject(err) }
    },

    getMeta (key: string, options?: AbortOptions): Promise<Uint8Array | undefined> {
      try {
        check(options)
        if (typeof key !== 'string' || key.length === 0) throw new TypeError('meta key must be a non-empty string')
        return read('getMeta', async () => {
          const bytes = await db.get(KEY.meta + key)
          if (bytes === undefined) return undefined
          const value = decodeBytes(bytes)
          if (value instanceof Corrupt) { reportCorrupt(KEY.meta + key, value); return undefined }
          return value
        })
      } catch (err) { return Promise.reject(err) }
    },

    putMeta (key: string, value: Uint8Array, options?: AbortOptions): Promise<void> {
      try {
        check(options)
        if (typeof key !== 'string' || key.length === 0) throw new TypeError('meta key must be a non-empty string')
        if (!(value instanceof Uint8Array)) throw new TypeError('meta value must be a Uint8Array')
        const stored = encodeBytes(value)
        return enqueue('putMeta', async () => { await db.batch([{ type: 'put', key: KEY.meta + key, value: stored }]) })
      } catch (err) { return Promise.reject(err) }
    },

    async reopen (): Promise<void> {
      if (!closed) return
      // abstract-level and the IndexedDB wrapper both open again after close()
      closed = false
      opening = undefined
      await ensureOpen()
    },

    async close (): Promise<void> {
      if (closed) return
      closed = true
      group = undefined
      await tail
      if (!owns || opening === undefined) return
      try { await opening } catch { return }
      try { await db.close() } catch (err) { throw storeError('close', err) } finally { await releaseLock() }
    }
  }
}
