import { appendFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { InvalidFrameError, TooLargeError } from '@hearsay/core'
import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  MAX_WIRE_FRAME_BYTES,
  checkMaxFrameBytes,
  encodeFrame,
  writeFrameHeader
} from '../src/frame-decoder.js'

/** mulberry32: a small seeded generator so that a failing fuzz case can be replayed. */
function rng (seed: number): { next: () => number, int: (n: number) => number } {
  let s = seed >>> 0
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (n: number) => Math.floor(next() * n) }
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

function header (length: number): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER_BYTES)
  writeFrameHeader(h, 0, length)
  return h
}

/** A decoder whose allocations are recorded. */
function counted (maxFrameBytes: number): { decoder: FrameDecoder, sizes: number[] } {
  const sizes: number[] = []
  const decoder = new FrameDecoder({ maxFrameBytes, allocate: n => { sizes.push(n); return new Uint8Array(n) } })
  return { decoder, sizes }
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** A plain check: `expect` is too slow to call a million times. */
function check (ok: boolean, message: string): void {
  if (!ok) throw new Error(message)
}

function isTyped (err: unknown): boolean {
  return (err instanceof TooLargeError && err.code === 'ERR_TOO_LARGE') ||
    (err instanceof InvalidFrameError && err.code === 'ERR_INVALID_FRAME')
}

describe('frame codec: unit', () => {
  it('writes a 4-byte big-endian length before the payload', () => {
    expect([...header(0x01020304)]).toEqual([1, 2, 3, 4])
    expect([...header(MAX_WIRE_FRAME_BYTES)]).toEqual([255, 255, 255, 255])
    expect([...encodeFrame(new Uint8Array([9, 8, 7]))]).toEqual([0, 0, 0, 3, 9, 8, 7])
    expect(() => writeFrameHeader(new Uint8Array(4), 0, MAX_WIRE_FRAME_BYTES + 1)).toThrow(TypeError)
    expect(() => writeFrameHeader(new Uint8Array(4), 0, -1)).toThrow(TypeError)
  })

  it('decodes several frames from one chunk, including empty ones', () => {
    const d = new FrameDecoder({ maxFrameBytes: 100 })
    const frames = d.push(concat([encodeFrame(new Uint8Array([1])), encodeFrame(new Uint8Array(0)), encodeFrame(new Uint8Array([2, 3]))]))
    expect(frames.map(f => [...f])).toEqual([[1], [], [2, 3]])
    expect(d.bufferedBytes).toBe(0)
    expect(d.partial).toBe(false)
    d.end()
  })

  it('reassembles a header split at every position and a payload split anywhere', () => {
    const payload = Uint8Array.from({ length: 10 }, (_, i) => i + 1)
    const wire = encodeFrame(payload)
    for (let a = 1; a < wire.length; a++) {
      for (let b = a; b < wire.length; b++) {
        const d = new FrameDecoder({ maxFrameBytes: 10 })
        const got = [...d.push(wire.subarray(0, a)), ...d.push(wire.subarray(a, b)), ...d.push(wire.subarray(b))]
        expect(got).toHaveLength(1)
        expect([...got[0]!]).toEqual([...payload])
      }
    }
  })

  it('accepts a frame exactly at the limit', () => {
    const d = new FrameDecoder({ maxFrameBytes: 5 })
    expect(d.push(encodeFrame(new Uint8Array(5)))[0]!.length).toBe(5)
  })

  it('rejects a declared length above the limit from the header alone, before any payload or allocation', () => {
    for (const declared of [6, 2 ** 31, MAX_WIRE_FRAME_BYTES]) {
      const { decoder, sizes } = counted(5)
      expect(decoder.push(header(declared).subarray(0, 3))).toEqual([])
      const err = (() => { try { decoder.push(header(declared).subarray(3)); return undefined } catch (e) { return e } })()
      expect(err).toBeInstanceOf(TooLargeError)
      expect((err as TooLargeError).code).toBe('ERR_TOO_LARGE')
      expect(sizes).toEqual([])
      expect(decoder.bufferedBytes).toBe(0)
    }
  })

  it('delivers the frames before an oversized header, then throws; the failure is sticky', () => {
    const d = new FrameDecoder({ maxFrameBytes: 8 })
    const got: number[][] = []
    const wire = concat([encodeFrame(new Uint8Array([1, 2])), header(9), new Uint8Array(9)])
    expect(() => d.decode(wire, f => got.push([...f]))).toThrow(TooLargeError)
    expect(got).toEqual([[1, 2]])
    expect(() => d.push(encodeFrame(new Uint8Array(1)))).toThrow(TooLargeError)
    expect(() => d.end()).toThrow(TooLargeError)
  })

  it('end() inside a header or a payload throws InvalidFrameError; at a boundary it does not', () => {
    const inHeader = new FrameDecoder({ maxFrameBytes: 10 })
    inHeader.push(new Uint8Array([0, 0]))
    expect(inHeader.partial).toBe(true)
    expect(() => inHeader.end()).toThrow(InvalidFrameError)

    const inPayload = new FrameDecoder({ maxFrameBytes: 10 })
    inPayload.push(header(5))
    expect(inPayload.partial).toBe(true)
    expect(() => inPayload.end()).toThrow(InvalidFrameError)

    const clean = new FrameDecoder({ maxFrameBytes: 10 })
    clean.push(encodeFrame(new Uint8Array(3)))
    expect(() => clean.end()).not.toThrow()
  })

  it('returns plain Uint8Arrays (not Buffers) and copies small frames out of large chunks', () => {
    const d = new FrameDecoder({ maxFrameBytes: 100_000 })
    const small = encodeFrame(new Uint8Array([7]))
    const big = encodeFrame(new Uint8Array(60_000).fill(3))
    const chunk = Buffer.from(concat([small, big]))
    const [a, b] = d.push(chunk)
    expect(Object.getPrototypeOf(a)).toBe(Uint8Array.prototype)
    expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype)
    // the 1-byte frame must not pin the 60 KB chunk; the big one may be a view
    expect(a!.buffer).not.toBe(chunk.buffer)
    expect(a!.buffer.byteLength).toBe(1)
    expect(b!.length).toBe(60_000)
  })

  it('copies a frame that arrives one byte at a time exactly once (no quadratic concat)', () => {
    const max = 256 * 1024
    const { decoder, sizes } = counted(max)
    const payload = Uint8Array.from({ length: max }, (_, i) => i & 0xff)
    const wire = encodeFrame(payload)
    const frames: Uint8Array[] = []
    for (let i = 0; i < wire.length; i++) decoder.decode(wire.subarray(i, i + 1), f => frames.push(f))
    expect(frames).toHaveLength(1)
    expect(sizes).toEqual([max])
    expect(frames[0]!.every((x, i) => x === (i & 0xff))).toBe(true)
  })

  it('a transient consumer gets views into the chunk, and one reused buffer for frames that span chunks', () => {
    const { decoder, sizes } = counted(100_000)
    const got: number[][] = []
    const frames: Uint8Array[] = []
    const onFrame = (f: Uint8Array): void => { frames.push(f); got.push([f.length, f[0]!, f[f.length - 1]!]) }
    const small = encodeFrame(new Uint8Array([7]))
    const chunk = Buffer.from(concat([small, encodeFrame(new Uint8Array(3000).fill(3)), small]))
    decoder.decode(chunk, onFrame, true)
    expect(sizes).toEqual([])
    expect(frames.every(f => f.buffer === chunk.buffer && Object.getPrototypeOf(f) === Uint8Array.prototype)).toBe(true)
    // two frames split across chunks: assembled in the same buffer, allocated once
    for (const fill of [5, 6]) {
      const wire = encodeFrame(new Uint8Array(50_000).fill(fill))
      decoder.decode(wire.subarray(0, 20_000), onFrame, true)
      decoder.decode(wire.subarray(20_000), onFrame, true)
    }
    expect(sizes).toEqual([50_000])
    expect(frames[3]!.buffer).toBe(frames[4]!.buffer)
    expect(got).toEqual([[1, 7, 7], [3000, 3, 3], [1, 7, 7], [50_000, 5, 5], [50_000, 6, 6]])
    // a consumer that keeps frames gets copies of its own
    const kept: Uint8Array[] = []
    for (const fill of [8, 9]) {
      const wire = encodeFrame(new Uint8Array(50_000).fill(fill))
      decoder.decode(wire.subarray(0, 20_000), f => kept.push(f))
      decoder.decode(wire.subarray(20_000), f => kept.push(f))
    }
    expect(kept[0]!.buffer).not.toBe(kept[1]!.buffer)
    expect([kept[0]![0], kept[1]![0]]).toEqual([8, 9])
  })

  it('validates its arguments with TypeError', () => {
    expect(() => new FrameDecoder({ maxFrameBytes: -1 })).toThrow(TypeError)
    expect(() => new FrameDecoder({ maxFrameBytes: 1.5 })).toThrow(TypeError)
    expect(() => new FrameDecoder({ maxFrameBytes: 2 ** 32 })).toThrow(TypeError)
    expect(checkMaxFrameBytes(0)).toBe(0)
    expect(() => new FrameDecoder({ maxFrameBytes: 1 }).push('abc' as unknown as Uint8Array)).toThrow(TypeError)
  })
})

