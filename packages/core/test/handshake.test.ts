import * as nodeCrypto from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  AES_256_GCM, AUTH_BYTES, BoxStream, webCryptoAes256Gcm, XSALSA20_POLY1305, aes256Gcm, xsalsa20Poly1305, HELLO_BYTES, PUBLIC_NETWORK_KEY, REPLY_BYTES, encodeEnvelope, fromHex, generateIdentity,
  identityFromSeed, initiator, responder, seededRandom, toHex, toNetworkKey
} from '../src/index.js'
import { concat, utf8 } from '../src/util/bytes.js'
import { syncBox } from './sync-box.js'
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
    expect(toHex(syncBox(result.sendKey).seal(env))).toBe(V.frame0)
    expect([m1.length, m2.length, m3.length]).toEqual([HELLO_BYTES, REPLY_BYTES, AUTH_BYTES])
  })

  it('proves each side to the other and derives mirrored keys', async () => {
    const { ri, rr } = await run()
    expect(ri.remoteId).toBe(R.id)
    expect(rr.remoteId).toBe(I.id)
    expect(toHex(ri.sendKey)).toBe(toHex(rr.recvKey))
    expect(toHex(ri.recvKey)).toBe(toHex(rr.sendKey))
    expect(toHex(ri.sendKey)).not.toBe(toHex(ri.recvKey))
    const a = syncBox(ri.sendKey)
    const b = syncBox(rr.recvKey)
    expect(toHex(b.open(a.seal(new Uint8Array([1, 2, 3]))))).toBe('010203')
  })

  it('a responder with another network key rejects the hello, before sending anything', async () => {
    const i = initiator({ identity: I, networkKey: toNetworkKey('other'), random: seededRandom(1) })
    const r = responder({ identity: R, networkKey: K, random: seededRandom(2) })
    await expect(r.hello(await i.hello())).rejects.toThrow(code('ERR_HANDSHAKE'))
    await expect(run({ kI: PUBLIC_NETWORK_KEY })).rejects.toThrow(code('ERR_HANDSHAKE'))
  })

  it('a responder makes its ephemeral key only for a hello that proved the network key (issue 18: garbage cost a key generation each)', async () => {
    let draws = 0
    const counting = { float: () => 0.5, bytes: (n: number) => { draws++; return seededRandom(2).bytes(n) } }
    const wrongKey = initiator({ identity: I, networkKey: toNetworkKey('other'), random: seededRandom(1) })
    await expect(responder({ identity: R, networkKey: K, random: counting }).hello(await wrongKey.hello())).rejects.toThrow(code('ERR_HANDSHAKE'))
    await expect(responder({ identity: R, networkKey: K, random: counting }).hello(new Uint8Array(HELLO_BYTES).fill(7))).rejects.toThrow(code('ERR_HANDSHAKE'))
    expect(draws).toBe(0)
    const right = initiator({ identity: I, networkKey: K, random: seededRandom(1) })
    await responder({ identity: R, networkKey: K, random: counting }).hello(await right.hello())
    expect(draws).toBe(1)
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
    const tx = syncBox(ri.sendKey)
    const f0 = tx.seal(new Uint8Array([1]))
    const f1 = tx.seal(new Uint8Array([2]))
    const tampered = f0.slice(); tampered[tampered.length - 1]! ^= 1
    expect(() => syncBox(rr.recvKey).open(tampered)).toThrow(code('ERR_DECRYPT'))
    expect(() => syncBox(rr.recvKey).open(f1)).toThrow(code('ERR_DECRYPT'))
    const rx = syncBox(rr.recvKey)
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

// docs/protocol.md, "Cipher suites": the same seeds and ephemeral secrets, with suite lists
const S = {
  m1: '5dfedd3b6bd47f6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3ef22a5c424e0bdaf3e056c138f5c8d22a42458a4650abf571a3ab839e50f46f110b5020201',
  aes: {
    m2: 'ac01b2209e86354fb853237b5de0f4fab13c7fcbf433a61c019369617fecf10b20fae72e005fb288269a94380c6d478e1d7a1867332b27da48ce51ef4a6f69c5053364113b1486a63531df30d2773612af0b24a751b08c4b931f6fa876477ed3b742acf348f425413841c8bcb65e9e694c9f1845c082fdd90901d104a04da7e127edf958f44e8d3048e71d6af64b9707020201',
    m3: '428d6e16d0c669dc4b8ab65036942607124ade503ce49368901f417861e4f95cb56cc72062a0ac38379f3dd83cd3f183f9c83f7472dc453c4ef3b5027d8d91a84211e75c5b2341fc16d4d8ec4b4000094c29f604386c3cfda6d049e77d5033ecd1833cec87c3408640f34ee25da5daa5',
    frame0: '358821146689bfc8f4bc1d4217b212ee1ee86f1dd59342fc404b77dc162343bf',
    frame1: '4f2840cf24f08f68aa3df66fd75bcf1c535d6983fc21f592104fd8b6a91420bd'
  },
  xsalsa: {
    m2: 'ac01b2209e86354fb853237b5de0f4fab13c7fcbf433a61c019369617fecf10b1ed0e1271178da147dfbc758d012e2dc1d7a1867332b27da48ce51ef4a6f69c5053364113b1486a63531df30d2773612325825ae380bd5423a674352bd30360f3013895c980182d57b90d1065548e910ea1c1c113c4a78ae9f137eefbfc714846f2f4140685b489e4030c0bd258119020101',
    m3: 'ca81d93ecbdc069218a7e7e1f7681f72124ade503ce49368901f417861e4f95cb56cc72062a0ac38379f3dd83cd3f1837ef33011461497c298e9611b32783c05cd4e5f9dd627cad13dd007c275a86bc5966826ed4580ac173128d1849f2038f867b93d76b1eca1471aaa55c1069535a2',
    frame0: 'e63511e63c87e1e262e092854df4b635c979ba8c883593815093d3eeb4453f46',
    frame1: 'fab840874916aaf55e6d5a50a2472b327cd22965a6b9d3a7f14c028b23a36da0'
  }
}
const aes = aes256Gcm(nodeCrypto)
const BOTH = [AES_256_GCM, XSALSA20_POLY1305]

async function negotiate (suitesI: number[] | undefined, suitesR: number[] | undefined, edit: { m1?: (m: Uint8Array) => Uint8Array, m2?: (m: Uint8Array) => Uint8Array } = {}) {
  const i = initiator({ identity: I, networkKey: K, random: seededRandom(1), ...(suitesI === undefined ? {} : { suites: suitesI }) })
  const r = responder({ identity: R, networkKey: K, random: seededRandom(2), ...(suitesR === undefined ? {} : { suites: suitesR }) })
  const m1 = (edit.m1 ?? (m => m))(await i.hello())
  const m2 = (edit.m2 ?? (m => m))(await r.hello(m1))
  const { auth: m3, result: ri } = await i.reply(m2)
  const rr = await r.auth(m3)
  return { m1, m2, ri, rr }
}

describe('cipher suites', () => {
  it('match the vectors byte for byte, for each suite', async () => {
    const env = encodeEnvelope({ type: 'chat', data: { text: 'hi' } })
    for (const [listR, v, suite] of [[BOTH, S.aes, aes], [[XSALSA20_POLY1305], S.xsalsa, xsalsa20Poly1305]] as const) {
      const i = initiator({ identity: I, networkKey: K, ephemeralSecret: new Uint8Array(32).fill(3), suites: BOTH })
      const r = responder({ identity: R, networkKey: K, ephemeralSecret: new Uint8Array(32).fill(4), suites: listR })
      const m1 = await i.hello()
      expect(toHex(m1)).toBe(S.m1)
      const m2 = await r.hello(m1)
      expect(toHex(m2)).toBe(v.m2)
      const { auth: m3, result } = await i.reply(m2)
      expect(toHex(m3)).toBe(v.m3)
      const rr = await r.auth(m3)
      expect([result.suite, rr.suite]).toEqual([suite.id, suite.id])
      // the keys do not depend on the lists
      expect(toHex(result.sendKey)).toBe(V.i2r)
      const tx = syncBox(result.sendKey, suite)
      expect([toHex(tx.seal(env)), toHex(tx.seal(env))]).toEqual([v.frame0, v.frame1])
      const rx = syncBox(rr.recvKey, suite)
      expect(toHex(rx.open(fromHex(v.frame0)))).toBe(V.env)
      expect(toHex(rx.open(fromHex(v.frame1)))).toBe(V.env)
    }
  })

  it('WebCrypto\'s AES-256-GCM (browsers) seals the same vector frames as node:crypto\'s, and opens them; a tampered frame rejects with DecryptError', async () => {
    const { ri, rr } = await negotiate(BOTH, BOTH)
    const wc = webCryptoAes256Gcm()
    const tx = new BoxStream(ri.sendKey, wc)
    const [f0, f1] = await Promise.all([tx.seal(fromHex(V.env)), tx.seal(fromHex(V.env))])
    const native = syncBox(ri.sendKey, aes)
    expect([toHex(f0), toHex(f1)]).toEqual([toHex(native.seal(fromHex(V.env))), toHex(native.seal(fromHex(V.env)))])
    const rx = new BoxStream(rr.recvKey, wc)
    expect(toHex(await rx.open(f0))).toBe(V.env)
    const tampered = f1.slice(); tampered[0]! ^= 1
    await expect(rx.open(tampered)).rejects.toThrow(code('ERR_DECRYPT'))
  })

  it('both ends take the first suite of the initiator\'s list that the responder lists', async () => {
    expect((await negotiate(BOTH, BOTH)).ri.suite).toBe(AES_256_GCM)
    expect((await negotiate(BOTH, [XSALSA20_POLY1305])).rr.suite).toBe(XSALSA20_POLY1305)
    expect((await negotiate([XSALSA20_POLY1305, AES_256_GCM], [AES_256_GCM, XSALSA20_POLY1305])).rr.suite).toBe(XSALSA20_POLY1305)
    // ids this end does not know are skipped
    const { ri, rr } = await negotiate([200, AES_256_GCM], [7, AES_256_GCM])
    expect([ri.suite, rr.suite]).toEqual([AES_256_GCM, AES_256_GCM])
    // no shared suite: the initiator says why
    await expect(negotiate([AES_256_GCM], [XSALSA20_POLY1305])).rejects.toThrow(expect.objectContaining({ code: 'ERR_HANDSHAKE', message: expect.stringContaining('no cipher suite in common') }))
  })

  it('an older peer\'s hello (no list) gets an older reply and XSalsa20-Poly1305', async () => {
    const { m1, m2, ri, rr } = await negotiate(undefined, BOTH)
    expect([m1.length, m2.length]).toEqual([HELLO_BYTES, REPLY_BYTES])
    expect([ri.suite, rr.suite]).toEqual([XSALSA20_POLY1305, XSALSA20_POLY1305])
    // and that older peer's hello is the one of the first vectors
    const r = responder({ identity: R, networkKey: K, ephemeralSecret: new Uint8Array(32).fill(4), suites: BOTH })
    expect(toHex(await r.hello(fromHex(V.m1)))).toBe(V.m2)
  })

  it('a downgrade fails the handshake: an edited list in the hello or the reply, or a reply stripped of its list', async () => {
    // an attacker holding K (the public network's is public) rewrites the hello's list and its MAC
    const onlyXsalsa = (m: Uint8Array): Uint8Array => {
      const list = Uint8Array.of(1, XSALSA20_POLY1305)
      const eI = m.subarray(0, 32)
      return concat(eI, mac(K, concat(utf8('hearsay/1 hello'), eI, list)), list)
    }
    await expect(negotiate(BOTH, BOTH, { m1: onlyXsalsa })).rejects.toThrow(code('ERR_HANDSHAKE'))
    // ... or strips it, to pass for an older peer
    const stripped = (m: Uint8Array): Uint8Array => {
      const eI = m.subarray(0, 32)
      return concat(eI, mac(K, concat(utf8('hearsay/1 hello'), eI)))
    }
    await expect(negotiate(BOTH, BOTH, { m1: stripped })).rejects.toThrow(code('ERR_HANDSHAKE'))
    // an edited hello list without the MAC rewritten fails the responder's check
    await expect(negotiate(BOTH, BOTH, { m1: m => { const b = m.slice(); b[b.length - 2] = XSALSA20_POLY1305; b[b.length - 1] = AES_256_GCM; return b } })).rejects.toThrow(code('ERR_HANDSHAKE'))
    // the responder's list, edited or dropped
    await expect(negotiate(BOTH, BOTH, { m2: m => concat(m.subarray(0, REPLY_BYTES), Uint8Array.of(1, XSALSA20_POLY1305)) })).rejects.toThrow(code('ERR_HANDSHAKE'))
    await expect(negotiate(BOTH, BOTH, { m2: m => m.slice(0, REPLY_BYTES) })).rejects.toThrow(code('ERR_HANDSHAKE'))
    // untouched, the same handshake succeeds
    expect((await negotiate(BOTH, BOTH)).ri.suite).toBe(AES_256_GCM)
  })

  it('rejects malformed lists with HandshakeError, and bad local lists with TypeError', async () => {
    for (const tail of [Uint8Array.of(0), Uint8Array.of(2, 1), Uint8Array.of(17, ...new Array(17).fill(1)), Uint8Array.of(1, 1, 1)]) {
      const eI = new Uint8Array(32).fill(9)
      const r = responder({ identity: R, networkKey: K, suites: BOTH })
      await expect(r.hello(concat(eI, mac(K, concat(utf8('hearsay/1 hello'), eI, tail)), tail))).rejects.toThrow(code('ERR_HANDSHAKE'))
    }
    await expect(initiator({ identity: I, networkKey: K, suites: [] }).hello()).rejects.toThrow(TypeError)
    await expect(initiator({ identity: I, networkKey: K, suites: [256] }).hello()).rejects.toThrow(TypeError)
  })

  it('AES-256-GCM frames: tampered, replayed and reordered frames fail authentication', async () => {
    const { ri, rr } = await negotiate(BOTH, BOTH)
    const tx = syncBox(ri.sendKey, aes)
    const f0 = tx.seal(new Uint8Array([1]))
    const f1 = tx.seal(new Uint8Array([2]))
    expect(f0.length).toBe(1 + 16)
    for (const pos of [0, f0.length - 1]) {
      const tampered = f0.slice(); tampered[pos]! ^= 1
      expect(() => syncBox(rr.recvKey, aes).open(tampered)).toThrow(code('ERR_DECRYPT'))
    }
    expect(() => syncBox(rr.recvKey, aes).open(f1)).toThrow(code('ERR_DECRYPT'))
    expect(() => syncBox(rr.recvKey, aes).open(f0.subarray(0, 15))).toThrow(code('ERR_DECRYPT'))
    const rx = syncBox(rr.recvKey, aes)
    expect([...rx.open(f0)]).toEqual([1])
    expect(() => rx.open(f0)).toThrow(code('ERR_DECRYPT'))
  })
})
