import type { AbortOptions } from '../util/abort.js'
import { throwIfAborted } from '../util/abort.js'
import { StoreError } from '../util/errors.js'
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
  // An address is stored iff it is a key of `peerIds`. Stats live in a second map, only for the
  // addresses that have had an event, flattened: most learned addresses are never dialled, and
  // four objects per address were a third of a simulated node's heap.
  const peerIds = new Map<string, string | null>()
  const stats = new Map<string, FlatStats>()
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
        if (entry.peerId !== undefined) peerIds.set(entry.address, entry.peerId)
        else if (!peerIds.has(entry.address)) peerIds.set(entry.address, null)
      }
    },
    async remove (addresses: string[], options?: AbortOptions) {
      check(options)
      const t = now()
      for (const a of addresses) { peerIds.delete(a); stats.delete(a); tombstones.set(a, t) }
    },
    async * known (options: KnownOptions = {}): AsyncGenerator<PeerRecord> {
      check(options)
      let n = 0
      for (const [address, peerId] of [...peerIds]) {
        if (options.limit !== undefined && n >= options.limit) return
        throwIfAborted(options.signal)
        n++
        yield { address, peerId, stats: copyStats(stats.get(address)) }
      }
    },
    async getStats (address: string, options?: AbortOptions) {
      check(options)
      return copyStats(stats.get(address))
    },
    async record (address: string, event: StatEvent, options?: AbortOptions) {
      check(options)
      if (!validAddress(address)) throw new TypeError('address must be a non-empty string')
      checkStatEvent(event)
      if (!peerIds.has(address)) {
        if (tombstoned(address) && event.type !== 'dial-ok') return
        peerIds.set(address, null)
        tombstones.delete(address)
      }
      stats.set(address, flatten(applyStatEvent(copyStats(stats.get(address)), event, now())))
      if (event.type === 'dial-ok' && event.peerId !== undefined) peerIds.set(address, event.peerId)
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
    async close () { closed = true },
    async reopen () { closed = false }
  }
}

/** `PeerStats` in one object instead of three. */
interface FlatStats { ok: number, fail: number, rx: number, tx: number, lastSeen: number | null, rtt: number | null }

function flatten (s: PeerStats): FlatStats {
  return { ok: s.connections.ok, fail: s.connections.fail, rx: s.nodes.rx, tx: s.nodes.tx, lastSeen: s.lastSeen, rtt: s.rtt }
}

/** Stats the caller may keep or change (zeros for an address without events). */
function copyStats (s: FlatStats | undefined): PeerStats {
  if (s === undefined) return emptyStats()
  return { connections: { ok: s.ok, fail: s.fail }, nodes: { rx: s.rx, tx: s.tx }, lastSeen: s.lastSeen, rtt: s.rtt }
}
