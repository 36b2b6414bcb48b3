import { isPeerId } from '../wire/identity.js'
import type { PeerId } from '../wire/identity.js'
import type { SignalFailureCode } from '../link/transport.js'

/**
 * The two frames of overlay signalling (docs/protocol.md, "WebRTC signalling"): pure shapes and
 * their validation, no I/O.
 */

/** `rtc.signal`: one signalling message of session `sid`, from `from` to `to`. */
export interface SignalFrame {
  from: PeerId
  to: PeerId
  /** Session id chosen by the dialler (1–64 characters). */
  sid: string
  /** Per-sender sequence number: with `from` and `sid` it names the message for deduplication. */
  n: number
  /** How many more times it may be forwarded. The sender sets `SIGNAL_HOPS`. */
  hops: number
  data: unknown
}

/** `rtc.error`: session `sid` cannot go on; `peer` is the peer it was with (or could not reach). */
export interface SignalErrorFrame {
  from: PeerId
  to: PeerId
  sid: string
  hops: number
  code: SignalFailureCode
  peer: PeerId
}

/**
 * Forwards a signal may take: enough to follow a FORWARD_JOIN walk back to the newcomer (the walk
 * ends up to `arwl` + 1 = 7 forwards from it, counting the contact).
 */
export const SIGNAL_HOPS = 7
/** Larger hop counts are refused as malformed. */
export const MAX_SIGNAL_HOPS = 7
export const MAX_SESSION_ID_LENGTH = 64

export const SIGNAL_FAILURE_CODES: readonly SignalFailureCode[] = ['unreachable', 'refused', 'busy', 'cancelled']

export function isSessionId (value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SESSION_ID_LENGTH
}

function isHops (value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_SIGNAL_HOPS
}

function record (data: unknown): Record<string, unknown> | undefined {
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? data as Record<string, unknown> : undefined
}

/** The frame if `data` is a well-formed `rtc.signal` body, else undefined. */
export function parseSignalFrame (data: unknown): SignalFrame | undefined {
  const d = record(data)
  if (d === undefined) return undefined
  const { from, to, sid, n, hops } = d
  if (!isPeerId(from) || !isPeerId(to) || from === to || !isSessionId(sid) || !isHops(hops)) return undefined
  if (!Number.isSafeInteger(n) || (n as number) < 0) return undefined
  return { from, to, sid, n: n as number, hops, data: d.data }
}

/** The frame if `data` is a well-formed `rtc.error` body, else undefined. */
export function parseSignalErrorFrame (data: unknown): SignalErrorFrame | undefined {
  const d = record(data)
  if (d === undefined) return undefined
  const { from, to, sid, hops, code, peer } = d
  if (!isPeerId(from) || !isPeerId(to) || from === to || !isSessionId(sid) || !isHops(hops) || !isPeerId(peer)) return undefined
  if (!SIGNAL_FAILURE_CODES.includes(code as SignalFailureCode)) return undefined
  return { from, to, sid, hops, code: code as SignalFailureCode, peer }
}
