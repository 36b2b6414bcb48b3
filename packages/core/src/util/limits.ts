/** Defaults for every size limit, in one place. All are configurable per node. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024
export const DEFAULT_MAX_TYPE_BYTES = 64
export const DEFAULT_MAX_ID_BYTES = 64
/** What the secure channel adds to every frame (the poly1305 tag). */
export const SECURE_FRAME_OVERHEAD = 16
/** Bytes buffered in a connection above which a writer should wait for `drained()`. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024

export interface Limits {
  /** Largest encoded message (envelope) in bytes. @default 262144 */
  maxFrameBytes: number
  /** Longest message type, in UTF-8 bytes. @default 64 */
  maxTypeBytes: number
  /** Longest message id, in bytes. @default 64 */
  maxIdBytes: number
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxTypeBytes: DEFAULT_MAX_TYPE_BYTES,
  maxIdBytes: DEFAULT_MAX_ID_BYTES
})

/**
 * Abuse limits: what one peer or one remote address may cost this node before it is refused or
 * cut off and banned. One group, one place (docs/api.md, "Abuse limits"). A value of 0 disables
 * that limit.
 *
 * The rate defaults are a backstop, set above what one secure link can carry: on this machine
 * class a saturated ws link moved 233k frames/s of 64 B on average with 100 ms peaks of 504k/s,
 * and at most ≈ 40 MB/s (tweetnacl opens ≈ 80 MB/s), so benchmarks and overlay traffic never
 * meet them, even on a CPU twice as fast. A peer over them is not a fast peer but a broken or
 * hostile one. Each bucket holds one second of its rate, so a receiver that stalls (GC, a busy
 * event loop) and then reads a backlog is not mistaken for a flood. Applications that know
 * their traffic should set lower rates.
 */
export interface AbuseLimits {
  /** Frames one peer may send per second, sustained (burst: one second's worth). Over it the peer's frames are dropped (`drops.rate-limit`); over it for `peerThrottleMs` the link is cut off and the peer id banned. @default 1000000 */
  peerFramesPerSecond: number
  /** Bytes one peer may send per second, sustained (burst: one second's worth). @default 1073741824 (1 GiB) */
  peerBytesPerSecond: number
  /** How long a peer may stay over its rates (throttled: its excess frames dropped, drops less than 1 s apart) before its link is cut off and its id banned, ms. 0 = at the first frame over. @default 10000 */
  peerThrottleMs: number
  /** Invalid frames (each closes its link) from one peer id within `offenceWindowMs` that get the id banned (never its address: it proved an id). @default 3 */
  maxInvalidFrames: number
  /** Inbound handshakes failed on bad bytes (wrong network key, garbage) from one address within `offenceWindowMs` that get the address banned. Timeouts and closes do not count. @default 10 */
  maxHandshakeFailures: number
  /** Window in which offences are counted, ms. @default 60000 */
  offenceWindowMs: number
  /** How long a ban of a peer id lasts, ms. @default 600000 (10 min) */
  banMs: number
  /** How long an address that failed `maxHandshakeFailures` handshakes on bad bytes stays penalised: one handshake at a time from it, refused at dial, ms. Never longer than a ban of an id: many honest peers may share the address. @default 60000 */
  addressBanMs: number
  /** Most bans (peer ids and addresses) remembered; the oldest is forgotten first. @default 10000 */
  maxBans: number
  /** Inbound handshakes in progress at once. When full, a new connection cuts the oldest handshake in progress (`refused.handshake-evicted`), so half-open connections cannot keep honest ones out. 0 = no cap. @default 128 */
  maxPendingHandshakes: number
  /** Inbound handshakes in progress at once from one address (IP; IPv6 by /64). 0 = no cap, the default (nodes on one machine share an address); relays set it. @default 0 */
  maxPendingHandshakesPerAddress: number
  /** While the node is under a handshake flood (half of `maxPendingHandshakes` in progress), how long a new inbound connection has to send a hello that proves the network key, ms; older ones past it that sent none are cut to make room. A connection that sent its hello keeps the whole `handshakeTimeout` (an honest peer on a starved CPU may be slow). @default 2000 */
  handshakeTimeoutUnderLoadMs: number
  /** Open inbound connections from one remote address (IP; IPv6 by /64), handshaking or linked. 0 = no cap, the default: peers behind one NAT, and every test node on loopback, share an address. Relays set it. @default 0 */
  maxConnectionsPerAddress: number
}

export const DEFAULT_ABUSE_LIMITS: Readonly<AbuseLimits> = Object.freeze({
  peerFramesPerSecond: 1_000_000,
  peerBytesPerSecond: 1024 * 1024 * 1024,
  peerThrottleMs: 10_000,
  maxInvalidFrames: 3,
  maxHandshakeFailures: 10,
  offenceWindowMs: 60_000,
  banMs: 600_000,
  addressBanMs: 60_000,
  maxBans: 10_000,
  maxPendingHandshakes: 128,
  maxPendingHandshakesPerAddress: 0,
  handshakeTimeoutUnderLoadMs: 2_000,
  maxConnectionsPerAddress: 0
})
