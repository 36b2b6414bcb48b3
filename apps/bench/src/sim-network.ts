import { checkType, decodeEnvelope, encodeEnvelope, MemoryNetwork, plainChannel, TooLargeError } from '@hearsay/core'
import type { Channel, Connection, Envelope, EnvelopeCodec, MemoryNetworkOptions, Transport } from '@hearsay/core'

export interface SimNetworkOptions extends MemoryNetworkOptions {
  seed: number
  /** Shortest one-way link latency, ms. @default 5 */
  latencyMin?: number
  /** Longest one-way link latency, ms. @default 20 */
  latencyMax?: number
}

/**
 * core's `MemoryNetwork` with a fixed, seeded latency per pair of hosts, drawn uniformly from
 * [latencyMin, latencyMax] whole milliseconds, so that every delivery is a clock event and the
 * first copy of a broadcast does not always win on hop count. Hosts are named `n<index>`; the
 * latency is a hash of (seed, lower index, higher index), so no table of n² pairs is kept.
 */
export class SimNetwork extends MemoryNetwork {
  private readonly seed: number
  private readonly latencyMin: number
  private readonly span: number

  constructor (opts: SimNetworkOptions) {
    // frames are never copied: the pass-through codec finds its envelope on the frame it sent
    super({ copyFrames: false, ...opts })
    this.seed = opts.seed | 0
    this.latencyMin = opts.latencyMin ?? 5
    this.span = (opts.latencyMax ?? 20) - this.latencyMin + 1
    if (!(this.span >= 1)) throw new RangeError('latencyMax must be >= latencyMin')
  }

  override latencyOf (a: string, b: string): number {
    const i = hostIndex(a)
    const j = hostIndex(b)
    if (i < 0 || j < 0) return super.latencyOf(a, b)
    const lo = i < j ? i : j
    const hi = i < j ? j : i
    return this.latencyMin + (mix3(this.seed, lo, hi) % this.span)
  }
}

function hostIndex (h: string): number {
  if (h.charCodeAt(0) !== 110 /* n */) return -1
  let v = 0
  for (let k = 1; k < h.length; k++) {
    const c = h.charCodeAt(k) - 48
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return h.length > 1 ? v : -1
}

/** A 32-bit integer hash of three integers (murmur3-style finaliser), non-negative. */
function mix3 (a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x27d4eb2f)
  h ^= h >>> 15
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h >>> 0
}

/** Where `simCodec` leaves a sent frame's envelope for its receiver. */
const ENVELOPE = Symbol('hearsay.sim.envelope')
type Tagged = Uint8Array & { [ENVELOPE]?: Envelope | undefined }
/** `copyData`'s answer for a value msgpack would not give back as it is. */
const OPAQUE = Symbol('opaque')
/**
 * The bytes every size-only frame views: zeros, never written. A frame is a view of its first
 * `size` bytes (no copy, no encoding); grown when a bigger frame comes.
 */
let zeros = new ArrayBuffer(64 * 1024)
/** Every `zeros` buffer so far (a frame made before one grew still views the old one). */
const zeroBuffers = new WeakSet<ArrayBufferLike>([zeros])

/** `HEARSAY_SIM_CHECK_SIZES=1`: every size-only frame is also encoded, and a size that differs stops the run (exit code 70). */
const CHECK_SIZES = typeof process !== 'undefined' && process.env.HEARSAY_SIM_CHECK_SIZES === '1'
/** Size-only frames checked against the encoder so far (with `HEARSAY_SIM_CHECK_SIZES=1`). */
export let checkedFrames = 0

/**
 * The simulator's envelope codec. A real link encodes every frame with msgpack; here the
 * sender's data is copied (as msgpack would give it back) and left on the frame for its one
 * receiver, which takes that copy instead of decoding. The frame's bytes are never read, only
 * its length (the frame limit, the throttle, `bytes.in`/`bytes.out`, the memory network's
 * `bufferedAmount`, the frame counter): so for plain data the frame is a view of that many
 * zero bytes, its length computed as msgpack would encode it (`packedSize`, the same number,
 * checked against the encoder in test/sim.test.ts, and on every frame of a run with
 * `HEARSAY_SIM_CHECK_SIZES=1`), without encoding. Data msgpack would
 * not give back as it is (a Map, a class instance, a bigint) is encoded for real and decoded
 * by its receiver, as is a frame that lost its tag (a frame encoded elsewhere and sent to many
 * links: `sendToAll`). A size-only frame decoded twice is a bug and throws.
 */
