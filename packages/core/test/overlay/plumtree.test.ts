import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/util/clock.js'
import type { PlumtreeMsg, PlumtreeOptions } from '../../src/overlay/index.js'
import { Flood, Plumtree } from '../../src/overlay/index.js'
import { pick } from '../../src/overlay/sample.js'
import { BcNet, ringWithChords } from './bc-harness.js'

function mk (opts: Partial<PlumtreeOptions> = {}, neighbors = ['a', 'b', 'c']): Plumtree {
  const pt = new Plumtree({ self: 'me', rootIntervalMs: 0, ...opts })
  for (const n of neighbors) pt.neighborUp(n)
  return pt
}

const gossip = (id: string, hops = 1, limit = 10, payload: unknown = 'x'): PlumtreeMsg => ({ t: 'pt.gossip', id, hops, limit, payload })
const to = (r: { actions: Array<{ to: string, msg: PlumtreeMsg }> }, t?: PlumtreeMsg['t']): string[] =>
  r.actions.filter((a) => t === undefined || a.msg.t === t).map((a) => a.to)

describe('Plumtree: eager push and pruning', () => {
  it('delivers a new gossip and pushes it to the other eager peers', () => {
    const pt = mk()
    const r = pt.onMessage('a', gossip('m1', 1, 10, { hello: 1 }), 0)
    expect(r.deliver).toEqual({ id: 'm1', payload: { hello: 1 }, hops: 1, from: 'a' })
    expect(r.actions).toEqual([
      { type: 'send', to: 'b', msg: gossip('m1', 2, 10, { hello: 1 }) },
      { type: 'send', to: 'c', msg: gossip('m1', 2, 10, { hello: 1 }) }
    ])
  })

  it('a duplicate prunes its sender to lazy, which then only gets IHAVEs after lazyDelayMs', () => {
    const pt = mk()
    pt.onMessage('a', gossip('m1'), 0)
    const dup = pt.onMessage('b', gossip('m1'), 1)
    expect(dup.deliver).toBeUndefined()
    expect(dup.actions).toEqual([{ type: 'send', to: 'b', msg: { t: 'pt.prune' } }])
    expect(pt.lazyPeers()).toEqual(['b'])
    expect(pt.drops.duplicate).toBe(1)

    const r = pt.onMessage('a', gossip('m2'), 1000)
    expect(to(r)).toEqual(['c'])
    expect(pt.tick(1099).actions).toEqual([])
    expect(pt.nextTickAt()).toBe(1100)
    expect(pt.tick(1100).actions).toEqual([{ type: 'send', to: 'b', msg: { t: 'pt.ihave', ids: [{ id: 'm2', hops: 2 }] } }])
    expect(pt.nextTickAt()).toBeUndefined()
  })

  it('PRUNE from a neighbour makes it lazy', () => {
    const pt = mk()
    pt.onMessage('c', { t: 'pt.prune' }, 0)
    expect(pt.eagerPeers()).toEqual(['a', 'b'])
    expect(pt.lazyPeers()).toEqual(['c'])
    const r = pt.broadcast('m', 'p', 5, 0)
    expect(to(r)).toEqual(['a', 'b'])
  })

  it('IHAVEs are batched per lazy peer', () => {
    const pt = mk({ maxBatchIds: 2 })
    pt.onMessage('c', { t: 'pt.prune' }, 0)
    for (let i = 0; i < 5; i++) pt.broadcast(`m${i}`, i, 5, i)
    const ihaves = pt.tick(200).actions
    expect(ihaves.map((a) => (a.msg as Extract<PlumtreeMsg, { t: 'pt.ihave' }>).ids.map((e) => e.id))).toEqual([['m0', 'm1'], ['m2', 'm3'], ['m4']])
    expect(to({ actions: ihaves })).toEqual(['c', 'c', 'c'])
  })
})

