import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/util/clock.js'
import type { PlumtreeMsg, PlumtreeOptions } from '../../src/overlay/index.js'
import { Plumtree } from '../../src/overlay/index.js'
import { LOST_ROOT_LABEL, STABLE_ROOT_ROUNDS } from '../../src/overlay/plumtree.js'
import { pick } from '../../src/overlay/sample.js'
import { encodeEnvelope } from '../../src/wire/envelope.js'
import { toHex } from '../../src/util/bytes.js'
import { BcNet, ringWithChords } from './bc-harness.js'

const T = 1000

function mk (opts: Partial<PlumtreeOptions> = {}, neighbors = ['a', 'b', 'c']): Plumtree {
  const pt = new Plumtree({ self: 'me', rootIntervalMs: T, random: () => 0.5, ...opts })
  for (const n of neighbors) pt.neighborUp(n)
  return pt
}

const beacon = (id: string, o: string, rounds: number, hops = 1): PlumtreeMsg => ({ t: 'pt.gossip', id, hops, limit: 32, payload: rounds, o, b: 1 })
const gossip = (id: string, o: string, hops = 1): PlumtreeMsg => ({ t: 'pt.gossip', id, hops, limit: 32, payload: 'x', o })
const sent = (r: { actions: Array<{ to: string, msg: PlumtreeMsg }> }, t: PlumtreeMsg['t']): Array<{ to: string, msg: PlumtreeMsg }> =>
  r.actions.filter((a) => a.msg.t === t)

