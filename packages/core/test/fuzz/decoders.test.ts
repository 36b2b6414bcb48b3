/**
 * Byte-level fuzzing of every decoder that reads bytes from a peer or from storage: the
 * envelope, each handshake step, secure frames, batches of envelopes and raw msgpack values
 * (state values, stored records). Seeded mutations of valid inputs; only the documented typed
 * errors may escape. `pnpm fuzz` runs 1M inputs per target, CI the default of support.ts.
 */
import { describe, expect, it, vi } from 'vitest'
import { syncBox } from '../sync-box.js'
import { decodeEnvelope, decodeValue, encodeEnvelope, encodeValue, identityFromSeed, seededRandom, toNetworkKey } from '../../src/index.js'
import { decodeBatch, encodeBatch } from '../../src/wire/frame-batch.js'
import { ephemeral, initiator, processAuth, processHello, processReply, responder } from '../../src/wire/handshake.js'
import { check, expectTyped, expectTypedAsync, mutate, report, RUNS, SEED, yieldToLoop } from './support.js'

// x25519 is deterministic, so memoising it changes no outcome; it keeps the inputs per step
// affordable (most step-2 inputs would pay one)
vi.mock('../../src/wire/web-crypto.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/wire/web-crypto.js')>()
  const memo = new Map<string, Uint8Array | null>()
  const hex = (b: Uint8Array): string => Array.from(b, x => x.toString(16).padStart(2, '0')).join('')
  return {
    ...orig,
    dhAsync: async (sk: Uint8Array, pk: Uint8Array) => {
      const k = hex(sk) + hex(pk)
      if (!memo.has(k)) { if (memo.size > 50_000) memo.clear(); memo.set(k, await orig.dhAsync(sk, pk)) }
      return memo.get(k)!
    }
  }
})

/**
 * Runs `n` inputs through `fn`, timed and reported under `target`. Yields to the event loop every
 * 10k inputs: a worker that computes for a minute without a break misses vitest's RPC deadline.
 */
async function run (target: string, n: number, fn: (i: number) => void | Promise<void>): Promise<void> {
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    await fn(i)
    if (i % 10_000 === 9_999) await yieldToLoop()
  }
  report(target, n, performance.now() - t0)
}

const TIMEOUT = 60_000 + RUNS / 10

