import { decodeValue, encodeValue } from '@hearsay/core'
import type { PeerStats } from '@hearsay/core'

/**
 * Every value this store writes starts with this byte; the rest is plain msgpack (core's
 * `encodeValue`). A value with another first byte (an older or newer layout, or garbage) is
 * skipped and counted in `store.corrupt`, never trusted and never a crash.
 */
export const FORMAT_VERSION = 1

/** Key prefixes. Rows sort together so that `known()` is one range scan. */
export const KEY = {
  row: 'a!',
  rowEnd: 'a"',
  tombstone: 't!',
  meta: 'm!',
  identity: 'i!'
} as const

/** Longest peer id accepted from disk (ids are 52 characters; anything far longer is garbage). */
const MAX_ID_LENGTH = 128

export interface StoredRow {
  peerId: string | null
  stats: PeerStats
}

/** A decoding failure: what was wrong, for the `onCorrupt` callback. */
export class Corrupt {
  constructor (readonly reason: string) {}
}

function withVersion (body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1)
  out[0] = FORMAT_VERSION
  out.set(body, 1)
  return out
}

function body (bytes: unknown): Uint8Array | Corrupt {
  if (!(bytes instanceof Uint8Array)) return new Corrupt('not bytes')
  if (bytes.length === 0) return new Corrupt('empty value')
  if (bytes[0] !== FORMAT_VERSION) return new Corrupt(`format version ${bytes[0]!}, expected ${FORMAT_VERSION}`)
  return bytes.subarray(1)
}

function unpack (bytes: unknown): unknown {
  const b = body(bytes)
  if (b instanceof Corrupt) return b
  if (b.length === 0) return new Corrupt('no body')
  try { return decodeValue(b) } catch { return new Corrupt('undecodable msgpack') }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isTimeOrNull = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v))

/** A row is `[peerId | null, ok, fail, rx, tx, lastSeen | null, rtt | null]` after the version byte. */
export function encodeRow (row: StoredRow): Uint8Array {
  const s = row.stats
  return withVersion(encodeValue([row.peerId, s.connections.ok, s.connections.fail, s.nodes.rx, s.nodes.tx, s.lastSeen, s.rtt]))
}

export function decodeRow (bytes: unknown): StoredRow | Corrupt {
  const v = unpack(bytes)
  if (v instanceof Corrupt) return v
  if (!Array.isArray(v) || v.length !== 7) return new Corrupt('row is not a 7-element array')
  const [peerId, ok, fail, rx, tx, lastSeen, rtt] = v as unknown[]
  if (peerId !== null && (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > MAX_ID_LENGTH)) return new Corrupt('bad peer id')
  if (!isCount(ok) || !isCount(fail) || !isCount(rx) || !isCount(tx)) return new Corrupt('bad counter')
  if (!isTimeOrNull(lastSeen) || !isTimeOrNull(rtt)) return new Corrupt('bad lastSeen or rtt')
  return { peerId, stats: { connections: { ok, fail }, nodes: { rx, tx }, lastSeen, rtt } }
}

/** A tombstone is the removal time (ms since the epoch). */
export function encodeTombstone (time: number): Uint8Array {
  return withVersion(encodeValue(time))
}

export function decodeTombstone (bytes: unknown): number | Corrupt {
  const v = unpack(bytes)
  if (v instanceof Corrupt) return v
  return typeof v === 'number' && Number.isFinite(v) ? v : new Corrupt('tombstone is not a time')
}

/** Raw bytes (identity, meta values) are stored as they are after the version byte. */
export function encodeBytes (bytes: Uint8Array): Uint8Array {
  return withVersion(bytes)
}

export function decodeBytes (bytes: unknown, length?: number): Uint8Array | Corrupt {
  const b = body(bytes)
  if (b instanceof Corrupt) return b
  if (length !== undefined && b.length !== length) return new Corrupt(`expected ${length} bytes, got ${b.length}`)
  return new Uint8Array(b) // a plain copy: a Buffer from a sublevel must not leak out
}