describe('Plumtree root beacons: election', () => {
  it('a linked node without a root claims the role after one to two periods and beacons every period', () => {
    const pt = mk()
    expect(pt.tick(0).actions).toEqual([]) // sets the claim time: 0 + T × (1 + 0.5)
    expect(pt.nextTickAt()).toBe(1500)
    expect(sent(pt.tick(1499), 'pt.gossip')).toEqual([])
    const first = sent(pt.tick(1500), 'pt.gossip')
    expect(first.map((a) => a.to).sort()).toEqual(['a', 'b', 'c'])
    expect(first[0]!.msg).toMatchObject({ hops: 1, limit: 32, payload: 1, o: 'me', b: 1 })
    expect(pt.rootPeer(1500)).toBe('me')
    expect(pt.nextTickAt()).toBe(2500)
    expect(sent(pt.tick(2500), 'pt.gossip')[0]!.msg).toMatchObject({ payload: 2, b: 1 })
  })

  it('a beacon on the wire matches the test vector of docs/protocol.md', () => {
    const pt = mk({ self: 'root', random: () => 0 }, ['a'])
    pt.tick(0)
    const [send] = sent(pt.tick(1000), 'pt.gossip')
    const { t, ...data } = send!.msg
    expect(data).toEqual({ id: '~00000000000000', hops: 1, limit: 32, payload: 1, o: 'root', b: 1 })
    expect(toHex(encodeEnvelope({ type: t, data }))).toBe('9301a970742e676f7373697086a26964af7e3030303030303030303030303030a4686f707301a56c696d697420a77061796c6f616401a16fa4726f6f74a16201')
  })

  it('a node with no neighbour has no root duty; one that hears a root in time never claims', () => {
    const alone = mk({}, [])
    expect(alone.tick(0).actions).toEqual([])
    expect(alone.nextTickAt()).toBeUndefined()

    const pt = mk()
    pt.tick(0)
    const r = pt.onMessage('a', beacon('~1', 'root', 7), 100)
    expect(r.deliver).toBeUndefined() // beacons are not the application's
    expect(sent(r, 'pt.gossip').map((a) => a.to).sort()).toEqual(['b', 'c'])
    expect(pt.rootPeer(100)).toBe('root')
    for (let t = 200; t <= 3000; t += 100) expect(sent(pt.tick(t), 'pt.gossip')).toEqual([])
    // 3.5 periods of silence: the root is gone, and the node claims one to two periods later
    expect(pt.rootPeer(100 + 3.5 * T)).toBe('root')
    expect(pt.rootPeer(101 + 3.5 * T)).toBeUndefined()
    pt.tick(3601)
    expect(pt.nextTickAt()).toBe(3601 + 1500)
    expect(sent(pt.tick(5101), 'pt.gossip')[0]!.msg).toMatchObject({ o: 'me', payload: 1, b: 1 })
  })

  it('roots rank by beacon count, then by the lower id: an outranked beacon is dropped, an outranking one is followed, and a root yields', () => {
    const pt = mk()
    pt.tick(0)
    pt.tick(1500) // claims: rounds 1
    // a claimant with the same count but a higher id is not followed nor forwarded
    const low = pt.onMessage('a', beacon('~2', 'zz', 1), 1600)
    expect(low.actions).toEqual([])
    expect(pt.drops['beacon-outranked']).toBe(1)
    expect(pt.rootPeer(1600)).toBe('me')
    // one with a lower id wins the tie; this node yields and stops beaconing
    expect(sent(pt.onMessage('a', beacon('~3', 'aa', 1), 1700), 'pt.gossip')).toHaveLength(2)
    expect(pt.rootPeer(1700)).toBe('aa')
    expect(sent(pt.tick(2500), 'pt.gossip')).toEqual([])
    // an established root (more rounds) beats a lower id
    expect(sent(pt.onMessage('a', beacon('~3b', 'aa', 2), 2700), 'pt.gossip')).toHaveLength(2)
    expect(sent(pt.onMessage('b', beacon('~4', 'a0', 1), 2800), 'pt.gossip')).toEqual([])
    expect(pt.rootPeer(2800)).toBe('aa')
    expect(sent(pt.onMessage('b', beacon('~5', 'old', 40), 2900), 'pt.gossip')).toHaveLength(2)
    expect(pt.rootPeer(2900)).toBe('old')
  })

  it('rootClass: a stable node (a relay) outranks an established transient root at once; a transient node (a page) claims only after 3.5 periods', () => {
    const page = mk({ rootClass: 'transient' })
    page.tick(0) // claim time: 0 + T × (3.5 + 0.5)
    expect(page.nextTickAt()).toBe(4000)
    expect(sent(page.tick(3999), 'pt.gossip')).toEqual([])
    expect(sent(page.tick(4000), 'pt.gossip')[0]!.msg).toMatchObject({ o: 'me', payload: 1, b: 1 })

    const relay = mk({ self: 'relay', rootClass: 'stable' })
    relay.tick(0)
    const [b] = sent(relay.tick(1500), 'pt.gossip')
    expect(b!.msg).toMatchObject({ o: 'relay', payload: STABLE_ROOT_ROUNDS + 1, b: 1 })
    // a page that follows a page root with many rounds switches to the relay's first beacon
    const follower = mk({ rootClass: 'transient' })
    follower.onMessage('a', beacon('~1', 'oldpage', 500), 100)
    expect(sent(follower.onMessage('b', beacon('~2', 'relay', STABLE_ROOT_ROUNDS + 1), 200), 'pt.gossip')).toHaveLength(2)
    expect(follower.rootPeer(200)).toBe('relay')
    // and the old page root's next beacon is outranked
    expect(sent(follower.onMessage('a', beacon('~3', 'oldpage', 501), 1200), 'pt.gossip')).toEqual([])
    expect(() => mk({ rootClass: 'x' as never })).toThrow(TypeError)
  })

  it('failover: a node whose link to the root closed claims 1.5 to 2 periods after the root\'s last beacon, unless the root beacons again first', () => {
    const pt = mk({ rootClass: 'transient' }, ['root', 'b', 'c'])
    pt.onMessage('root', beacon('~1', 'root', 7), 100)
    pt.neighborDown('root')
    // still the root until 1.5 periods after its last beacon (not 3.5)
    expect(pt.rootPeer(100 + 1.5 * T)).toBe('root')
    expect(pt.rootPeer(101 + 1.5 * T)).toBeUndefined()
    expect(pt.nextTickAt()).toBe(101 + 1.5 * T)
    expect(sent(pt.tick(1601), 'pt.gossip')).toEqual([]) // claim time: + T × 0.5 × 0.5, not + 3.5 to 4.5 T
    expect(pt.nextTickAt()).toBe(1601 + 250)
    expect(sent(pt.tick(1851), 'pt.gossip').map((a) => a.msg)).toEqual([expect.objectContaining({ o: 'me', payload: 1, b: 1 }), expect.objectContaining({ o: 'me', payload: 1, b: 1 })])
    expect(pt.rootPeer(1851)).toBe('me')

    // a live root's next beacon over another path cancels the suspicion: the usual 3.5 periods again
    const live = mk({ rootClass: 'transient' }, ['root', 'b', 'c'])
    live.onMessage('root', beacon('~1', 'root', 7), 100)
    live.neighborDown('root')
    expect(sent(live.onMessage('b', beacon('~2', 'root', 8), 1100), 'pt.gossip')).toHaveLength(1)
    expect(live.rootPeer(1100 + 3.5 * T)).toBe('root')
    // losing a link to a neighbour that is not the root changes nothing
    live.neighborDown('c')
    expect(live.rootPeer(1100 + 3.5 * T)).toBe('root')
  })

  it('failover: a root silent for more than 1.25 periods no longer outranks a claimant; one on time does', () => {
    const pt = mk()
    pt.onMessage('a', beacon('~1', 'root', 7), 100)
    expect(sent(pt.onMessage('b', beacon('~2', 'claimant', 1), 100 + 1.25 * T), 'pt.gossip')).toEqual([])
    expect(pt.drops['beacon-outranked']).toBe(1)
    expect(sent(pt.onMessage('b', beacon('~3', 'claimant', 1), 101 + 1.25 * T), 'pt.gossip')).toHaveLength(2)
    expect(pt.rootPeer(1400)).toBe('claimant')
    // the old root, alive after all, outranks the claimant with its next beacon
    expect(sent(pt.onMessage('a', beacon('~4', 'root', 8), 1500), 'pt.gossip')).toHaveLength(2)
    expect(pt.rootPeer(1500)).toBe('root')
  })

  it('failover: a stable node that follows a root of another class claims over it within half a period', () => {
    const relay = mk({ self: 'relay', rootClass: 'stable' })
    relay.onMessage('a', beacon('~1', 'page', 3), 100)
    expect(relay.rootPeer(100)).toBe('page')
    relay.tick(100)
    expect(relay.nextTickAt()).toBe(100 + 250)
    expect(sent(relay.tick(350), 'pt.gossip')[0]!.msg).toMatchObject({ o: 'relay', payload: STABLE_ROOT_ROUNDS + 1, b: 1 })
    // it follows another stable root without claiming
    const other = mk({ self: 'relay2', rootClass: 'stable' })
    other.onMessage('a', beacon('~1', 'relay', STABLE_ROOT_ROUNDS + 1), 100)
    other.tick(100)
    expect(other.nextTickAt()).toBe(100 + 3.5 * T + 1)
  })

  it('a root beaconing faster than half a period is not forwarded; a late copy of an earlier round still is', () => {
    const pt = mk()
    pt.onMessage('a', beacon('~1', 'root', 5), 0)
    expect(sent(pt.onMessage('a', beacon('~2', 'root', 6), 400), 'pt.gossip')).toEqual([])
    expect(pt.drops['beacon-rate']).toBe(1)
    expect(sent(pt.onMessage('b', beacon('~0', 'root', 4), 450), 'pt.gossip')).toHaveLength(2)
    expect(sent(pt.onMessage('a', beacon('~3', 'root', 6), 1000), 'pt.gossip')).toHaveLength(2)
  })

  it('malformed beacons are counted and ignored', () => {
    const pt = mk()
    const bad: unknown[] = [
      { ...beacon('~1', 'root', 1), b: 2 },
      { ...beacon('~2', 'root', 1), payload: 'x' },
      { ...beacon('~3', 'root', 1), payload: 0 },
      { t: 'pt.gossip', id: '~4', hops: 1, limit: 32, payload: 1, b: 1 } // no origin
    ]
    for (const m of bad) expect(pt.onMessage('a', m, 0).actions).toEqual([])
    expect(pt.drops.malformed).toBe(4)
    expect(pt.rootPeer(0)).toBeUndefined()
  })

  it('lostStableRoot: a node that followed a relay\'s beacons doubts its component after two silent periods, for 20 periods; its label is then LOST_ROOT_LABEL', () => {
    const pt = mk({ rootClass: 'transient' })
    // never heard a stable root: no doubt at any time, the label is the root it follows
    expect(pt.lostStableRoot(0)).toBe(false)
    pt.onMessage('a', beacon('~1', 'page', 9), 100)
    expect(pt.lostStableRoot(100 + 10 * T)).toBe(false)
    expect(pt.componentLabel(100)).toBe('page')
    // the relay's beacon outranks it; its next ones keep the doubt away
    pt.onMessage('b', beacon('~2', 'relay', STABLE_ROOT_ROUNDS + 1), 1000)
    pt.onMessage('b', beacon('~3', 'relay', STABLE_ROOT_ROUNDS + 2), 2000)
    expect(pt.componentLabel(2000)).toBe('relay')
    expect(pt.lostStableRoot(2000 + 2 * T)).toBe(false)
    // two periods without one: lost, and the label is no peer's (the stale root is still "fresh")
    expect(pt.lostStableRoot(2001 + 2 * T)).toBe(true)
    expect(pt.rootPeer(2001 + 2 * T)).toBe('relay')
    expect(pt.componentLabel(2001 + 2 * T)).toBe(LOST_ROOT_LABEL)
    // a page root that takes over does not end it: the relay's component is elsewhere
    pt.onMessage('c', beacon('~4', 'page2', 3), 2000 + 8 * T)
    expect(pt.rootPeer(2000 + 8 * T)).toBe('page2')
    expect(pt.componentLabel(2000 + 8 * T)).toBe(LOST_ROOT_LABEL)
    // 20 periods on, a relay that stays gone ends the doubt
    expect(pt.lostStableRoot(2000 + 20 * T)).toBe(true)
    expect(pt.lostStableRoot(2001 + 20 * T)).toBe(false)
    expect(pt.componentLabel(2001 + 20 * T)).not.toBe(LOST_ROOT_LABEL)
    // a relay beacon heard again ends it at once
    const back = mk({ rootClass: 'transient' })
    back.onMessage('a', beacon('~1', 'relay', STABLE_ROOT_ROUNDS + 1), 0)
    expect(back.lostStableRoot(5 * T)).toBe(true)
    back.onMessage('a', beacon('~2', 'relay', STABLE_ROOT_ROUNDS + 2), 5 * T)
    expect(back.lostStableRoot(5 * T)).toBe(false)
    expect(back.componentLabel(5 * T)).toBe('relay')
    // the relay itself, beaconing, never doubts; nor does a node with the root off
    const relay = mk({ self: 'relay', rootClass: 'stable' })
    relay.tick(0)
    relay.tick(1500)
    for (let t = 2500; t <= 30 * T; t += T) relay.tick(t)
    expect(relay.lostStableRoot(30 * T)).toBe(false)
    const off = mk({ rootIntervalMs: 0 })
    off.onMessage('a', beacon('~1', 'relay', STABLE_ROOT_ROUNDS + 1), 0)
    expect(off.lostStableRoot(5 * T)).toBe(false)
  })
})