export const simCodec: EnvelopeCodec = Object.freeze({
  encode (env: Envelope, limits: Parameters<EnvelopeCodec['encode']>[1]): Uint8Array {
    checkType(env.type, limits)
    const data = copyData(env.data, 0)
    if (data === OPAQUE) return encodeEnvelope(env, limits)
    // [1, type, data]: fixarray(3), fixint 1, the type string, the data
    const size = 2 + packedSize(env.type, 0) + packedSize(env.data, 0)
    if (CHECK_SIZES) {
      const real = encodeEnvelope(env, limits).length
      // the node would count a throw from here as a failed send: stop the run instead
      if (real !== size) { process.stderr.write(`simCodec: ${env.type} is ${real} bytes in msgpack, packedSize said ${size}\n`); process.exit(70) }
      checkedFrames++
    }
    if (size > limits.maxFrameBytes) throw new TooLargeError(`message of ${size} bytes exceeds the frame limit of ${limits.maxFrameBytes}`)
    if (size > zeros.byteLength) zeroBuffers.add(zeros = new ArrayBuffer(Math.max(size, 2 * zeros.byteLength)))
    const frame = new Uint8Array(zeros, 0, size) as Tagged
    frame[ENVELOPE] = { type: env.type, data }
    return frame
  },
  decode (frame: Uint8Array, limits: Parameters<EnvelopeCodec['decode']>[1]): Envelope {
    const env = (frame as Tagged)[ENVELOPE]
    if (env === undefined) {
      if (zeroBuffers.has(frame.buffer)) throw new Error('simCodec: a size-only frame was decoded twice (sent to more than one link?)')
      return decodeEnvelope(frame, limits)
    }
    ;(frame as Tagged)[ENVELOPE] = undefined
    return env
  }
})

/** `plainChannel()` with `simCodec`: no crypto, no encoding or decoding; the same logic and sizes. */
export function simChannel (): Channel {
  return { ...plainChannel(), codec: simCodec }
}

/**
 * The length of `v` as core's msgpack encoder (msgpackr, plain settings: no records, no
 * extensions, minimal map and string headers, float64 for non-integers) writes it, for data
 * `copyData` accepts (plain objects, arrays, strings, numbers, booleans, null, undefined,
 * Uint8Arrays). Exported for the test that checks it against the encoder.
 */
export function packedSize (v: unknown, depth: number): number {
  switch (typeof v) {
    case 'string': {
      const n = utf8Bytes(v)
      return n + (n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5)
    }
    case 'number':
      if (v >>> 0 === v) return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 5
      if (v >> 0 === v) return v >= -0x20 ? 1 : v >= -0x80 ? 2 : v >= -0x8000 ? 3 : 5
      return 9
    case 'boolean': return 1
    case 'undefined': return 3
    case 'object': {
      if (v === null) return 1
      if (Array.isArray(v)) {
        const n = v.length
        let size = n < 0x10 ? 1 : n < 0x10000 ? 3 : 5
        for (let i = 0; i < n; i++) size += packedSize(v[i], depth + 1)
        return size
      }
      if (Object.getPrototypeOf(v) === Uint8Array.prototype) {
        const n = (v as Uint8Array).byteLength
        return n + (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5)
      }
      const keys = Object.keys(v)
      const n = keys.length
      let size = n < 0x10 ? 1 : n < 0x10000 ? 3 : 5
      for (let i = 0; i < n; i++) size += packedSize(keys[i], depth + 1) + packedSize((v as Record<string, unknown>)[keys[i]!], depth + 1)
      return size
    }
    default: throw new TypeError(`packedSize: ${typeof v}`)
  }
}

/** UTF-8 length as msgpackr writes a string (a lone surrogate: 3 bytes). */
function utf8Bytes (s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 2; i++ } else n += 2
  }
  return n
}

/** A deep copy of plain data as msgpack would decode it, or `OPAQUE`. */
function copyData (v: unknown, depth: number): unknown {
  switch (typeof v) {
    case 'string': case 'boolean': case 'undefined': return v
    case 'number': return v === 0 ? 0 : v // msgpack has no -0
    case 'object': {
      if (v === null) return null
      if (depth > 32) return OPAQUE
      if (Array.isArray(v)) {
        const out = new Array<unknown>(v.length)
        for (let i = 0; i < v.length; i++) {
          const c = copyData(v[i], depth + 1)
          if (c === OPAQUE) return OPAQUE
          out[i] = c
        }
        return out
      }
      const proto = Object.getPrototypeOf(v)
      if (proto === Uint8Array.prototype) return (v as Uint8Array).slice()
      if (proto !== Object.prototype && proto !== null) return OPAQUE
      const out: Record<string, unknown> = {}
      for (const k in v) {
        if (k === '__proto__') return OPAQUE
        const c = copyData((v as Record<string, unknown>)[k], depth + 1)
        if (c === OPAQUE) return OPAQUE
        out[k] = c
      }
      return out
    }
    default: return OPAQUE
  }
}

