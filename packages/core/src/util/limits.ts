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
  /** Frames one peer may send per second, sustained (burst: one second's worth). Over it the link is cut off and the peer banned. @default 1000000 */
  peerFramesPerSecond: number
  /** Bytes one peer may send per second, sustained (burst: one second's worth). @default 1073741824 (1 GiB) */
  peerBytesPerSecond: number
  /** Invalid frames (each closes its link) from one peer id or one address within `offenceWindowMs` that get it banned. @default 3 */
  maxInvalidFrames: number
  /** Inbound handshakes failed on bad bytes (wrong network key, garbage) from one address within `offenceWindowMs` that get the address banned. Timeouts and closes do not count. @default 10 */
  maxHandshakeFailures: number
  /** Window in which offences are counted, ms. @default 60000 */
  offenceWindowMs: number
  /** How long a ban lasts, ms. @default 600000 (10 min) */
  banMs: number
  /** Most bans (peer ids and addresses) remembered; the oldest is forgotten first. @default 10000 */
  maxBans: number
  /** Inbound handshakes in progress at once; further connections are closed at once. @default 128 */
  maxPendingHandshakes: number
  /** Open inbound connections from one remote address (IP; IPv6 by /64), handshaking or linked. 0 = no cap, the default: peers behind one NAT, and every test node on loopback, share an address. Relays set it. @default 0 */
  maxConnectionsPerAddress: number
}

export const DEFAULT_ABUSE_LIMITS: Readonly<AbuseLimits> = Object.freeze({
  peerFramesPerSecond: 1_000_000,
  peerBytesPerSecond: 1024 * 1024 * 1024,
  maxInvalidFrames: 3,
  maxHandshakeFailures: 10,
  offenceWindowMs: 60_000,
  banMs: 600_000,
  maxBans: 10_000,
  maxPendingHandshakes: 128,
  maxConnectionsPerAddress: 0
})