describe('Plumtree: IHAVE and GRAFT', () => {
  it('grafts the first announcer after graftTimeoutMs, then the next one', () => {
    const pt = mk()
    pt.onMessage('a', { t: 'pt.prune' }, 0)
    pt.onMessage('b', { t: 'pt.prune' }, 0)
    pt.onMessage('a', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    pt.onMessage('b', { t: 'pt.ihave', ids: [{ id: 'm', hops: 3 }] }, 10)
    pt.onMessage('a', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 20)
    expect(pt.tick(499).actions).toEqual([])
    expect(pt.tick(500).actions).toEqual([{ type: 'send', to: 'a', msg: { t: 'pt.graft', ids: ['m'] } }])
    expect(pt.eagerPeers()).toContain('a')
    expect(pt.tick(999).actions).toEqual([])
    expect(pt.tick(1000).actions).toEqual([{ type: 'send', to: 'b', msg: { t: 'pt.graft', ids: ['m'] } }])
    // every announcer tried: a neighbour that never announced it is asked next, and the message
    // is counted lost only once it aged out of the payload stores (plumtree-pull.test.ts)
    expect(to(pt.tick(1500), 'pt.graft')).toEqual(['c'])
    expect(pt.drops['graft-exhausted']).toBeUndefined()
  })

  it('an eager copy arriving in time cancels the graft', () => {
    const pt = mk()
    pt.onMessage('b', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    expect(pt.onMessage('a', gossip('m'), 300).deliver?.id).toBe('m')
    expect(to(pt.tick(1000), 'pt.graft')).toEqual([])
    // IHAVEs for what we have are ignored
    pt.onMessage('c', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 1000)
    expect(pt.nextTickAt()).toBeUndefined()
  })

  it('an announcer that goes away is not grafted', () => {
    const pt = mk()
    pt.onMessage('a', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    pt.onMessage('b', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    pt.neighborDown('a')
    expect(pt.tick(500).actions).toEqual([{ type: 'send', to: 'b', msg: { t: 'pt.graft', ids: ['m'] } }])
  })

  it('answers a GRAFT from the payload store and makes the asker eager', () => {
    const pt = mk()
    pt.onMessage('a', { t: 'pt.prune' }, 0)
    pt.broadcast('m', { big: true }, 3, 0)
    const r = pt.onMessage('a', { t: 'pt.graft', ids: ['m', 'unknown'] }, 10)
    expect(r.actions).toEqual([{ type: 'send', to: 'a', msg: { ...gossip('m', 1, 3, { big: true }), o: 'me' } }])
    expect(pt.eagerPeers()).toContain('a')
    expect(pt.drops['graft-miss']).toBe(1)
    // strangers cannot pull payloads
    expect(pt.onMessage('z', { t: 'pt.graft', ids: ['m'] }, 10).actions).toEqual([])
    expect(pt.drops['not-neighbor']).toBe(1)
  })

  it('the payload store is bounded by count and by age', () => {
    const pt = mk({ storeMaxEntries: 2, storeMaxAgeMs: 1000 })
    for (const id of ['m1', 'm2', 'm3']) pt.broadcast(id, id, 5, 0)
    expect(to(pt.onMessage('a', { t: 'pt.graft', ids: ['m1', 'm2', 'm3'] }, 1))).toEqual(['a', 'a'])
    expect(pt.drops['graft-miss']).toBe(1)
    expect(to(pt.onMessage('a', { t: 'pt.graft', ids: ['m2', 'm3'] }, 1000))).toEqual([])
    expect(pt.drops['graft-miss']).toBe(3)
  })

  it('the payload store is bounded by bytes, counting sent and received frames', () => {
    const pt = mk({ storeMaxBytes: 250 })
    pt.broadcast('m1', 'x', 5, 0, 100)
    pt.onMessage('b', gossip('m2', 1, 5), 0, 100)
    expect(to(pt.onMessage('a', { t: 'pt.graft', ids: ['m1', 'm2'] }, 1))).toEqual(['a', 'a'])
    // a third 100-byte frame pushes out the oldest, not the newest
    pt.onMessage('b', gossip('m3', 1, 5), 2, 100)
    expect(to(pt.onMessage('a', { t: 'pt.graft', ids: ['m1', 'm2', 'm3'] }, 3))).toEqual(['a', 'a'])
    expect(pt.drops['graft-miss']).toBe(1)
    // a frame larger than the whole store is not kept, and evicts nothing it cannot replace
    pt.onMessage('b', gossip('m4', 1, 5), 4, 1000)
    expect(to(pt.onMessage('a', { t: 'pt.graft', ids: ['m4'] }, 5))).toEqual([])
  })

  it('defaults keep 10,000 payloads: a node relaying ~1k messages/s can still answer a GRAFT 600 ms later', () => {
    const pt = mk()
    for (let i = 0; i < 10_000; i++) pt.onMessage('b', gossip(`m${i}`, 1, 5), i / 10, 300)
    // 1,000 ms after the last, every one of the last 1,000 is still there
    const ids = Array.from({ length: 256 }, (_, k) => `m${9_000 + k}`)
    expect(to(pt.onMessage('a', { t: 'pt.graft', ids }, 2_000)).length).toBe(256)
    expect(pt.drops['graft-miss']).toBeUndefined()
  })
})

describe('Plumtree: limits and validation', () => {
  it('a gossip at its hop limit is delivered but not forwarded; beyond it, dropped', () => {
    const pt = mk()
    pt.onMessage('c', { t: 'pt.prune' }, 0)
    const atLimit = pt.onMessage('a', gossip('m1', 3, 3), 0)
    expect(atLimit.deliver?.hops).toBe(3)
    expect(atLimit.actions).toEqual([])
    // stopped where other neighbours (c) may lack it: a counted loss, not a silent one
    expect(pt.drops['stopped-at-limit']).toBe(1)
    expect(pt.nextTickAt()).toBeUndefined()
    const beyond = pt.onMessage('a', gossip('m2', 4, 3), 0)
    expect(beyond.deliver).toBeUndefined()
    expect(pt.drops['hop-limit']).toBe(1)
    // a GRAFT cannot push a message past its limit either
    expect(pt.onMessage('b', { t: 'pt.graft', ids: ['m1'] }, 0).actions).toEqual([])
  })

  it('limits above maxHops are lowered, and refused from the application', () => {
    const pt = mk({ maxHops: 4 })
    const r = pt.onMessage('a', gossip('m', 2, 200), 0)
    expect(r.actions[0]?.msg).toEqual(gossip('m', 3, 4))
    expect(() => pt.broadcast('x', 1, 5, 0)).toThrow(TypeError)
    expect(() => pt.broadcast('', 1, 1, 0)).toThrow(TypeError)
    expect(pt.broadcast('y', 1, 0, 0).actions).toEqual([])
  })

  it('a gossip from outside the view is delivered but does not steer the tree', () => {
    const pt = mk()
    pt.onMessage('a', gossip('m'), 0)
    expect(pt.onMessage('stranger', gossip('m'), 0).actions).toEqual([])
    expect(pt.onMessage('stranger', gossip('n'), 0).deliver?.from).toBe('stranger')
    expect(pt.eagerPeers()).toEqual(['a', 'b', 'c'])
  })

  it('ignores and counts malformed messages, never throws', () => {
    const pt = mk()
    const bad: unknown[] = [
      null, 'pt.gossip', [], {}, { t: 1 },
      { t: 'pt.gossip', id: 'm', hops: 0, limit: 5, payload: 1 },
      { t: 'pt.gossip', id: 'm', hops: 1, limit: 5 },
      { t: 'pt.gossip', id: '', hops: 1, limit: 5, payload: 1 },
      { t: 'pt.gossip', id: 'm'.repeat(65), hops: 1, limit: 5, payload: 1 },
      { t: 'pt.gossip', id: 'm', hops: 1, limit: 0, payload: 1 },
      { t: 'pt.gossip', id: 'm', hops: 1.5, limit: 5, payload: 1 },
      { t: 'pt.gossip', id: 'm', hops: 1, limit: 1e9, payload: 1 },
      { t: 'pt.ihave', ids: 'm' }, { t: 'pt.ihave', ids: [{ id: 'm' }] }, { t: 'pt.ihave', ids: [{ id: 'm', hops: -1 }] },
      { t: 'pt.ihave', ids: Array(257).fill({ id: 'm', hops: 1 }) },
      { t: 'pt.graft', ids: [1] }, { t: 'pt.graft' }
    ]
    for (const m of bad) expect(pt.onMessage('a', m, 0)).toEqual({ actions: [] })
    expect(pt.drops.malformed).toBe(bad.length)
    pt.onMessage('a', { t: 'pt.what' }, 0)
    expect(pt.drops['unknown-type']).toBe(1)
    const random = seededRandom(9)
    const junk = (d: number): unknown => {
      const r = random.float()
      if (d > 2 || r < 0.3) return pick(random, [0, 1, 2, -1, 'm', '', true, null, undefined, 1e300, new Uint8Array(1)])
      if (r < 0.5) return Array.from({ length: Math.floor(random.float() * 3) }, () => junk(d + 1))
      const o: Record<string, unknown> = {}
      for (const k of ['t', 'id', 'hops', 'limit', 'payload', 'ids']) {
        if (random.float() < 0.6) o[k] = k === 't' ? pick(random, ['pt.gossip', 'pt.ihave', 'pt.graft', 'pt.prune']) : junk(d + 1)
      }
      return o
    }
    for (let i = 0; i < 5000; i++) {
      expect(() => pt.onMessage(pick(random, ['a', 'b', 'z'])!, junk(0), i)).not.toThrow()
      if (i % 100 === 0) expect(() => pt.tick(i)).not.toThrow()
    }
  })
})

describe('Flood', () => {
  it('forwards every new message to every neighbour but the sender', () => {
    const f = new Flood({ self: 'me' })
    for (const n of ['a', 'b', 'c']) f.neighborUp(n)
    const r = f.onMessage('a', { t: 'fl.gossip', id: 'm', hops: 1, limit: 5, payload: 7 }, 0)
    expect(r.deliver).toEqual({ id: 'm', payload: 7, hops: 1, from: 'a' })
    expect(r.actions.map((a) => a.to)).toEqual(['b', 'c'])
    expect(f.onMessage('b', { t: 'fl.gossip', id: 'm', hops: 1, limit: 5, payload: 7 }, 0)).toEqual({ actions: [], duplicate: { id: 'm', from: 'b' } })
    expect(f.drops.duplicate).toBe(1)
    expect(f.onMessage('a', { t: 'fl.gossip', id: 'n', hops: 5, limit: 5, payload: 7 }, 0).actions).toEqual([])
    expect(f.drops['stopped-at-limit']).toBe(1)
    expect(f.onMessage('a', { t: 'fl.gossip', id: 'o', hops: 6, limit: 5, payload: 7 }, 0).deliver).toBeUndefined()
    expect(f.drops['hop-limit']).toBe(1)
    expect(f.onMessage('a', { t: 'pt.gossip', id: 'p', hops: 1, limit: 5, payload: 7 }, 0).deliver).toBeUndefined()
    expect(f.drops['unknown-type']).toBe(1)
    f.neighborDown('c')
    expect(f.broadcast('q', 1, 1, 0).actions.map((a) => a.to)).toEqual(['a', 'b'])
  })
})

describe('broadcast over small graphs', () => {
  it('a line of 3: reaches the end, and a hop limit of 1 stops after one hop', () => {
    const net = new BcNet(['a', 'b', 'c'], (id) => new Plumtree({ self: id, rootIntervalMs: 0 }))
    net.connect('a', 'b'); net.connect('b', 'c')
    net.broadcast('a', 'm1')
    expect(net.delivered.get('m1')).toEqual(new Map([['b', 1], ['c', 1]]))
    expect(net.sent).toEqual({ 'pt.gossip': 2 })
    net.broadcast('a', 'm2', 1)
    expect([...net.delivered.get('m2')!.keys()]).toEqual(['b'])
  })

  it('a ring: the first broadcast prunes one edge, later ones cost n − 1', () => {
    const ids = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']
    const net = new BcNet(ids, (id) => new Plumtree({ self: id, rootIntervalMs: 0 }))
    for (let i = 0; i < ids.length; i++) net.connect(ids[i]!, ids[(i + 1) % ids.length]!)
    net.broadcast('r0', 'm0')
    expect(net.delivered.get('m0')?.size).toBe(5)
    expect(net.sent['pt.prune']).toBeGreaterThanOrEqual(1)
    for (let i = 1; i <= 6; i++) {
      net.resetCounts()
      net.broadcast(ids[i % 6]!, `m${i}`)
      expect(net.delivered.get(`m${i}`)?.size).toBe(5)
      expect([...net.delivered.get(`m${i}`)!.values()].every((n) => n === 1)).toBe(true)
      expect(net.sent['pt.gossip']).toBe(5)
      expect(net.sent['pt.graft'] ?? 0).toBe(0)
    }

    const flood = new BcNet(ids, (id) => new Flood({ self: id }))
    for (let i = 0; i < ids.length; i++) flood.connect(ids[i]!, ids[(i + 1) % ids.length]!)
    flood.broadcast('r0', 'm')
    expect(flood.delivered.get('m')?.size).toBe(5)
    expect(flood.sent['fl.gossip']).toBe(7)
  })
})

describe('broadcast over 100 nodes', () => {
  const N = 100
  const ids = Array.from({ length: N }, (_, i) => `p${String(i).padStart(2, '0')}`)
  const build = <M extends { t: string }>(make: (id: string) => ReturnType<BcNet<M>['node']>): BcNet<M> => {
    const net = new BcNet<M>(ids, make)
    ringWithChords(net, seededRandom(11), 2)
    return net
  }

  it('Plumtree converges to a spanning tree (≈ n − 1 payload messages) where flooding costs ≈ degree × n, and repairs cut tree edges', () => {
    const random = seededRandom(5)
    const pt = build<PlumtreeMsg>((id) => new Plumtree({ self: id, rootIntervalMs: 0 }))
    const fl = build((id) => new Flood({ self: id }))
    const degree = (2 * pt.edges.size) / N
    expect(pt.isConnected()).toBe(true)

    const ptGossip: number[] = []
    const ptTotal: number[] = []
    const flGossip: number[] = []
    for (let i = 0; i < 20; i++) {
      const origin = pick(random, ids)!
      pt.resetCounts(); fl.resetCounts()
      pt.broadcast(origin, `m${i}`)
      fl.broadcast(origin, `m${i}`)
      expect(pt.reached(`m${i}`)).toBe(N - 1)
      expect(fl.reached(`m${i}`)).toBe(N - 1)
      ptGossip.push(pt.sent['pt.gossip'] ?? 0)
      ptTotal.push(pt.total())
      flGossip.push(fl.sent['fl.gossip'] ?? 0)
    }
    const rmr = (m: number): number => Math.round(100 * (m / (N - 1) - 1)) / 100
    // the tree forms within the first few broadcasts, then each costs exactly n − 1
    expect(ptGossip.slice(5).every((m) => m === N - 1)).toBe(true)
    expect(flGossip.every((m) => m > (degree - 1.5) * N)).toBe(true)
    // no GRAFT was needed on a healthy tree
    expect(pt.node(ids[0]!).drops['graft-exhausted'] ?? 0).toBe(0)

    // cut 10 tree edges that keep the graph connected
    const treeEdges = [...pt.edges].map((k) => k.split('|') as [string, string]).filter(([a, b]) => {
      const na = pt.node(a) as Plumtree
      return na.eagerPeers().includes(b)
    })
    let cut = 0
    const cutEdges: string[] = []
    for (const [a, b] of treeEdges.sort(() => random.float() - 0.5)) {
      if (cut === 10) break
      pt.cut(a, b)
      if (!pt.isConnected()) { pt.connect(a, b); continue }
      cut++
      cutEdges.push(`${a}-${b}`)
    }
    expect(cut).toBe(10)

    const repair: Array<Record<string, number>> = []
    for (let i = 20; i < 30; i++) {
      pt.resetCounts()
      pt.broadcast(pick(random, ids)!, `m${i}`)
      expect(pt.reached(`m${i}`)).toBe(N - 1)
      expect([...pt.delivered.get(`m${i}`)!.values()].every((n) => n === 1)).toBe(true)
      repair.push({ ...pt.sent })
    }
    expect(repair[0]!['pt.graft']).toBeGreaterThan(0)
    expect(repair.slice(5).every((s) => s['pt.gossip'] === N - 1 && s['pt.graft'] === undefined)).toBe(true)

    console.log('[broadcast 100]', JSON.stringify({
      edges: pt.edges.size,
      degree,
      plumtreeGossipPerBroadcast: ptGossip,
      plumtreeAllMsgsPerBroadcast: ptTotal,
      plumtreeRmrAfter5: rmr(ptGossip.slice(5).reduce((a, b) => a + b, 0) / 15),
      floodGossipPerBroadcast: flGossip[0],
      floodRmr: rmr(flGossip.reduce((a, b) => a + b, 0) / flGossip.length),
      afterCutting10TreeEdges: repair
    }))
  })
})

describe('Plumtree: per-origin trees (originTreeAfter, maxOriginTrees, optimizeThreshold)', () => {
  const gossip = (id: string, hops: number, o?: string): Record<string, unknown> =>
    ({ t: 'pt.gossip', id, hops, limit: 10, payload: id, ...(o === undefined ? {} : { o }) })
  const sends = (r: { actions: Array<{ to: string, msg: { t: string } }> }, t: string): string[] =>
    r.actions.filter(a => a.msg.t === t).map(a => a.to).sort()

  it('an IHAVE showing a path ≥ threshold hops shorter re-parents that origin only, once per message', async () => {
    const { Plumtree } = await import('../../src/overlay/plumtree.js')
    const pt = new Plumtree({ self: 'me', rootIntervalMs: 0, optimizeThreshold: 3, originTreeAfter: 1 })
    pt.neighborUp('far'); pt.neighborUp('near'); pt.neighborUp('child')
    // the payload arrives eagerly over a long path (hops 6) from 'far'; 'near' announces it at 2
    pt.onMessage('far', gossip('m1', 6, 'src'), 0)
    const r = pt.onMessage('near', { t: 'pt.ihave', ids: [{ id: 'm1', hops: 2 }] }, 10)
    expect(r.actions).toEqual([
      { type: 'send', to: 'near', msg: { t: 'pt.graft', ids: [], o: 'src' } },
      { type: 'send', to: 'far', msg: { t: 'pt.prune', o: 'src' } }
    ])
    // once per message
    expect(pt.onMessage('near', { t: 'pt.ihave', ids: [{ id: 'm1', hops: 1 }] }, 20).actions).toEqual([])
    // the shared tree is untouched: every link is still eager there
    expect(pt.eagerPeers().sort()).toEqual(['child', 'far', 'near'])
    // src's next message (now from near) is pushed to child only; far gets an IHAVE later
    const next = pt.onMessage('near', gossip('m2', 3, 'src'), 30)
    expect(sends(next, 'pt.gossip')).toEqual(['child'])
    expect(sends(pt.tick(1000), 'pt.ihave')).toEqual(['far'])
    // another origin's message still goes eagerly everywhere
    expect(sends(pt.onMessage('near', gossip('x1', 3, 'other'), 2000), 'pt.gossip')).toEqual(['child', 'far'])
    // a path only 2 hops shorter is not worth a change
    pt.onMessage('near', gossip('m3', 5, 'src'), 3000)
    expect(pt.onMessage('child', { t: 'pt.ihave', ids: [{ id: 'm3', hops: 3 }] }, 3010).actions).toEqual([])
  })

  it('a duplicate from an origin with its own tree prunes that tree, not the shared one', async () => {
    const { Plumtree } = await import('../../src/overlay/plumtree.js')
    const pt = new Plumtree({ self: 'me', rootIntervalMs: 0 })
    pt.neighborUp('a'); pt.neighborUp('b')
    pt.onMessage('a', { t: 'pt.graft', ids: [], o: 'src' }, 0) // gives 'src' a tree of its own
    pt.onMessage('a', gossip('m1', 2, 'src'), 10)
    expect(pt.onMessage('b', gossip('m1', 2, 'src'), 20).actions).toEqual([{ type: 'send', to: 'b', msg: { t: 'pt.prune', o: 'src' } }])
    expect(pt.eagerPeers().sort()).toEqual(['a', 'b'])
    // without a tree of its own, a duplicate prunes the shared tree, as in the paper
    pt.onMessage('a', gossip('n1', 2, 'new'), 30)
    expect(pt.onMessage('b', gossip('n1', 2, 'new'), 40).actions).toEqual([{ type: 'send', to: 'b', msg: { t: 'pt.prune' } }])
    expect(pt.eagerPeers()).toEqual(['a'])
  })

  it('origins that broadcast rarely are never optimised; messages without an origin neither', async () => {
    const { Plumtree } = await import('../../src/overlay/plumtree.js')
    const pt = new Plumtree({ self: 'me', rootIntervalMs: 0 }) // optimizeThreshold 1, originTreeAfter 3
    pt.neighborUp('far'); pt.neighborUp('near')
    for (let i = 0; i < 2; i++) {
      pt.onMessage('far', gossip(`m${i}`, 6, 'src'), i * 10)
      expect(pt.onMessage('near', { t: 'pt.ihave', ids: [{ id: `m${i}`, hops: 2 }] }, i * 10 + 5).actions).toEqual([])
    }
    pt.onMessage('far', gossip('m2', 6, 'src'), 30)
    expect(sends(pt.onMessage('near', { t: 'pt.ihave', ids: [{ id: 'm2', hops: 2 }] }, 35), 'pt.graft')).toEqual(['near'])
    for (let i = 0; i < 5; i++) pt.onMessage('far', gossip(`z${i}`, 6), 100 + i)
    expect(pt.onMessage('near', { t: 'pt.ihave', ids: [{ id: 'z4', hops: 2 }] }, 200).actions).toEqual([])
    // off when the threshold is 0
    const off = new Plumtree({ self: 'me', rootIntervalMs: 0, optimizeThreshold: 0, originTreeAfter: 1 })
    off.neighborUp('far'); off.neighborUp('near')
    off.onMessage('far', gossip('m1', 6, 'src'), 0)
    expect(off.onMessage('near', { t: 'pt.ihave', ids: [{ id: 'm1', hops: 2 }] }, 10).actions).toEqual([])
  })

  it('per-origin trees are bounded (least recently used evicted), forget departed peers and reject malformed origins', async () => {
    const { Plumtree } = await import('../../src/overlay/plumtree.js')
    const pt = new Plumtree({ self: 'me', rootIntervalMs: 0, maxOriginTrees: 2 })
    pt.neighborUp('a'); pt.neighborUp('b')
    for (const o of ['o1', 'o2', 'o3']) pt.onMessage('a', { t: 'pt.prune', o }, 0)
    // o1 was evicted: its messages go eagerly to a again; o3's do not
    expect(sends(pt.onMessage('b', gossip('m1', 1, 'o1'), 1), 'pt.gossip')).toEqual(['a'])
    expect(sends(pt.onMessage('b', gossip('m3', 1, 'o3'), 2), 'pt.gossip')).toEqual([])
    pt.neighborDown('a'); pt.neighborUp('a')
    expect(sends(pt.onMessage('b', gossip('m4', 1, 'o3'), 3), 'pt.gossip')).toEqual(['a'])
    for (const bad of [{ t: 'pt.prune', o: 7 }, { t: 'pt.graft', ids: [], o: '' }, { ...gossip('m5', 1), o: ['x'] }]) {
      expect(pt.onMessage('a', bad, 4).actions).toEqual([])
    }
    expect(pt.drops.malformed).toBe(3)
  })
})

describe('Plumtree: IHAVE batching', () => {
  it('ten messages within one lazy window go to a lazy peer as one IHAVE (the simulator found one per message)', async () => {
    const { Plumtree } = await import('../../src/overlay/plumtree.js')
    const pt = new Plumtree({ self: 'me', rootIntervalMs: 0, lazyDelayMs: 100 })
    pt.neighborUp('lazy')
    pt.onMessage('lazy', { t: 'pt.prune' }, 0)
    for (let i = 0; i < 10; i++) pt.broadcast(`m${i}`, i, 5, i * 10)
    // at 100 ms the oldest entry is due: the whole queue leaves together
    const out = pt.tick(100).actions.filter(a => a.msg.t === 'pt.ihave')
    expect(out).toHaveLength(1)
    expect((out[0]!.msg as { ids: unknown[] }).ids).toHaveLength(10)
    expect(pt.tick(200).actions).toEqual([])
    expect(pt.nextTickAt()).toBeUndefined()
  })
})
