import type { Envelope } from './envelope.js'
import { ENVELOPE_VERSION, setEnvelopeFastPath } from './envelope.js'

/**
 * Installs the binary envelopes' own codec for every link of the process (`createNode` of
 * `@hearsay/core` and of `hearsay` do; `hearsay/lite` does in Node): the bytes are msgpackr's,
 * only faster to make and read. Idempotent.
 */
export function installBinaryEnvelopes (): void { setEnvelopeFastPath({ encode, decode }) }

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
function encode (type: string, data: Uint8Array): Uint8Array | undefined {
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
function decode (frame: Uint8Array, maxTypeBytes: number): Envelope | undefined {
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