/**
 * Counts the frames nodes put on the wire, by message type, and the payload frames of every
 * broadcast by message id. It reads only the envelope's first bytes (`[1, type, {id, …}]` in
 * msgpack) and falls back to a full decode when the layout is not the expected one.
 */
export class FrameCounter {
  /** Frames sent, by envelope type (the plain channel's handshake line counts as `handshake`). */
  readonly byType = new Map<string, number>()
  /** Payload frames (`fl.gossip` / `pt.gossip`) per broadcast id. */
  readonly payloadById = new Map<string, number>()
  frames = 0
  bytes = 0
  /** Only ids with this prefix are tracked per id. */
  constructor (private readonly idPrefix = '') {}

  count (frame: Uint8Array): void {
    this.frames++
    this.bytes += frame.length
    const env = (frame as Tagged)[ENVELOPE]
    if (env !== undefined) {
      this.bump(env.type)
      if (env.type === 'fl.gossip' || env.type === 'pt.gossip') {
        const id = (env.data as { id?: unknown } | null)?.id
        if (typeof id === 'string' && id.startsWith(this.idPrefix)) this.payloadById.set(id, (this.payloadById.get(id) ?? 0) + 1)
      }
      return
    }
    // msgpack: fixarray(3) 0x93, version 1, fixstr type
    if (frame.length < 4 || frame[0] !== 0x93 || frame[1] !== 0x01 || (frame[2]! & 0xe0) !== 0xa0) { this.bump('handshake'); return }
    const len = frame[2]! & 0x1f
    const type = latin1(frame, 3, 3 + len)
    this.bump(type)
    if (type === 'fl.gossip' || type === 'pt.gossip') {
      const id = gossipId(frame, 3 + len)
      if (id !== undefined && id.startsWith(this.idPrefix)) this.payloadById.set(id, (this.payloadById.get(id) ?? 0) + 1)
    }
  }

  get (type: string): number { return this.byType.get(type) ?? 0 }

  /** Removes and returns the payload count of one id. */
  take (id: string): number {
    const n = this.payloadById.get(id) ?? 0
    this.payloadById.delete(id)
    return n
  }

  snapshot (): Record<string, number> { return Object.fromEntries([...this.byType].sort(([a], [b]) => a < b ? -1 : 1)) }

  private bump (type: string): void { this.byType.set(type, (this.byType.get(type) ?? 0) + 1) }
}

function latin1 (b: Uint8Array, from: number, to: number): string {
  let s = ''
  for (let i = from; i < to && i < b.length; i++) s += String.fromCharCode(b[i]!)
  return s
}

function gossipId (frame: Uint8Array, at: number): string | undefined {
  // {id: <fixstr>, hops, limit, payload}: fixmap, fixstr(2) "id", fixstr id
  if ((frame[at]! & 0xf0) === 0x80 && frame[at + 1] === 0xa2 && frame[at + 2] === 0x69 && frame[at + 3] === 0x64 && (frame[at + 4]! & 0xe0) === 0xa0) {
    const len = frame[at + 4]! & 0x1f
    return latin1(frame, at + 5, at + 5 + len)
  }
  try {
    const id = (decodeEnvelope(frame).data as { id?: unknown } | null)?.id
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}

/** Wraps a transport so that every frame sent on its connections goes through `counter`. */
export function countingTransport (inner: Transport, counter: FrameCounter): Transport {
  // One counting `send` for every connection whose `send` is the shared class method (all of the
  // memory transport's): a bound copy and a closure per connection cost ~100 B per link at 10k nodes.
  let classSend: ((this: Connection, f: Uint8Array) => void) | undefined
  const countedSend = function (this: Connection, frame: Uint8Array): void {
    classSend!.call(this, frame)
    counter.count(frame)
  }
  const wrap = (conn: Connection): Connection => {
    const own = Object.prototype.hasOwnProperty.call(conn, 'send')
    classSend ??= own ? undefined : conn.send
    if (!own && conn.send === classSend) {
      ;(conn as { send: (f: Uint8Array) => void }).send = countedSend
      return conn
    }
    const send = conn.send.bind(conn)
    ;(conn as { send: (f: Uint8Array) => void }).send = (frame: Uint8Array) => {
      send(frame)
      counter.count(frame)
    }
    return conn
  }
  return {
    name: inner.name,
    protocols: inner.protocols,
    supports: inner.supports,
    dial: async (address, options) => wrap(await inner.dial(address, options)),
    listen: async (address, onConnection, options) => await inner.listen(address, (conn) => { onConnection(wrap(conn)) }, options),
    close: async () => { await inner.close() },
    // a transport that needs the node (the pages scenario's WebRTC) must still get its context
    ...(inner.start === undefined ? {} : { start: inner.start.bind(inner) })
  }
}
