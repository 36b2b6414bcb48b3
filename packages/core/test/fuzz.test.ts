import { describe, expect, it, vi } from 'vitest'
import { HearsayError, encodeEnvelope, decodeEnvelope, identityFromSeed, seededRandom, toNetworkKey, BoxStream } from '../src/index.js'
import type { Random } from '../src/index.js'
import { ephemeral, initiator, processAuth, processHello, processReply, responder } from '../src/handshake.js'

// x25519 is deterministic, so memoising it changes no outcome; it keeps 100k inputs per step
// affordable (an x25519 costs ~0.4 ms here and most step-2 inputs would pay one)
vi.mock('../src/crypto.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../src/crypto.js')>()
  const memo = new Map<string, Uint8Array | null>()
  const hex = (b: Uint8Array): string => Array.from(b, x => x.toString(16).padStart(2, '0')).join('')
  return {
    ...orig,
    dh: (sk: Uint8Array, pk: Uint8Array) => {
      const k = hex(sk) + hex(pk)
      if (!memo.has(k)) { if (memo.size > 50_000) memo.clear(); memo.set(k, orig.dh(sk, pk)) }
      return memo.get(k)!
    }
  }
})

// FUZZ_RUNS=1000000 via `pnpm fuzz`; CI runs the default.
const RUNS = Number(process.env.FUZZ_RUNS ?? 100_000)
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed)

/** Mutations of a valid input: bit flips, byte sets, truncation, extension, splices, random bytes. */
function mutate (r: Random, valid: Uint8Array, opts: { protect?: number, lengthChangeRate?: number } = {}): Uint8Array {
  for (;;) {
    const out = mutateOnce(r, valid, opts)
    if (out.length !== valid.length || out.some((b, i) => b !== valid[i])) return out
  }
}

function mutateOnce (r: Random, valid: Uint8Array, opts: { protect?: number, lengthChangeRate?: number }): Uint8Array {
  const pick = (n: number): number => Math.floor(r.float() * n)
  const lengthChange = r.float() < (opts.lengthChangeRate ?? 0.3)
  if (lengthChange) {
    switch (pick(4)) {
      case 0: return valid.slice(0, pick(valid.length))
      case 1: { const out = new Uint8Array(valid.length + 1 + pick(64)); out.set(valid); out.set(r.bytes(out.length - valid.length), valid.length); return out }
      case 2: return r.bytes(pick(valid.length * 2 + 8))
      default: { const cut = pick(valid.length); return Uint8Array.from([...valid.subarray(0, cut), ...r.bytes(pick(8)), ...valid.subarray(cut)]) }
    }
  }
  const out = valid.slice()
  const from = opts.protect ?? 0
  const n = 1 + pick(4)
  for (let i = 0; i < n; i++) {
    const pos = from + pick(out.length - from)
    if (r.float() < 0.5) out[pos]! ^= 1 << pick(8)
    else out[pos] = pick(256)
  }
  return out
}

function expectTyped (fn: () => unknown, allowed: string[]): 'ok' | 'rejected' {
  try {
    fn()
    return 'ok'
  } catch (err) {
    if (!(err instanceof HearsayError) || !allowed.includes(err.code)) {
      throw new Error(`untyped or unexpected error escaped: ${String(err)}`, { cause: err })
    }
    return 'rejected'
  }
}