describe('frame decoder: fuzz', () => {
  const SEED = 0x5eed_7c9
  // `pnpm fuzz` sets FUZZ_RUNS (scripts/fuzz.mjs) and reads the count back from FUZZ_REPORT
  const ITERATIONS = Number(process.env.FUZZ_RUNS ?? 120_000)

  /** Feeds `wire` in random pieces, checking the decoder's invariants after every push. */
  function feed (r: ReturnType<typeof rng>, max: number, wire: Uint8Array, api: 'push' | 'decode'): { frames: Uint8Array[], error: unknown, sizes: number[] } {
    const { decoder, sizes } = counted(max)
    const frames: Uint8Array[] = []
    let error: unknown
    let o = 0
    const guarded = (fn: () => void): boolean => {
      try { fn(); return true } catch (err) { error = err; return false }
    }
    while (o < wire.length) {
      const step = r.next() < 0.2 ? 1 : 1 + r.int(Math.max(1, wire.length - o))
      const piece = wire.subarray(o, o + step)
      o += piece.length
      const ok = guarded(() => {
        if (api === 'push') for (const f of decoder.push(piece)) frames.push(f)
        else decoder.decode(piece, f => frames.push(f))
      })
      if (!ok) break
      // what is held is less than one header or one frame
      check(decoder.bufferedBytes <= Math.max(FRAME_HEADER_BYTES - 1, max - 1), `buffered ${decoder.bufferedBytes} with limit ${max}`)
    }
    if (error === undefined) guarded(() => { decoder.end() })
    if (error !== undefined) {
      // the failure is sticky
      let again: unknown
      try { decoder.push(new Uint8Array(1)) } catch (err) { again = err }
      check(again === error, `push after a failure threw ${String(again)} instead of the same ${String(error)}`)
    }
    for (const n of sizes) check(n <= max, `allocated ${n} bytes with limit ${max}`)
    for (const f of frames) check(f.length <= max, `frame of ${f.length} bytes with limit ${max}`)
    return { frames, error, sizes }
  }

  function validStream (r: ReturnType<typeof rng>, max: number): { frames: Uint8Array[], wire: Uint8Array } {
    const frames: Uint8Array[] = []
    const count = r.int(8)
    for (let i = 0; i < count; i++) {
      const n = r.next() < 0.1 ? max : r.int(max + 1)
      frames.push(Uint8Array.from({ length: n }, () => r.int(256)))
    }
    return { frames, wire: concat(frames.map(encodeFrame)) }
  }

  function mutate (r: ReturnType<typeof rng>, wire: Uint8Array, max: number): Uint8Array {
    let w: Uint8Array = wire.slice()
    const rounds = 1 + r.int(3)
    for (let k = 0; k < rounds; k++) {
      const kind = r.int(6)
      if (kind === 0 && w.length > 0) {
        w[r.int(w.length)] = r.int(256)
      } else if (kind === 1) {
        w = w.subarray(0, r.int(w.length + 1)).slice()
      } else if (kind === 2) {
        const at = r.int(w.length + 1)
        w = concat([w.subarray(0, at), Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256)), w.subarray(at)])
      } else if (kind === 3 && w.length > 0) {
        const at = r.int(w.length)
        w = concat([w.subarray(0, at), w.subarray(at + 1 + r.int(8))])
      } else if (kind === 4) {
        const at = r.int(w.length + 1)
        const declared = [max + 1, 2 ** 31, MAX_WIRE_FRAME_BYTES, max + 1 + r.int(2 ** 20)][r.int(4)]!
        w = concat([w.subarray(0, at), header(declared), w.subarray(at)])
      } else {
        const at = r.int(w.length + 1)
        w = concat([w.subarray(0, at), w.subarray(at), w.subarray(0, at)])
      }
    }
    return w
  }

  it(`survives ${ITERATIONS} random, mutated and hostile byte sequences with only typed errors and bounded allocation`, async () => {
    const r = rng(SEED)
    const started = performance.now()
    const tally = { valid: 0, mutated: 0, random: 0, huge: 0, tooLarge: 0, invalid: 0, frames: 0 }
    for (let i = 0; i < ITERATIONS; i++) {
      // a worker that computes for a minute without a break misses vitest's RPC deadline
      if (i % 10_000 === 9_999) await new Promise<void>(resolve => { setImmediate(resolve) })
      const max = [0, 1, 4, 16, 64, 300][r.int(6)]!
      const kind = i % 4
      const api = r.next() < 0.5 ? 'push' : 'decode'
      const ctx = `iteration ${i} (seed ${SEED}, limit ${max}, kind ${kind}, ${api})`
      let result: ReturnType<typeof feed>
      if (kind === 0) {
        // random splits of a valid stream decode to exactly the frames sent
        tally.valid++
        const { frames, wire } = validStream(r, max)
        result = feed(r, max, wire, api)
        if (result.error !== undefined) throw new Error(`${ctx}: valid stream failed: ${String(result.error)}`)
        check(result.frames.length === frames.length && frames.every((f, j) => sameBytes(result.frames[j]!, f)), `${ctx}: frames differ`)
      } else if (kind === 1) {
        tally.mutated++
        result = feed(r, max, mutate(r, validStream(r, max).wire, max), api)
      } else if (kind === 2) {
        tally.random++
        result = feed(r, max, Uint8Array.from({ length: r.int(400) }, () => r.int(256)), api)
      } else {
        // valid frames, then a header declaring more than the limit (up to 2^32-1); decode()
        // delivers every frame before the bad header (push() loses those of the failing chunk)
        tally.huge++
        const { frames, wire } = validStream(r, max)
        const declared = r.next() < 0.5 ? [2 ** 31, MAX_WIRE_FRAME_BYTES, max + 1][r.int(3)]! : max + 1 + r.int(MAX_WIRE_FRAME_BYTES - max)
        result = feed(r, max, concat([wire, header(declared), Uint8Array.from({ length: r.int(64) }, () => r.int(256))]), api)
        check(result.error instanceof TooLargeError, `${ctx}: expected TooLargeError, got ${String(result.error)}`)
        check(api === 'decode' ? result.frames.length === frames.length : result.frames.length <= frames.length, `${ctx}: frame count`)
        check(result.frames.every((f, j) => sameBytes(f, frames[j]!)), `${ctx}: frames differ`)
      }
      if (result.error !== undefined && !isTyped(result.error)) throw new Error(`${ctx}: untyped error escaped: ${String(result.error)}`)
      if (result.error instanceof TooLargeError) tally.tooLarge++
      if (result.error instanceof InvalidFrameError) tally.invalid++
      tally.frames += result.frames.length
    }
    const ms = Math.round(performance.now() - started)
    if (process.env.FUZZ_REPORT !== undefined) appendFileSync(process.env.FUZZ_REPORT, `${JSON.stringify({ target: 'tcp length-prefix decoder', inputs: ITERATIONS, ms })}\n`)
    expect(tally.valid + tally.mutated + tally.random + tally.huge).toBe(ITERATIONS)
    // the hostile cases were really exercised
    expect(tally.tooLarge).toBeGreaterThan(ITERATIONS / 4)
    expect(tally.invalid).toBeGreaterThan(1000)
  }, 60_000 + ITERATIONS / 10)
})