describe('Plumtree root beacons: the shared tree', () => {
  it('with a root, only the root\'s duplicates prune the shared tree; others are counted and leave it', () => {
    const pt = mk()
    pt.onMessage('a', beacon('~1', 'root', 3), 0)
    pt.onMessage('a', gossip('m1', 'x'), 10)
    const dup = pt.onMessage('b', gossip('m1', 'x'), 20)
    expect(dup.duplicate).toEqual({ id: 'm1', from: 'b' })
    expect(sent(dup, 'pt.prune')).toEqual([])
    expect(pt.eagerPeers().sort()).toEqual(['a', 'b', 'c'])
    const rdup = pt.onMessage('b', beacon('~1', 'root', 3), 30)
    expect(rdup.duplicate).toBeUndefined()
    expect(rdup.actions).toEqual([{ type: 'send', to: 'b', msg: { t: 'pt.prune' } }])
    expect(pt.lazyPeers()).toEqual(['b'])
  })

  it('an IHAVE with a shorter path to the root re-parents the shared tree with plain GRAFT and PRUNE', () => {
    const pt = mk()
    pt.onMessage('a', beacon('~1', 'root', 3, 5), 0)
    const r = pt.onMessage('c', { t: 'pt.ihave', ids: [{ id: '~1', hops: 2 }] }, 100)
    expect(r.actions).toEqual([
      { type: 'send', to: 'c', msg: { t: 'pt.graft', ids: [] } },
      { type: 'send', to: 'a', msg: { t: 'pt.prune' } }
    ])
    expect(pt.lazyPeers()).toEqual(['a'])
  })

  it('a node on the tree of a live root takes a new link as lazy; without a root or a tree, as eager', () => {
    const pt = mk({}, ['a'])
    pt.neighborUp('b')
    expect(pt.eagerPeers().sort()).toEqual(['a', 'b']) // no root yet
    pt.onMessage('a', beacon('~1', 'root', 3, 4), 0)
    pt.neighborUp('c')
    expect(pt.lazyPeers()).toEqual(['c'])
    // the beacon's IHAVE over the new link shows a shorter way to the root: it becomes the parent
    expect(pt.onMessage('c', { t: 'pt.ihave', ids: [{ id: '~1', hops: 2 }] }, 10).actions).toEqual([
      { type: 'send', to: 'c', msg: { t: 'pt.graft', ids: [] } },
      { type: 'send', to: 'a', msg: { t: 'pt.prune' } }
    ])
    expect(pt.eagerPeers().sort()).toEqual(['b', 'c'])
    const lonely = mk({}, [])
    lonely.onMessage('x', beacon('~2', 'root', 3), 0) // not a neighbour: followed, but no tree
    lonely.neighborUp('d')
    expect(lonely.eagerPeers()).toEqual(['d'])
  })

  it('a beacon\'s first copy over a link held lazy makes that link eager (the sender holds it eager); another origin\'s does not', () => {
    const pt = mk()
    pt.onMessage('a', beacon('~1', 'root', 3), 0)
    pt.onMessage('b', beacon('~1', 'root', 3), 5) // duplicate: b pruned to lazy
    expect(pt.lazyPeers()).toEqual(['b'])
    pt.onMessage('b', gossip('m1', 'x'), 100)
    expect(pt.lazyPeers()).toEqual(['b'])
    pt.onMessage('b', beacon('~2', 'root', 4), 10_000)
    expect(pt.lazyPeers()).toEqual([])
  })

  it('a GRAFT for a beacon is answered with the beacon, still marked', () => {
    const pt = mk()
    pt.onMessage('a', beacon('~1', 'root', 3), 0)
    const r = pt.onMessage('b', { t: 'pt.graft', ids: ['~1'] }, 10)
    expect(r.actions).toEqual([{ type: 'send', to: 'b', msg: beacon('~1', 'root', 3, 2) }])
  })
})