describe(`fuzz: decoders (${RUNS} inputs per target, seed ${SEED})`, () => {
  it('envelope decoder: only typed errors, valid results are well-formed', async () => {
    const r = seededRandom(SEED)
    const samples = [
      encodeEnvelope({ type: 'chat', data: { text: 'hello', n: 1, list: [1, 2, 3], bin: new Uint8Array(20) } }),
      encodeEnvelope({ type: 'hv.shuffle', data: { peers: [{ id: 'x'.repeat(52), addrs: ['ws://127.0.0.1:1'] }], ttl: 6 } }),
      encodeEnvelope({ type: 't', data: null }),
      encodeEnvelope({ type: 'deep', data: [[[[[[[[1]]]]]]]] })
    ]
    let ok = 0
    const limits = { maxFrameBytes: 4096, maxTypeBytes: 64 }
    await run('envelope', RUNS, (i) => {
      const input = mutate(r, samples[i % samples.length]!, { lengthChangeRate: 0.4 })
      if (expectTyped(() => {
        const env = decodeEnvelope(input, limits)
        check(typeof env.type === 'string' && env.type.length > 0, 'decoder returned a malformed envelope')
      }, ['ERR_INVALID_FRAME', 'ERR_TOO_LARGE']) === 'ok') ok++
    })
    // some mutations stay valid (e.g. a changed data byte): the decoder is not rejecting everything
    expect(ok).toBeGreaterThan(0)
    expect(ok).toBeLessThan(RUNS)
  }, TIMEOUT)

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

  it('handshake step 1 (responder reads hello): only HandshakeError', async () => {
    const r = seededRandom(SEED + 1)
    // with cipher suite lists (a mutation cut to 64 bytes reaches the older peers' format too)
    const valid = await initiator({ identity: I, networkKey: K, random: r, suites: [2, 1] }).hello()
    const e = await ephemeral({ identity: R, networkKey: K, random: r })
    let accepted = 0
    await run('handshake hello', RUNS, async () => {
      if (await expectTypedAsync(async () => await processHello({ identity: R, networkKey: K, suites: [2, 1] }, e, mutate(r, valid)), ['ERR_HANDSHAKE']) === 'ok') accepted++
    })
    expect(accepted).toBe(0)
  }, TIMEOUT)

  it('handshake step 2 (initiator reads reply): only typed errors', async () => {
    const r = seededRandom(SEED + 2)
    const opts = { identity: I, networkKey: K, suites: [2, 1] }
    const eI = await ephemeral({ ...opts, random: r })
    const resp = responder({ identity: R, networkKey: K, random: r, suites: [1] })
    const init = initiator({ ...opts, ephemeralSecret: eI.secretKey })
    const valid = await resp.hello(await init.hello())
    // most mutations hit the sealed part (cheap to reject); 1 in 20 touches the ephemeral key,
    // which costs an x25519 each
    let accepted = 0
    await run('handshake reply', RUNS, async () => {
      const input = r.float() < 0.05 ? mutate(r, valid, { lengthChangeRate: 0 }) : mutate(r, valid, { protect: 32 })
      if (await expectTypedAsync(async () => await processReply(opts, eI, input), ['ERR_HANDSHAKE', 'ERR_SELF_DIAL', 'ERR_PEER_ID_MISMATCH']) === 'ok') accepted++
    })
    expect(accepted).toBe(0)
    await expect(processReply(opts, eI, valid)).resolves.toBeDefined()
  }, TIMEOUT)

  it('handshake step 3 (responder reads auth): only HandshakeError', async () => {
    const r = seededRandom(SEED + 3)
    const eR = await ephemeral({ identity: R, networkKey: K, random: r })
    const init = initiator({ identity: I, networkKey: K, random: r })
    const { reply, session } = await processHello({ identity: R, networkKey: K }, eR, await init.hello())
    const { auth: valid } = await init.reply(reply)
    let accepted = 0
    await run('handshake auth', RUNS, async () => {
      if (await expectTypedAsync(async () => await processAuth({ identity: R, networkKey: K }, session, mutate(r, valid)), ['ERR_HANDSHAKE', 'ERR_SELF_DIAL']) === 'ok') accepted++
    })
    expect(accepted).toBe(0)
    expect((await processAuth({ identity: R, networkKey: K }, session, valid)).remoteId).toBe(I.id)
  }, TIMEOUT)

  it('secure frames: every mutated frame fails authentication with DecryptError', async () => {
    const r = seededRandom(SEED + 4)
    const key = r.bytes(32)
    const valid = syncBox(key).seal(encodeEnvelope({ type: 'chat', data: 'x'.repeat(100) }))
    let accepted = 0
    await run('secure frame', RUNS, () => {
      if (expectTyped(() => syncBox(key).open(mutate(r, valid)), ['ERR_DECRYPT']) === 'ok') accepted++
    })
    expect(accepted).toBe(0)
  }, TIMEOUT)

  it('batches of envelopes: only InvalidFrameError, nothing delivered from a bad batch, entries stay inside it', async () => {
    const r = seededRandom(SEED + 5)
    const samples = [
      encodeBatch([encodeEnvelope({ type: 'a', data: 1 }), encodeEnvelope({ type: 'hs.hb', data: null })]),
      encodeBatch([encodeEnvelope({ type: 'chat', data: { text: 'x'.repeat(50) } })]),
      encodeBatch(Array.from({ length: 20 }, (_, i) => encodeEnvelope({ type: 'n', data: i })))
    ]
    let ok = 0
    await run('batch', RUNS, (i) => {
      const input = mutate(r, samples[i % samples.length]!, { lengthChangeRate: 0.4 })
      const got: Uint8Array[] = []
      const outcome = expectTyped(() => decodeBatch(input, (f) => { got.push(f) }), ['ERR_INVALID_FRAME'])
      if (outcome === 'rejected') { check(got.length === 0, 'a rejected batch delivered frames'); return }
      ok++
      let total = 1
      for (const f of got) {
        check(f.length > 0 && f.buffer === input.buffer, 'an entry is empty or not a view into the batch')
        total += 4 + f.length
      }
      check(total === input.length, 'the entries do not cover the batch exactly')
    })
    expect(ok).toBeGreaterThan(0)
  }, TIMEOUT)

  it('raw values (state values, stored records): only InvalidFrameError, valid ones re-encode', async () => {
    const r = seededRandom(SEED + 6)
    const samples = [
      encodeValue({ v: 1, list: [1, 2, 3], s: 'text', b: new Uint8Array(8) }),
      encodeValue(['a', 1, 2, 3, 4, null, 5]),
      encodeValue(1767225600000),
      encodeValue('x'.repeat(40))
    ]
    let ok = 0
    await run('value', RUNS, (i) => {
      const input = mutate(r, samples[i % samples.length]!, { lengthChangeRate: 0.4 })
      if (expectTyped(() => { encodeValue(decodeValue(input)) }, ['ERR_INVALID_FRAME']) === 'ok') ok++
    })
    expect(ok).toBeGreaterThan(0)
  }, TIMEOUT)
})
