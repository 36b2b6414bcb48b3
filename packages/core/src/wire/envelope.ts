import { Packr } from 'msgpackr'
import { InvalidFrameError, TooLargeError } from '../util/errors.js'
import type { Limits } from '../util/limits.js'
import { DEFAULT_LIMITS } from '../util/limits.js'
import { utf8Length } from '../util/bytes.js'

/** Version of the envelope layout; a frame with another version is rejected. */
export const ENVELOPE_VERSION = 1

/** One message on a link: what it is (`type`) and its body. Encoded as `[1, type, data]`. */
export interface Envelope {
  type: string
  data: unknown
}

/**
 * Types under these prefixes belong to hearsay's own protocols; applications cannot use them.
 * `hs.` link, `hv.` membership, `pt.`/`fl.` broadcast, `rr.` replies, `kv.` state, `ev.` events,
 * `rtc.` WebRTC signalling, `st.` streams.
 */
export const RESERVED_TYPE_PREFIXES = ['hs.', 'hv.', 'pt.', 'fl.', 'rr.', 'kv.', 'ev.', 'rtc.', 'st.', 'ice.'] as const

export function isReservedType (type: string): boolean {
  return RESERVED_TYPE_PREFIXES.some(p => type.startsWith(p))
}

// Plain msgpack, no msgpackr records or extensions, so that any msgpack library can speak it
// and so that encodings are byte-stable for the test vectors in docs/protocol.md.
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  mapsAsObjects: true,
  variableMapSize: true,
  bundleStrings: false,
  int64AsType: 'number',
  largeBigIntToFloat: true
})

/** Checks a message type against the limits; throws `TypeError` or `TooLargeError`. */
export function checkType (type: unknown, limits: Pick<Limits, 'maxTypeBytes'> = DEFAULT_LIMITS): asserts type is string {
  if (typeof type !== 'string' || type.length === 0) throw new TypeError('message type must be a non-empty string')
  if (utf8Length(type) > limits.maxTypeBytes) throw new TooLargeError(`message type is longer than ${limits.maxTypeBytes} bytes`)
}

