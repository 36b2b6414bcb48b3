import { describe, expect, it } from 'vitest'
import { batchMessage, decodeEnvelope, encodeEnvelope, encodeValue, generateIdentity, identityFromSeed, leafHash, seededRandom, signWith, toHex } from '../../src/index.js'
import type { Identity } from '../../src/index.js'
import { BatchTree, ProofCounter, prove, rootFromProof } from '../../src/services/state/merkle.js'
import {
  INCARNATION_SHIFT, nextIncarnation, Scuttlebutt, signedOwnership, trustedOwnership
} from '../../src/services/state/scuttlebutt.js'
import type { DeltaMsg, ScuttlebuttOptions } from '../../src/services/state/scuttlebutt.js'
import { hash } from '../../src/wire/crypto.js'

const rnd = seededRandom(7)
const ids = Array.from({ length: 8 }, () => generateIdentity(rnd))

function make (identity: Identity, clock: { t: number }, extra: Partial<ScuttlebuttOptions> = {}): Scuttlebutt {
  return new Scuttlebutt({ self: identity.id, incarnation: 1, now: () => clock.t, random: seededRandom(1), proofs: signedOwnership(identity), ...extra })
}

/** Round-trips a kv message through the real envelope codec, checking its size. */
function wire<T> (type: string, data: T, max = 16 * 1024): unknown {
  const frame = encodeEnvelope({ type, data })
  expect(frame.length).toBeLessThanOrEqual(max + 16)
  return decodeEnvelope(frame).data
}

/** One push-pull exchange initiated by a; returns the delta messages sent each way. */
function exchange (a: Scuttlebutt, b: Scuttlebutt, maxMessages = 4, max = 16 * 1024): { ab: DeltaMsg[], ba: DeltaMsg[], page: { f: Uint8Array } } {
  const page = wire('kv.syn', a.digestPage(), max) as { f: Uint8Array }
  const r = b.onDigest(page)!
  const ba = b.deltas(r.plan, maxMessages)
  for (const m of ba) a.apply(b.self, wire('kv.delta', m))
  const plan = a.onRequest(wire('kv.ack', r.request))!
  const ab = a.deltas(plan, maxMessages)
  for (const m of ab) b.apply(a.self, wire('kv.delta', m))
  return { ab, ba, page }
}

const val = (v: unknown): Uint8Array => encodeValue(v)

describe('merkle multiproofs', () => {
  it('matches the test vectors in docs/protocol.md', () => {
    const id = identityFromSeed(new Uint8Array(32).fill(1))
    expect(id.id).toBe('rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5oa')
    const v = INCARNATION_SHIFT + 1
    const leaves = [
      leafHash(id.id, 'status', v, encodeValue('busy'), 0),
      leafHash(id.id, 'room', v + 1, encodeValue({ n: 1 }), 1767225600000),
      leafHash(id.id, 'old', v + 2, null, 1767225600000)
    ]
    expect(leaves.map(toHex)).toEqual([
      'ffcbbbd25cce146c406402dcf755f1626a254521dcc925c1c1b97d3e0607725f',
      '74c1511c8d51304c4cd520e2fde46b7f4b787440dc9fa32c5cb11c97483758f2',
      '6e0ffb063d9a8363d472c86accd85cd545095e7355fb6339c2e3f1d416d5cd19'
    ])
    const tree = BatchTree.build(leaves)
    expect(toHex(tree.root!)).toBe('5eb4752d39f6c5b14dbc39b105221859596d5523e73f44089ea666419dd5de77')
    const msg = batchMessage(id.id, 3, tree.root!)
    expect(toHex(signWith(id, msg))).toBe('4c3595377a1cee58623410632340cae23f7a29ed159039b72e6a14ba74829d50ec16795e5e0ef8e58eaf357a791614890e4b6babf632f75ccc1593bde8f28509')
    expect(toHex(prove(tree, [1])!)).toBe(toHex(leaves[0]!) + toHex(leaves[2]!))
    expect(toHex(prove(tree, [0, 2])!)).toBe(toHex(leaves[1]!))
  })

  it('prove and check every subset shape of small trees, and count proof sizes exactly', () => {
    for (let n = 1; n <= 13; n++) {
      const leaves = Array.from({ length: n }, (_, i) => hash(new Uint8Array([i, n])))
      const tree = BatchTree.build(leaves)
      for (let mask = 1; mask < (1 << n); mask += (n > 8 ? 37 : 1)) {
        const idx = [...Array(n).keys()].filter(i => (mask & (1 << i)) !== 0)
        const proof = prove(tree, idx)!
        const r = rootFromProof(n, idx, idx.map(i => leaves[i]!), proof)!
        expect(Buffer.from(r.root).equals(Buffer.from(tree.root!))).toBe(true)
        const counter = new ProofCounter(n)
        for (const i of idx) counter.add(i)
        expect(counter.count * 32).toBe(proof.length)
        // a wrong leaf or a truncated proof does not lead to the root
        const bad = idx.map(i => leaves[i]!.slice()); bad[0]![0]! ^= 1
        const rb = rootFromProof(n, idx, bad, proof)
        expect(rb === undefined || !Buffer.from(rb.root).equals(Buffer.from(tree.root!))).toBe(true)
        if (proof.length > 0) expect(rootFromProof(n, idx, idx.map(i => leaves[i]!), proof.subarray(32))).toBeUndefined()
      }
    }
  })
})

