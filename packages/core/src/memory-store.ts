import type { AbortOptions } from './abort.js'
import { throwIfAborted } from './abort.js'
import { StoreError } from './errors.js'
import type { KnownOptions, PeerRecord, PeerStats, PeerStore, SaveEntry, StatEvent } from './peer-store.js'
import { applyStatEvent, checkStatEvent, DEFAULT_TOMBSTONE_MS, emptyStats } from './peer-store.js'

export interface MemoryStoreOptions {
  /** Wall-clock source (ms since the epoch) for `lastSeen` and tombstones. @default Date.now */
  now?: () => number
  /** How long a removed address is ignored by `save`. @default 86400000 (24 h) */
  tombstoneMs?: number
}

/** A `PeerStore` in memory: for tests, the simulator and runtimes without storage. */
export function memoryStore (opts: MemoryStoreOptions = {}): PeerStore {
  const now = opts.now ?? Date.now
  const tombstoneMs = opts.tombstoneMs ?? DEFAULT_TOMBSTONE_MS
  const rows = new Map<string, { peerId: string | null, stats: PeerStats }>()
  const tombstones = new Map<string, number>()
  const meta = new Map<string, Uint8Array>()
  let identity: Uint8Array | undefined
  let closed = false

  const check = (options?: AbortOptions): void => {
    if (closed) throw new StoreError('The store is closed')
    throwIfAborted(options?.signal)
  }
  const tombstoned = (address: string): boolean => {
    const t = tombstones.get(address)
    if (t === undefined) return false
    if (now() - t >= tombstoneMs) { tombstones.delete(address); return false }
    return true
  }
  const validAddress = (a: unknown): a is string => typeof a === 'string' && a.length > 0 && a.length <= 2048

  return {
    async save (entries: Array<string | SaveEntry>, options?: AbortOptions) {
      check(options)
      // every entry is checked before any is saved: a bad one saves nothing
      const list = entries.map(e => typeof e === 'string' ? { address: e } : e)
      for (const entry of list) if (!validAddress(entry?.address)) throw new TypeError('address must be a non-empty string')
      for (const entry of list) {
        if (tombstoned(entry.address)) continue
        const row = rows.get(entry.address)
        if (row === undefined) rows.set(entry.address, { peerId: entry.peerId ?? null, stats: emptyStats() })
        else if (entry.peerId !== undefined) row.peerId = entry.peerId
      }
    },
    async remove (addresses: string[], options?: AbortOptions) {
      check(options)
      const t = now()
      for (const a of addresses) { rows.delete(a); tombstones.set(a, t) }
    },
    async * known (options: KnownOptions = {}): AsyncGenerator<PeerRecord> {
      check(options)
      let n = 0
      for (const [address, row] of [...rows]) {
        if (options.limit !== undefined && n >= options.limit) return
        throwIfAborted(options.signal)
        n++
        yield { address, peerId: row.peerId, stats: structuredClone(row.stats) }
      }
    },
    async getStats (address: string, options?: AbortOptions) {
      check(options)
      const row = rows.get(address)
      return row === undefined ? emptyStats() : structuredClone(row.stats)
    },
    async record (address: string, event: StatEvent, options?: AbortOptions) {
      check(options)
      if (!validAddress(address)) throw new TypeError('address must be a non-empty string')
      checkStatEvent(event)
      let row = rows.get(address)
      if (row === undefined) {
        if (tombstoned(address) && event.type !== 'dial-ok') return
        row = { peerId: null, stats: emptyStats() }
        rows.set(address, row)
        tombstones.delete(address)
      }
      row.stats = applyStatEvent(row.stats, event, now())
      if (event.type === 'dial-ok' && event.peerId !== undefined) row.peerId = event.peerId
    },
    async getIdentity (options?: AbortOptions) {
      check(options)
      return identity?.slice()
    },
    async setIdentity (secretKey: Uint8Array, options?: AbortOptions) {
      check(options)
      if (!(secretKey instanceof Uint8Array) || secretKey.length !== 64) throw new TypeError('secret key must be 64 bytes')
      identity = secretKey.slice()
    },
    async getMeta (key: string, options?: AbortOptions) {
      check(options)
      return meta.get(key)?.slice()
    },
    async putMeta (key: string, value: Uint8Array, options?: AbortOptions) {
      check(options)
      if (!(value instanceof Uint8Array)) throw new TypeError('meta value must be a Uint8Array')
      meta.set(key, value.slice())
    },
    async close () { closed = true }
  }
}
