/**
 * The envelope of binary data has its own encoder and decoder (wire/envelope.ts, the hot path
 * of every binary message): they must write and read the very bytes msgpackr does, and hand
 * anything else to msgpackr.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { decodeEnvelope, decodeValue, encodeEnvelope, encodeValue, installBinaryEnvelopes, TooLargeError } from '../src/index.js'

// msgpackr alone first (what a hearsay/lite page runs): the same bytes both ways
const plain = encodeEnvelope({ type: 'app.file', data: new Uint8Array([1, 2, 3]) })
beforeAll(() => { installBinaryEnvelopes() })

// byte arrays of up to 70 kB, many times: toEqual would take seconds
const same = (a: Uint8Array, b: Uint8Array): boolean => a.constructor === b.constructor && Buffer.compare(a, b) === 0

const TYPES = ['b', 'app.file', 'x'.repeat(31), 'x'.repeat(32), 'é', 'a\u007f', 'type with spaces']
const SIZES = [0, 1, 100, 255, 256, 4095, 4096, 4097, 65535, 65536, 70000]

describe('binary envelopes', () => {
  it('are encoded byte for byte as msgpackr encodes [1, type, data], Uint8Array and Buffer alike', () => {
    expect(same(encodeEnvelope({ type: 'app.file', data: new Uint8Array([1, 2, 3]) }), plain)).toBe(true)
    for (const type of TYPES) {
      for (const size of SIZES) {
        const data = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff)
        const expected = encodeValue([1, type, data])
        const lim = { maxFrameBytes: 1 << 20, maxTypeBytes: 64 }
        expect(same(encodeEnvelope({ type, data }, lim), expected), `${type} ${size}`).toBe(true)
        expect(same(encodeEnvelope({ type, data: Buffer.from(data) }, lim), expected), `${type} ${size} Buffer`).toBe(true)
        // a view into a larger buffer encodes its own bytes only
        const wide = new Uint8Array(size + 10); wide.set(data, 5)
        expect(same(encodeEnvelope({ type, data: wide.subarray(5, 5 + size) }, lim), expected), `${type} ${size} view`).toBe(true)
      }
    }
  })

  it('decode to what msgpackr decodes, the data a view into the frame', () => {
    for (const type of TYPES) {
      for (const size of SIZES) {
        const data = new Uint8Array(size).map((_, i) => (i * 13) & 0xff)
        const frame = encodeValue([1, type, data])
        const env = decodeEnvelope(frame, { maxFrameBytes: 1 << 20, maxTypeBytes: 64 })
        const [, t, d] = decodeValue(frame) as [number, string, Uint8Array]
        expect(env.type).toBe(t)
        expect(same(env.data as Uint8Array, d), `${type} ${size}`).toBe(true)
        expect((env.data as Uint8Array).buffer).toBe(frame.buffer)
      }
    }
  })

  it('frames the fast path does not take still decode, or fail, as msgpackr has them', () => {
    const lim = { maxFrameBytes: 1 << 20, maxTypeBytes: 8 }
    // trailing byte, wrong version, type over the limit, empty type, no data
    expect(() => decodeEnvelope(new Uint8Array([0x93, 1, 0xa1, 0x62, 0xc4, 1, 9, 0]), lim)).toThrow(/could not be decoded/)
    expect(() => decodeEnvelope(new Uint8Array([0x93, 2, 0xa1, 0x62, 0xc4, 1, 9]), lim)).toThrow(/version/)
    expect(() => decodeEnvelope(encodeValue([1, 'x'.repeat(9), new Uint8Array(3)]), lim)).toThrow(/type/)
    expect(() => decodeEnvelope(new Uint8Array([0x93, 1, 0xa0, 0xc4, 1, 9]), lim)).toThrow(/type/)
    expect(() => decodeEnvelope(new Uint8Array([0x93, 1, 0xa1, 0x62]), lim)).toThrow()
    // a bin length past the end
    expect(() => decodeEnvelope(new Uint8Array([0x93, 1, 0xa1, 0x62, 0xc5, 1, 0, 9]), lim)).toThrow()
    // other data: msgpackr's own
    expect(decodeEnvelope(encodeEnvelope({ type: 'b', data: { a: [1, 'x'] } }))).toEqual({ type: 'b', data: { a: [1, 'x'] } })
    expect(decodeEnvelope(encodeEnvelope({ type: 'b', data: 'text' }))).toEqual({ type: 'b', data: 'text' })
  })

  it('a binary envelope over the frame limit is refused before it is sent', () => {
    expect(() => encodeEnvelope({ type: 'b', data: new Uint8Array(100) }, { maxFrameBytes: 105, maxTypeBytes: 64 })).toThrow(TooLargeError)
    expect(encodeEnvelope({ type: 'b', data: new Uint8Array(100) }, { maxFrameBytes: 106, maxTypeBytes: 64 }).length).toBe(106)
  })

  it('frames carved from the shared slab do not overlap', () => {
    const frames = Array.from({ length: 200 }, (_, i) => encodeEnvelope({ type: 'b', data: new Uint8Array(300).fill(i) }))
    frames.forEach((f, i) => { expect((decodeEnvelope(f).data as Uint8Array).every(x => x === i)).toBe(true) })
  })
})