/** Encodes an envelope; throws `TooLargeError` above `maxFrameBytes` so nothing oversized is sent. */
export function encodeEnvelope (env: Envelope, limits: Pick<Limits, 'maxFrameBytes' | 'maxTypeBytes'> = DEFAULT_LIMITS): Uint8Array {
  checkType(env.type, limits)
  const fast = env.data instanceof Uint8Array ? encodeBinaryEnvelope(env.type, env.data) : undefined
  if (fast !== undefined) {
    if (fast.length > limits.maxFrameBytes) throw new TooLargeError(`message of ${fast.length} bytes exceeds the frame limit of ${limits.maxFrameBytes}`)
    return fast
  }
  let bytes: Uint8Array
  try {
    bytes = packr.pack([ENVELOPE_VERSION, env.type, env.data])
  } catch (err) {
    throw new TypeError('message data cannot be encoded', { cause: err })
  }
  if (bytes.length > limits.maxFrameBytes) {
    throw new TooLargeError(`message of ${bytes.length} bytes exceeds the frame limit of ${limits.maxFrameBytes}`)
  }
  // a plain Uint8Array view: Buffer must not leak out of core's boundary
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/*
 * The envelope of binary data, `[1, type, bin]` with a short ASCII type, is the hot path of every
 * stream and binary message: it is written here byte for byte as msgpackr writes it (fixarray(3),
 * fixint 1, fixstr, bin 8/16/32; test/envelope-fast.test.ts compares them), without msgpackr's
 * per-value dispatch, and carved from a shared slab instead of a fresh ArrayBuffer per frame (an
 * ArrayBuffer costs more than copying a KiB into it). Anything else goes through msgpackr.
 */
/** Frames up to this size are carved from the slab; larger ones get their own buffer. */
const SLAB_FRAME_BYTES = 4 * 1024
const SLAB_BYTES = 32 * 1024
let slab = new Uint8Array(0)
let slabAt = 0

function frameBuffer (size: number): Uint8Array {
  if (size > SLAB_FRAME_BYTES) return new Uint8Array(size)
  if (slabAt + size > slab.length) { slab = new Uint8Array(SLAB_BYTES); slabAt = 0 }
  const out = slab.subarray(slabAt, slabAt + size)
  // 8-byte aligned, as msgpackr does: later copies of the frame run faster
  slabAt = (slabAt + size + 7) & ~7
  return out
}

/** `[1, type, data]` as msgpack, or undefined when the type is not 1–31 ASCII characters. */
function encodeBinaryEnvelope (type: string, data: Uint8Array): Uint8Array | undefined {
  const t = type.length
  if (t === 0 || t > 31) return undefined
  for (let i = 0; i < t; i++) if (type.charCodeAt(i) > 0x7f) return undefined
  const n = data.length
  const binHeader = n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
  const at = 3 + t + binHeader
  const out = frameBuffer(at + n)
  out[0] = 0x93
  out[1] = ENVELOPE_VERSION
  out[2] = 0xa0 | t
  for (let i = 0; i < t; i++) out[3 + i] = type.charCodeAt(i)
  let p = 3 + t
  if (binHeader === 2) { out[p++] = 0xc4; out[p] = n } else if (binHeader === 3) {
    out[p++] = 0xc5; out[p++] = n >>> 8; out[p] = n & 0xff
  } else {
    out[p++] = 0xc6; out[p++] = n >>> 24; out[p++] = (n >>> 16) & 0xff; out[p++] = (n >>> 8) & 0xff; out[p] = n & 0xff
  }
  out.set(data, at)
  return out
}

/**
 * The reverse for a frame that is exactly `[1, fixstr ASCII type, bin]`: the data is a view into
 * the frame, as msgpackr's would be. Undefined for anything else (msgpackr decodes it).
 */
function decodeBinaryEnvelope (frame: Uint8Array, maxTypeBytes: number): Envelope | undefined {
  if (frame[1] !== ENVELOPE_VERSION) return undefined
  const s = frame[2]!
  const t = s & 0x1f
  if ((s & 0xe0) !== 0xa0 || t === 0 || t > maxTypeBytes) return undefined
  let p = 3 + t
  if (p >= frame.length) return undefined
  let type = ''
  for (let i = 3; i < p; i++) {
    const c = frame[i]!
    if (c > 0x7f) return undefined
    type += String.fromCharCode(c)
  }
  const b = frame[p++]
  let n: number
  if (b === 0xc4) n = frame[p++]!
  else if (b === 0xc5) { n = frame[p]! << 8 | frame[p + 1]!; p += 2 } else if (b === 0xc6) { n = frame[p]! * 0x1000000 + (frame[p + 1]! << 16 | frame[p + 2]! << 8 | frame[p + 3]!); p += 4 } else return undefined
  if (p + n !== frame.length) return undefined
  return { type, data: frame.subarray(p) }
}

/**
 * Decodes and validates one frame. Every failure is an `InvalidFrameError` (or `TooLargeError`
 * for size); nothing else escapes. The size is checked before the codec sees a byte.
 */
export function decodeEnvelope (frame: Uint8Array, limits: Pick<Limits, 'maxFrameBytes' | 'maxTypeBytes'> = DEFAULT_LIMITS): Envelope {
  if (!(frame instanceof Uint8Array)) throw new InvalidFrameError('frame is not bytes')
  if (frame.length > limits.maxFrameBytes) throw new TooLargeError(`frame of ${frame.length} bytes exceeds ${limits.maxFrameBytes}`)
  // a msgpack fixarray(3) header is the only valid first byte: cheap rejection of garbage
  if (frame.length < 4 || frame[0] !== 0x93) throw new InvalidFrameError('frame is not an envelope')
  const fast = decodeBinaryEnvelope(frame, limits.maxTypeBytes)
  if (fast !== undefined) return fast
  let value: unknown
  try {
    value = packr.unpack(frame)
  } catch (err) {
    throw new InvalidFrameError('frame could not be decoded', { cause: err })
  }
  if (!Array.isArray(value) || value.length !== 3) throw new InvalidFrameError('frame is not an envelope')
  if (value[0] !== ENVELOPE_VERSION) throw new InvalidFrameError(`unsupported envelope version ${String(value[0])}`)
  const type = value[1]
  if (typeof type !== 'string' || type.length === 0 || utf8Length(type) > limits.maxTypeBytes) {
    throw new InvalidFrameError('envelope type is missing or too long')
  }
  return { type, data: value[2] }
}

/**
 * How a link turns envelopes into frames and back. Every real link uses `MSGPACK_CODEC` (the
 * wire format of docs/protocol.md); a channel may bring its own (`Channel.codec`): the
 * simulator's encodes as usual and hands the receiver a copy of the data instead of decoding.
 */
export interface EnvelopeCodec {
  /** As `encodeEnvelope`: throws `TypeError` or `TooLargeError`. */
  encode: (env: Envelope, limits: Pick<Limits, 'maxFrameBytes' | 'maxTypeBytes'>) => Uint8Array
  /** As `decodeEnvelope`: throws `InvalidFrameError` or `TooLargeError`. */
  decode: (frame: Uint8Array, limits: Pick<Limits, 'maxFrameBytes' | 'maxTypeBytes'>) => Envelope
}

/** The codec of every real link: msgpack `[1, type, data]`. */
export const MSGPACK_CODEC: EnvelopeCodec = Object.freeze({ encode: encodeEnvelope, decode: decodeEnvelope })

/** Raw msgpack of any value (same codec settings); for stored values and signed records. */
export function encodeValue (value: unknown): Uint8Array {
  const b = packr.pack(value)
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

export function decodeValue (bytes: Uint8Array): unknown {
  try { return packr.unpack(bytes) } catch (err) { throw new InvalidFrameError('value could not be decoded', { cause: err }) }
}
