import { describe, expect, it } from 'vitest'
import {
  AUTH_BYTES, BoxStream, HELLO_BYTES, PUBLIC_NETWORK_KEY, REPLY_BYTES, encodeEnvelope, fromHex, generateIdentity,
  identityFromSeed, initiator, responder, seededRandom, toHex, toNetworkKey
} from '../src/index.js'
import { concat, utf8 } from '../src/util/bytes.js'
import { hash, mac } from '../src/wire/crypto.js'

// The vectors of docs/protocol.md: fixed seeds and ephemeral secrets give exact bytes.
const V = {
 'I': 'rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5oa',
 'R': 'qe4xodvipulv6vvdkrtmgtd6ztfy3curwtxdpis56yhvxd6jwoka',
 'K': '98f2fd62b7c7db02fdf3a4f8cb70cc34a3d5e5df39da83de1908aa1ff2d9533c',
 'm1': '5dfedd3b6bd47f6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3ef2212432d484d793aa56bd6420a9914aee13c9c19b7703d073386e0b786226c6de6',
 'm2': 'ac01b2209e86354fb853237b5de0f4fab13c7fcbf433a61c019369617fecf10b543ee6bd56ac8282da6795a0514224151d7a1867332b27da48ce51ef4a6f69c5053364113b1486a63531df30d27736120556bca5191291116db1691deffe5a700ad092bccd1c7ad5b9ef5686ca0bfabcc5a20330c848e2fcb60d896b6cdc69126c97b30a3efc1a7e89fab2de9fbd7708',
 'm3': '914db687540cb3b1ea386b11349ab982124ade503ce49368901f417861e4f95cb56cc72062a0ac38379f3dd83cd3f183e6dc1b4abdd8908a44abd200184d631cde3137b93ad91e8f83e5aa9c1718b13264dbbd521a63a1c4e8e9d2978c3484005aa1d23819145e5b9c0a86fd1aaf1baa',
 'i2r': '5de18cba62fc1149243e4ceb4c00db043d5177f30b79c4b0902f608f9b3abd09',
 'r2i': '96e4a3859b565113782d381f4e848d064047b627e04a774f534c26001f7e3779',
 'env': '9301a46368617481a474657874a26869',
 'pause': '9301a868732e706175736581a6706175736564c3',
 'frame0': 'e63511e63c87e1e262e092854df4b635c979ba8c883593815093d3eeb4453f46',
 'pubK': '28cbcb209d06ebaff5e206eb122d70866cb6008e70735d302339d36ee5bd3f03'
}

const I = identityFromSeed(new Uint8Array(32).fill(1))
const R = identityFromSeed(new Uint8Array(32).fill(2))
const K = toNetworkKey('test vectors')

async function run (opts: { kI?: Uint8Array, kR?: Uint8Array } = {}) {
  const i = initiator({ identity: I, networkKey: opts.kI ?? K, random: seededRandom(1) })
  const r = responder({ identity: R, networkKey: opts.kR ?? K, random: seededRandom(2) })
  const m1 = await i.hello()
  const m2 = await r.hello(m1)
  const { auth: m3, result: ri } = await i.reply(m2)
  const rr = await r.auth(m3)
  return { m1, m2, m3, ri, rr }
}

const code = (c: string) => expect.objectContaining({ code: c })