describe('scuttlebutt (pure)', () => {
  it('reconciles N owners × K keys by pairwise push-pull exchanges', () => {
    const clock = { t: 1_000_000 }
    const nodes = ids.slice(0, 6).map(id => make(id, clock))
    nodes.forEach((n, i) => { for (let k = 0; k < 40; k++) n.set(`k${k}`, val({ i, k })) })
    const r = seededRandom(3)
    for (let round = 0; round < 30; round++) {
      for (const a of nodes) {
        let b = a
        while (b === a) b = nodes[Math.floor(r.float() * nodes.length)]!
        exchange(a, b)
      }
    }
    for (const n of nodes) {
      for (const [i, o] of nodes.entries()) {
        expect(n.keys(o.self)).toHaveLength(40)
        expect(n.entry(o.self, 'k7')!.value).toEqual(val({ i, k: 7 }))
      }
    }
    // one signature per owner (all 40 keys in one batch), each checked at most once per node
    for (const n of nodes) {
      expect(n.crypto.signed).toBe(1)
      expect(n.crypto.verified + n.crypto.direct).toBeLessThanOrEqual(5)
    }
  })

  it('keeps every delta and digest under the byte budget and drains in order over several rounds', () => {
    const clock = { t: 1_000_000 }
    const a = make(ids[0]!, clock, { maxMessageBytes: 4096, maxValueBytes: 1024 })
    const b = make(ids[1]!, clock, { maxMessageBytes: 4096, maxValueBytes: 1024 })
    for (let k = 0; k < 300; k++) a.set(`key-${k}`, val('x'.repeat(k % 50)))
    let rounds = 0
    while (b.keys(a.self).length < 300 && rounds < 100) {
      const { ba } = exchange(b, a, 2)
      for (const m of ba) expect(encodeEnvelope({ type: 'kv.delta', data: m }).length).toBeLessThanOrEqual(4096 + 16)
      expect(ba.length).toBeLessThanOrEqual(2)
      // every prefix is consistent: the keys b has are exactly the oldest ones
      const have = b.keys(a.self).length
      for (let k = 0; k < have; k++) expect(b.entry(a.self, `key-${k}`)).toBeDefined()
      rounds++
    }
    expect(b.keys(a.self)).toHaveLength(300)
    expect(rounds).toBeGreaterThan(2)
  })

  it('pages the digest by owner ranges when owners do not fit in one message', () => {
    const clock = { t: 1_000_000 }
    const many = Array.from({ length: 40 }, () => generateIdentity(rnd))
    const hub = make(ids[0]!, clock, { maxMessageBytes: 600, maxValueBytes: 100, maxKeyBytes: 32, maxBatchLeaves: 4 })
    for (const id of many) {
      const o = make(id, clock, { maxMessageBytes: 600, maxValueBytes: 100, maxKeyBytes: 32, maxBatchLeaves: 4 })
      o.set('name', val(id.id.slice(0, 6)))
      exchange(o, hub, 4, 600)
    }
    expect(hub.ownerCount).toBe(41)
    const fresh = make(ids[1]!, clock, { maxMessageBytes: 600, maxValueBytes: 100, maxKeyBytes: 32, maxBatchLeaves: 4 })
    const pages = new Set<string>()
    for (let i = 0; i < 40 && fresh.ownerCount < 41; i++) {
      // the hub initiates: fresh learns of the owners in each page's range and asks for them
      const { page } = exchange(hub, fresh, 4, 600)
      pages.add(Buffer.from(page.f).toString('hex'))
    }
    expect(pages.size).toBeGreaterThan(1)
    // its own and the 40 others (the hub set nothing)
    expect(fresh.ownerCount).toBe(41)
    for (const id of many) expect(fresh.keys(id.id)).toEqual(['name'])
  })

  it('ignores and counts forged, unproven, stale and malformed updates', () => {
    const clock = { t: 1_000_000 }
    const victim = make(ids[0]!, clock)
    const liar = make(ids[1]!, clock)
    const target = make(ids[2]!, clock)
    victim.set('balance', val(10))
    exchange(liar, victim)
    expect(liar.entry(victim.self, 'balance')).toBeDefined()
    // the liar forwards the victim's update with a different value: the proof no longer matches
    const page = target.digestPage()
    const r = liar.onDigest(page)!
    const msgs = liar.deltas(r.plan, 4)
    const forged = structuredClone(msgs)
    for (const g of forged[0]!.g) if (g[0] === victim.self) g[2][0]![2] = val(1_000_000)
    target.apply(liar.self, forged[0])
    expect(target.entry(victim.self, 'balance')).toBeUndefined()
    expect(target.drops['bad-proof']).toBe(1)
    // the liar signs a batch of its own and claims the victim owns it: the signature fails
    const own = make(ids[1]!, clock)
    own.set('balance', val(999))
    own.seal()
    const mine = own.deltas(own.onDigest(target.digestPage())!.plan, 1)[0]!
    mine.g[0]![0] = victim.self
    target.apply(liar.self, mine)
    expect(target.entry(victim.self, 'balance')).toBeUndefined()
    expect(target.drops['bad-proof']).toBe(2)
    // honest forwarding works, then a replay is stale
    target.apply(liar.self, msgs[0])
    expect(target.entry(victim.self, 'balance')!.value).toEqual(val(10))
    target.apply(liar.self, msgs[0])
    expect(target.drops.stale).toBe(1)
    // malformed input never throws
    for (const junk of [null, 1, 'x', { g: 1 }, { g: [[1, 2, 3]] }, { g: [[victim.self, [], []]] }, { g: [[victim.self, [[1, new Uint8Array(32), new Uint8Array(64), new Uint8Array(3)]], [['k', 1, null, 0, 0, 0]]]] }]) {
      expect(() => target.apply(liar.self, junk)).not.toThrow()
    }
    expect(target.drops.malformed).toBeGreaterThanOrEqual(5)
    expect(target.onDigest({ f: 1 })).toBeUndefined()
    expect(target.onRequest('nope')).toBeUndefined()
  })

  it('a signature is checked once per batch, and not for updates from their owner', () => {
    const clock = { t: 1_000_000 }
    const [a, b, c] = [make(ids[0]!, clock), make(ids[1]!, clock), make(ids[2]!, clock)]
    for (let k = 0; k < 100; k++) a.set(`k${k}`, val(k))
    exchange(b, a)
    expect(b.crypto.direct).toBe(1)
    expect(b.crypto.verified).toBe(0)
    exchange(c, b)
    expect(c.crypto.verified).toBe(1)
    expect(c.keys(a.self)).toHaveLength(100)
  })

  it('expires values and tombstones at their absolute time, with expire changes for values only', () => {
    const clock = { t: 1_000_000 }
    const a = make(ids[0]!, clock)
    const b = make(ids[1]!, clock)
    a.set('short', val(1), clock.t + 1000)
    a.set('long', val(2), clock.t + 10_000)
    a.set('gone', val(3))
    a.delete('gone', clock.t + 5000)
    exchange(b, a)
    expect(b.keys(a.self)).toEqual(['long', 'short'])
    expect(b.entry(a.self, 'gone')!.value).toBeNull()
    clock.t += 1000
    expect(b.keys(a.self)).toEqual(['long'])
    expect(b.sweep().map(c => [c.kind, c.key])).toEqual([['expire', 'short']])
    expect(a.sweep().map(c => [c.kind, c.key, c.local])).toEqual([['expire', 'short', true]])
    clock.t += 4000
    expect(b.sweep()).toEqual([])
    expect(b.entry(a.self, 'gone')).toBeUndefined()
    // an expired update is not sent, nor accepted
    const c = make(ids[2]!, clock)
    exchange(c, b)
    expect(c.keys(a.self)).toEqual(['long'])
    clock.t += 5000
    expect(c.sweep().map(c => c.key)).toEqual(['long'])
  })

  it('a deleted key does not come back from a peer that missed the delete', () => {
    const clock = { t: 1_000_000 }
    const [a, b, c] = [make(ids[0]!, clock), make(ids[1]!, clock), make(ids[2]!, clock)]
    a.set('k', val('v1'))
    exchange(b, a); exchange(c, a)
    a.delete('k', clock.t + 60_000)
    exchange(b, a)
    expect(b.entry(a.self, 'k')!.value).toBeNull()
    // c still has the value; b's newer tombstone wins both ways
    exchange(b, c); exchange(c, b)
    expect(b.entry(a.self, 'k')!.value).toBeNull()
    expect(c.entry(a.self, 'k')!.value).toBeNull()
  })

  it('incarnations: versions of a restarted node are above its previous run; one that lost its store refutes', () => {
    const clock = { t: Date.UTC(2024, 0, 1) + 5000 }
    expect(nextIncarnation(0, clock.t)).toBe(5)
    expect(nextIncarnation(9, clock.t)).toBe(10)
    const peer = make(ids[1]!, clock)
    const first = make(ids[0]!, clock, { incarnation: 7 })
    for (let k = 0; k < 5; k++) first.set('k', val(k))
    exchange(peer, first)
    expect(peer.entry(first.self, 'k')!.version).toBe(7 * INCARNATION_SHIFT + 5)
    // same identity, store lost: incarnation 3 < 7
    let persisted = 0
    const again = make(ids[0]!, clock, { incarnation: 3, onIncarnation: (i) => { persisted = i } })
    again.set('k', val('new'))
    again.set('other', val('x'))
    exchange(peer, again)
    expect(persisted).toBe(8)
    expect(again.incarnation).toBe(8)
    exchange(peer, again)
    expect(peer.entry(first.self, 'k')!.value).toEqual(val('new'))
    expect(peer.entry(first.self, 'other')!.value).toEqual(val('x'))
  })

  it('bounds owners, keys per owner and bytes, counting what it drops', () => {
    const clock = { t: 1_000_000 }
    const small = make(ids[0]!, clock, { maxOwners: 2, maxKeysPerOwner: 3, maxTotalBytes: 10_000 })
    const others = ids.slice(1, 5).map(id => make(id, clock, { maxKeysPerOwner: 10 }))
    others.forEach((o, i) => { for (let k = 0; k < 5; k++) o.set(`k${k}`, val(i)) })
    for (const o of others) exchange(small, o)
    expect(small.ownerCount).toBe(3)
    expect(small.drops['owners-full']).toBeGreaterThan(0)
    expect(small.drops['keys-full']).toBeGreaterThan(0)
    expect(() => small.set('a', val(1))).not.toThrow()
    small.set('b', val(1)); small.set('c', val(1))
    expect(() => small.set('d', val(1))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    small.delete('a', clock.t + 1000)
    // a tombstone is evicted to make room
    expect(() => small.set('d', val(1))).not.toThrow()
    expect(() => small.set('x'.repeat(300), val(1))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => small.set('big', new Uint8Array(9000))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => small.set('', val(1))).toThrow(TypeError)
    const tiny = make(ids[5]!, clock, { maxTotalBytes: 600 })
    exchange(tiny, others[0]!)
    expect(tiny.drops['bytes-full']).toBeGreaterThan(0)
    expect(tiny.bytes).toBeLessThanOrEqual(600)
  })

  it('trusted ownership (simulation) skips signatures but still checks proofs', () => {
    const clock = { t: 1_000_000 }
    const fake = { id: ids[6]!.id, publicKey: ids[6]!.publicKey, secretKey: new Uint8Array(64) }
    const a = new Scuttlebutt({ self: fake.id, incarnation: 1, now: () => clock.t, random: seededRandom(1), proofs: trustedOwnership })
    const b = new Scuttlebutt({ self: ids[7]!.id, incarnation: 1, now: () => clock.t, random: seededRandom(2), proofs: trustedOwnership })
    a.set('k', val(1))
    exchange(b, a)
    expect(b.keys(a.self)).toEqual(['k'])
    expect(() => make(ids[0]!, clock, { maxMessageBytes: 1000 })).toThrow(TypeError)
  })
})