describe('Plumtree root beacons over 100 nodes', () => {
  const N = 100
  const ids = Array.from({ length: N }, (_, i) => `p${String(i).padStart(2, '0')}`)
  const build = (seed: number): BcNet<PlumtreeMsg> => {
    const random = seededRandom(seed)
    const net = new BcNet<PlumtreeMsg>(ids, (id) => new Plumtree({ self: id, rootIntervalMs: T, random: random.float }))
    ringWithChords(net, seededRandom(11), 2)
    return net
  }
  const roots = (net: BcNet<PlumtreeMsg>): Set<string | undefined> => new Set(ids.map((id) => (net.node(id) as Plumtree).rootPeer(net.now)))

  it('elects one root, whose tree settles to shortest paths and carries one-off origins at n − 1 messages and at most twice its depth in hops', () => {
    const net = build(3)
    // claimants within one step beacon concurrently and prune each other's tree, which IHAVE and
    // GRAFT repair and the winner's later beacons straighten out
    net.runFor(8 * T)
    const elected = roots(net)
    expect(elected.size).toBe(1)
    const root = [...elected][0]!
    expect(root).toBeDefined()
    const depth = Math.max(...net.distances(root).values())
    expect(treeDepth(net, root)).toBe(depth)

    const random = seededRandom(9)
    const costs: number[] = []
    let maxHops = 0
    for (let i = 0; i < 30; i++) {
      net.resetCounts()
      const id = `m${i}`
      net.send(pick(random, ids)!, id)
      expect(net.reached(id)).toBe(N - 1)
      costs.push(net.sent['pt.gossip'] ?? 0)
      maxHops = Math.max(maxHops, net.maxHops.get(id)!)
      net.runFor(200)
    }
    expect(costs.every((c) => c === N - 1)).toBe(true)
    expect(maxHops).toBeLessThanOrEqual(2 * depth)
  })

  it('when the root goes, one new root is elected and one-off origins still reach everyone at n − 2', () => {
    const net = build(4)
    net.runFor(4 * T)
    const old = [...roots(net)][0]!
    for (const b of net.neighbors(old)) net.cut(old, b)
    net.runFor(7 * T)
    const after = new Set(ids.filter((id) => id !== old).map((id) => (net.node(id) as Plumtree).rootPeer(net.now)))
    expect(after.size).toBe(1)
    expect([...after][0]).not.toBe(old)
    expect([...after][0]).toBeDefined()
    const random = seededRandom(10)
    for (let i = 0; i < 10; i++) {
      const origin = pick(random, ids.filter((id) => id !== old))!
      net.resetCounts()
      net.send(origin, `k${i}`)
      net.runFor(2 * T) // repairs, if the tree was still settling, go by IHAVE and GRAFT
      expect(net.reached(`k${i}`)).toBe(N - 2)
    }
  })

  it('when every link of the root closes, its neighbours elect a new root within two periods and every broadcast after the kill reaches every survivor', () => {
    const net = build(6)
    net.runFor(4 * T)
    const old = [...roots(net)][0]!
    expect(old).toBeDefined()
    for (const b of net.neighbors(old)) net.cut(old, b)
    const survivors = ids.filter((id) => id !== old)
    const random = seededRandom(12)
    let elected: number | undefined
    for (let i = 0; i < 25; i++) {
      const origin = pick(random, survivors)!
      net.send(origin, `f${i}`)
      net.runFor(T / 10)
      const after = new Set(survivors.map((id) => (net.node(id) as Plumtree).rootPeer(net.now)))
      if (elected === undefined && after.size === 1 && [...after][0] !== undefined && [...after][0] !== old) elected = net.now
    }
    net.runFor(2 * T) // GRAFT repairs of the last ones
    for (let i = 0; i < 25; i++) expect(net.reached(`f${i}`)).toBe(N - 2)
    // the old rule: 3.5 periods of silence, then one to two periods of claim jitter
    expect(elected).toBeDefined()
    expect(elected! - (net.now - 2 * T - 2.5 * T)).toBeLessThanOrEqual(2 * T + 100)
  })

  it('two halves with a root each agree on one root once joined', () => {
    const net = build(5)
    const left = new Set(ids.slice(0, N / 2))
    for (const k of [...net.edges]) {
      const [a, b] = k.split('|') as [string, string]
      if (left.has(a) !== left.has(b)) net.cut(a, b)
    }
    // both halves stay connected: ring edges inside each half remain except the two crossings
    net.connect(ids[0]!, ids[N / 2 - 1]!)
    net.connect(ids[N / 2]!, ids[N - 1]!)
    net.runFor(4 * T)
    const l = new Set(ids.slice(0, N / 2).map((id) => (net.node(id) as Plumtree).rootPeer(net.now)))
    const r = new Set(ids.slice(N / 2).map((id) => (net.node(id) as Plumtree).rootPeer(net.now)))
    expect(l.size).toBe(1)
    expect(r.size).toBe(1)
    expect([...l][0]).not.toBe([...r][0])
    net.connect(ids[0]!, ids[N / 2]!)
    net.runFor(3 * T)
    expect(roots(net).size).toBe(1)
  })
})

function treeDepth (net: BcNet<PlumtreeMsg>, root: string): number {
  const dist = new Map([[root, 0]])
  const queue = [root]
  for (let i = 0; i < queue.length; i++) {
    const a = queue[i]!
    for (const b of (net.node(a) as Plumtree).eagerPeers()) if (!dist.has(b)) { dist.set(b, dist.get(a)! + 1); queue.push(b) }
  }
  return Math.max(...dist.values())
}