describe(`fuzz (${RUNS} inputs per target, seed ${SEED})`, () => {
  it('envelope decoder: only typed errors, valid results are well-formed', () => {
    const r = seededRandom(SEED)
    const samples = [
      encodeEnvelope({ type: 'chat', data: { text: 'hello', n: 1, list: [1, 2, 3], bin: new Uint8Array(20) } }),
      encodeEnvelope({ type: 'hv.shuffle', data: { peers: [{ id: 'x'.repeat(52), addrs: ['ws://127.0.0.1:1'] }], ttl: 6 } }),
      encodeEnvelope({ type: 't', data: null }),
      encodeEnvelope({ type: 'deep', data: [[[[[[[[1]]]]]]]] })
    ]
    let ok = 0
    const limits = { maxFrameBytes: 4096, maxTypeBytes: 64 }
    for (let i = 0; i < RUNS; i++) {
      const input = mutate(r, samples[i % samples.length]!, { lengthChangeRate: 0.4 })
      if (expectTyped(() => {
        const env = decodeEnvelope(input, limits)
        if (typeof env.type !== 'string' || env.type.length === 0) throw new Error('decoder returned a malformed envelope')
      }, ['ERR_INVALID_FRAME', 'ERR_TOO_LARGE']) === 'ok') ok++
    }
    // some mutations stay valid (e.g. a changed data byte): the decoder is not rejecting everything
    expect(ok).toBeGreaterThan(0)
    expect(ok).toBeLessThan(RUNS)
  })

  it('envelope decoder: hostile headers (huge declared lengths, deep nesting) are rejected without allocation blow-up', () => {
    const hostile = [
      Uint8Array.from([0x93, 0x01, 0xa1, 0x74, 0xdd, 0xff, 0xff, 0xff, 0xff]), // array32 of 4 billion
      Uint8Array.from([0x93, 0x01, 0xa1, 0x74, 0xdf, 0xff, 0xff, 0xff, 0xff]), // map32 of 4 billion
      Uint8Array.from([0x93, 0x01, 0xa1, 0x74, 0xc6, 0xff, 0xff, 0xff, 0xff]), // bin32 of 4 GiB
      Uint8Array.from([0x93, 0x01, 0xa1, 0x74, 0xdb, 0x7f, 0xff, 0xff, 0xff]), // str32 of 2 GiB
      Uint8Array.from([0x93, 0x01, 0xa1, 0x74, ...new Array(200_000).fill(0x91)]) // 200k nested arrays
    ]
    const before = process.memoryUsage().arrayBuffers
    for (const h of hostile) expectTyped(() => decodeEnvelope(h, { maxFrameBytes: 1 << 20, maxTypeBytes: 64 }), ['ERR_INVALID_FRAME'])
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024)
    expect(() => decodeEnvelope(new Uint8Array(300_000))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
  })

  const I = identityFromSeed(new Uint8Array(32).fill(1))
  const R = identityFromSeed(new Uint8Array(32).fill(2))
  const K = toNetworkKey('fuzz')

  it('handshake step 1 (responder reads hello): only HandshakeError', () => {
    const r = seededRandom(SEED + 1)
    const valid = initiator({ identity: I, networkKey: K, random: r }).hello()
    const e = ephemeral({ identity: R, networkKey: K, random: r })
    let accepted = 0
    for (let i = 0; i < RUNS; i++) {
      if (expectTyped(() => processHello({ identity: R, networkKey: K }, e, mutate(r, valid)), ['ERR_HANDSHAKE']) === 'ok') accepted++
    }
    expect(accepted).toBe(0)
  })

  it('handshake step 2 (initiator reads reply): only typed errors', () => {
    const r = seededRandom(SEED + 2)
    const opts = { identity: I, networkKey: K }
    const eI = ephemeral({ ...opts, random: r })
    const resp = responder({ identity: R, networkKey: K, random: r })
    const init = initiator({ ...opts, ephemeralSecret: eI.secretKey })
    const valid = resp.hello(init.hello())
    // most mutations hit the sealed part (cheap to reject); 1 in 20 touches the ephemeral key,
    // which costs an x25519 each
    let accepted = 0
    for (let i = 0; i < RUNS; i++) {
      const input = r.float() < 0.05 ? mutate(r, valid, { lengthChangeRate: 0 }) : mutate(r, valid, { protect: 32 })
      if (expectTyped(() => processReply(opts, eI, input), ['ERR_HANDSHAKE', 'ERR_SELF_DIAL', 'ERR_PEER_ID_MISMATCH']) === 'ok') accepted++
    }
    expect(accepted).toBe(0)
    expect(() => processReply(opts, eI, valid)).not.toThrow()
  })

  it('handshake step 3 (responder reads auth): only HandshakeError', () => {
    const r = seededRandom(SEED + 3)
    const eR = ephemeral({ identity: R, networkKey: K, random: r })
    const init = initiator({ identity: I, networkKey: K, random: r })
    const { reply, session } = processHello({ identity: R, networkKey: K }, eR, init.hello())
    const { auth: valid } = init.reply(reply)
    let accepted = 0
    for (let i = 0; i < RUNS; i++) {
      if (expectTyped(() => processAuth({ identity: R, networkKey: K }, session, mutate(r, valid)), ['ERR_HANDSHAKE', 'ERR_SELF_DIAL']) === 'ok') accepted++
    }
    expect(accepted).toBe(0)
    expect(processAuth({ identity: R, networkKey: K }, session, valid).remoteId).toBe(I.id)
  })

  it('secure frames: every mutated frame fails authentication with DecryptError', () => {
    const r = seededRandom(SEED + 4)
    const key = r.bytes(32)
    const valid = new BoxStream(key).seal(encodeEnvelope({ type: 'chat', data: 'x'.repeat(100) }))
    let accepted = 0
    for (let i = 0; i < RUNS; i++) {
      const input = mutate(r, valid)
      if (expectTyped(() => new BoxStream(key).open(input), ['ERR_DECRYPT']) === 'ok') accepted++
    }
    expect(accepted).toBe(0)
  })
})
