import type { AbortOptions } from '../util/abort.js'
import type { PeerId } from '../wire/identity.js'

export interface PeerStats {
  /** Dial outcomes for this address. */
  connections: { ok: number, fail: number }
  /** Peer addresses received from (`rx`) and sent to (`tx`) this peer by peer exchange. */
  nodes: { rx: number, tx: number }
  /** When the address last worked (ms since the epoch), or null. */
  lastSeen: number | null
  /** Latest smoothed round-trip time in ms, or null. */
  rtt: number | null
}

export interface PeerRecord {
  address: string
  /** The id proven at the last successful handshake on this address, if any. */
  peerId: PeerId | null
  stats: PeerStats
}

export type StatEvent =
  | { type: 'dial-ok', peerId?: PeerId }
  | { type: 'dial-fail' }
  | { type: 'rx', count: number }
  | { type: 'tx', count: number }
  | { type: 'rtt', ms: number }

export interface SaveEntry { address: string, peerId?: PeerId }

export interface KnownOptions extends AbortOptions {
  /** At most this many rows. */
  limit?: number
}

/**
 * Where a node remembers addresses, their connection statistics and its own identity.
 * `@hearsay/store-level` implements it on LevelDB / IndexedDB; `memoryStore()` in memory.
 */
export interface PeerStore {
  /** Adds addresses (idempotent). Addresses removed less than the tombstone time ago are ignored. */
  save: (entries: Array<string | SaveEntry>, options?: AbortOptions) => Promise<void>
  /** Forgets addresses and keeps a tombstone so that peer exchange does not re-add them at once. */
  remove: (addresses: string[], options?: AbortOptions) => Promise<void>
  /** Every stored address with its stats, in no particular order. */
  known: (options?: KnownOptions) => AsyncIterable<PeerRecord>
  /** Stats of one address; zeros for an unknown one. */
  getStats: (address: string, options?: AbortOptions) => Promise<PeerStats>
  /** Applies a stat event to an address (saving the address if new). Counts are never lost. */
  record: (address: string, event: StatEvent, options?: AbortOptions) => Promise<void>
  /** The node's stored 64-byte ed25519 secret key, if any. */
  getIdentity: (options?: AbortOptions) => Promise<Uint8Array | undefined>
  setIdentity: (secretKey: Uint8Array, options?: AbortOptions) => Promise<void>
  /** Small named values owned by the node (e.g. counters that must survive restarts). */
  getMeta: (key: string, options?: AbortOptions) => Promise<Uint8Array | undefined>
  putMeta: (key: string, value: Uint8Array, options?: AbortOptions) => Promise<void>
  /** Flushes and releases the store. Further calls reject with `StoreError` (until `reopen()`). */
  close: () => Promise<void>
  /**
   * Opens a closed store again, with what it held: a node that owns its store closes it on
   * `stop()` and reopens it on the next `start()`. A store without it cannot be restarted that
   * way (the node's `start()` then rejects with `NotStartedError`). No-op on an open store.
   */
  reopen?: (options?: AbortOptions) => Promise<void>
}

export function emptyStats (): PeerStats {
  return { connections: { ok: 0, fail: 0 }, nodes: { rx: 0, tx: 0 }, lastSeen: null, rtt: null }
}

/** Applies one event to stats; shared by every store so they count alike. */
export function applyStatEvent (stats: PeerStats, event: StatEvent, now: number): PeerStats {
  const s: PeerStats = {
    connections: { ...stats.connections },
    nodes: { ...stats.nodes },
    lastSeen: stats.lastSeen,
    rtt: stats.rtt
  }
  switch (event.type) {
    case 'dial-ok': s.connections.ok++; s.lastSeen = now; break
    case 'dial-fail': s.connections.fail++; break
    case 'rx': s.nodes.rx += event.count; break
    case 'tx': s.nodes.tx += event.count; break
    case 'rtt': s.rtt = s.rtt === null ? event.ms : Math.round((s.rtt * 7 + event.ms) / 8 * 1000) / 1000; break
  }
  return s
}

/**
 * Throws `TypeError` unless `event` is a well-formed `StatEvent` (known type, integer counts
 * >= 0, finite rtt >= 0). Every store checks events with it, so they refuse alike.
 */
export function checkStatEvent (event: StatEvent): void {
  const e = event as { type?: unknown, count?: unknown, ms?: unknown, peerId?: unknown } | null
  if (e === null || typeof e !== 'object') throw new TypeError('a stat event must be an object')
  switch (e.type) {
    case 'dial-ok':
      if (e.peerId !== undefined && (typeof e.peerId !== 'string' || e.peerId.length === 0)) throw new TypeError('dial-ok peerId must be a non-empty string')
      return
    case 'dial-fail': return
    case 'rx':
    case 'tx':
      if (typeof e.count !== 'number' || !Number.isSafeInteger(e.count) || e.count < 0) throw new TypeError(`${e.type} count must be an integer >= 0`)
      return
    case 'rtt':
      if (typeof e.ms !== 'number' || !Number.isFinite(e.ms) || e.ms < 0) throw new TypeError('rtt ms must be a finite number >= 0')
      return
    default: throw new TypeError(`unknown stat event type ${String(e.type)}`)
  }
}

/** Default time a removed address stays un-learnable: 24 hours. */
export const DEFAULT_TOMBSTONE_MS = 24 * 60 * 60 * 1000