describe('handshake', () => {
  it('matches the test vectors byte for byte', async () => {
    expect(I.id).toBe(V.I)
    expect(R.id).toBe(V.R)
    expect(toHex(K)).toBe(V.K)
    expect(toHex(PUBLIC_NETWORK_KEY)).toBe(V.pubK)
    // written out in the source: it is the hash of its label
    expect(toHex(hash(utf8('hearsay/1 public network')))).toBe(V.pubK)
    const i = initiator({ identity: I, networkKey: K, ephemeralSecret: new Uint8Array(32).fill(3) })
    const r = responder({ identity: R, networkKey: K, ephemeralSecret: new Uint8Array(32).fill(4) })
    const m1 = await i.hello()
    expect(toHex(m1)).toBe(V.m1)
    const m2 = await r.hello(m1)
    expect(toHex(m2)).toBe(V.m2)
    const { auth: m3, result } = await i.reply(m2)
    expect(toHex(m3)).toBe(V.m3)
    const rr = await r.auth(m3)
    expect(toHex(result.sendKey)).toBe(V.i2r)
    expect(toHex(result.recvKey)).toBe(V.r2i)
    expect(toHex(rr.recvKey)).toBe(V.i2r)
    const env = encodeEnvelope({ type: 'chat', data: { text: 'hi' } })
    expect(toHex(env)).toBe(V.env)
    expect(toHex(encodeEnvelope({ type: 'hs.pause', data: { paused: true } }))).toBe(V.pause)
    expect(toHex(new BoxStream(result.sendKey).seal(env))).toBe(V.frame0)
    expect([m1.length, m2.length, m3.length]).toEqual([HELLO_BYTES, REPLY_BYTES, AUTH_BYTES])
  })

  it('proves each side to the other and derives mirrored keys', async () => {
    const { ri, rr } = await run()
    expect(ri.remoteId).toBe(R.id)
    expect(rr.remoteId).toBe(I.id)
    expect(toHex(ri.sendKey)).toBe(toHex(rr.recvKey))
    expect(toHex(ri.recvKey)).toBe(toHex(rr.sendKey))
    expect(toHex(ri.sendKey)).not.toBe(toHex(ri.recvKey))
    const a = new BoxStream(ri.sendKey)
    const b = new BoxStream(rr.recvKey)
    expect(toHex(b.open(a.seal(new Uint8Array([1, 2, 3]))))).toBe('010203')
  })

  it('a responder with another network key rejects the hello, before sending anything', async () => {
    const i = initiator({ identity: I, networkKey: toNetworkKey('other'), random: seededRandom(1) })
    const r = responder({ identity: R, networkKey: K, random: seededRandom(2) })
    await expect(r.hello(await i.hello())).rejects.toThrow(code('ERR_HANDSHAKE'))
    await expect(run({ kI: PUBLIC_NETWORK_KEY })).rejects.toThrow(code('ERR_HANDSHAKE'))
  })

  it('rejects a forged identity: any change to the boxed identity or signature fails', async () => {
    const i = initiator({ identity: I, networkKey: K, random: seededRandom(1) })
    const r = responder({ identity: R, networkKey: K, random: seededRandom(2) })
    const hello = await i.hello()
    const m2 = await r.hello(hello)
    for (const pos of [33, 47, 48 + 5, 48 + 40, 143]) {
      const i2 = initiator({ identity: I, networkKey: K, random: seededRandom(1) })
      await i2.hello()
      const bad = m2.slice()
      bad[pos]! ^= 1
      await expect(i2.reply(bad)).rejects.toThrow(code('ERR_HANDSHAKE'))
    }
  })

  it('a man in the middle holding the network key can only present itself, and is refused', async () => {
    const M = generateIdentity(seededRandom(9))
    const i = initiator({ identity: I, networkKey: K, random: seededRandom(1), expectedPeer: R.id })
    const mAsResponder = responder({ identity: M, networkKey: K, random: seededRandom(4) })
    await expect(i.reply(await mAsResponder.hello(await i.hello()))).rejects.toThrow(code('ERR_PEER_ID_MISMATCH'))
  })

  it('a recorded handshake replayed to the responder fails', async () => {
    const { m1, m3 } = await run()
    const r = responder({ identity: R, networkKey: K, random: seededRandom(77) })
    await r.hello(m1)
    await expect(r.auth(m3)).rejects.toThrow(code('ERR_HANDSHAKE'))
  })

  it('a recorded reply replayed to a new initiator fails', async () => {
    const { m2 } = await run()
    const i = initiator({ identity: I, networkKey: K, random: seededRandom(55) })
    await i.hello()
    await expect(i.reply(m2)).rejects.toThrow(code('ERR_HANDSHAKE'))
  })

  it('detects a dial to itself', async () => {
    const i = initiator({ identity: I, networkKey: K, random: seededRandom(1) })
    const r = responder({ identity: I, networkKey: K, random: seededRandom(2) })
    await expect(i.reply(await r.hello(await i.hello()))).rejects.toThrow(code('ERR_SELF_DIAL'))
  })

  it('rejects wrong lengths and out-of-order steps with HandshakeError', async () => {
    const i = initiator({ identity: I, networkKey: K })
    await expect(i.reply(new Uint8Array(REPLY_BYTES))).rejects.toThrow(code('ERR_HANDSHAKE'))
    const r = responder({ identity: R, networkKey: K })
    await expect(r.auth(new Uint8Array(AUTH_BYTES))).rejects.toThrow(code('ERR_HANDSHAKE'))
    const r2 = responder({ identity: R, networkKey: K })
    await expect(r2.hello(new Uint8Array(HELLO_BYTES - 1))).rejects.toThrow(code('ERR_HANDSHAKE'))
  })

  it('refuses a low-order ephemeral key even from a network-key holder (valid MAC)', async () => {
    const zero = new Uint8Array(32)
    const hello = concat(zero, mac(K, concat(utf8('hearsay/1 hello'), zero)))
    const r = responder({ identity: R, networkKey: K })
    await expect(r.hello(hello)).rejects.toThrow(expect.objectContaining({ code: 'ERR_HANDSHAKE', message: expect.stringContaining('weak') }))
  })

  it('frames: tampered, replayed and reordered frames fail authentication', async () => {
    const { ri, rr } = await run()
    const tx = new BoxStream(ri.sendKey)
    const f0 = tx.seal(new Uint8Array([1]))
    const f1 = tx.seal(new Uint8Array([2]))
    const tampered = f0.slice(); tampered[tampered.length - 1]! ^= 1
    expect(() => new BoxStream(rr.recvKey).open(tampered)).toThrow(code('ERR_DECRYPT'))
    expect(() => new BoxStream(rr.recvKey).open(f1)).toThrow(code('ERR_DECRYPT'))
    const rx = new BoxStream(rr.recvKey)
    rx.open(f0)
    expect(() => rx.open(f0)).toThrow(code('ERR_DECRYPT'))
  })

  it('network keys: strings are hashed, 32 bytes pass through, other sizes are refused', async () => {
    expect(toNetworkKey('a')).toHaveLength(32)
    expect(toHex(toNetworkKey(fromHex(V.K)))).toBe(V.K)
    expect(() => toNetworkKey(new Uint8Array(31))).toThrow(TypeError)
    expect(() => toNetworkKey('')).toThrow(TypeError)
  })
})
