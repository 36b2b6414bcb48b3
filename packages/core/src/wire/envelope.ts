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
  const fast = env.data instanceof Uint8Array ? fastPath?.encode(env.type, env.data) : undefined
  let bytes: Uint8Array
  try {
    bytes = fast ?? packr.pack([ENVELOPE_VERSION, env.type, env.data])
  } catch (err) {
    throw new TypeError('message data cannot be encoded', { cause: err })
  }
  if (bytes.length > limits.maxFrameBytes) {
    throw new TooLargeError(`message of ${bytes.length} bytes exceeds the frame limit of ${limits.maxFrameBytes}`)
  }
  // a plain Uint8Array view: Buffer must not leak out of core's boundary
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * The binary envelopes' own codec (`binary-envelope.ts`), once installed: the full SDK and
 * hearsay in Node install it; a `hearsay/lite` page leaves its ~0.5 kB out of the bundle and
 * lets msgpackr write the very same bytes.
 */
export interface EnvelopeFastPath {
  /** `[1, type, data]` as msgpack, or undefined to leave it to msgpackr. */
  encode: (type: string, data: Uint8Array) => Uint8Array | undefined
  /** The envelope of a `[1, type, bin]` frame, or undefined to leave it to msgpackr. */
  decode: (frame: Uint8Array, maxTypeBytes: number) => Envelope | undefined
}

let fastPath: EnvelopeFastPath | undefined

/** @internal `installBinaryEnvelopes()` */
export function setEnvelopeFastPath (f: EnvelopeFastPath): void { fastPath = f }

/**
 * Decodes and validates one frame. Every failure is an `InvalidFrameError` (or `TooLargeError`
 * for size); nothing else escapes. The size is checked before the codec sees a byte.
 */
export function decodeEnvelope (frame: Uint8Array, limits: Pick<Limits, 'maxFrameBytes' | 'maxTypeBytes'> = DEFAULT_LIMITS): Envelope {
  if (!(frame instanceof Uint8Array)) throw new InvalidFrameError('frame is not bytes')
  if (frame.length > limits.maxFrameBytes) throw new TooLargeError(`frame of ${frame.length} bytes exceeds ${limits.maxFrameBytes}`)
  // a msgpack fixarray(3) header is the only valid first byte: cheap rejection of garbage
  if (frame.length < 4 || frame[0] !== 0x93) throw new InvalidFrameError('frame is not an envelope')
  const fast = fastPath?.decode(frame, limits.maxTypeBytes)
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
