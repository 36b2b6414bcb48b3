import { describe, expect, it } from 'vitest'
import type { PlumtreeMsg, PlumtreeOptions } from '../../src/overlay/index.js'
import { Flood, Plumtree } from '../../src/overlay/index.js'

/**
 * Issue 19: no broadcast is given up while a neighbour may still have it. Once the GRAFTs to the
 * announcers are exhausted, a missing message is pulled from the other neighbours (links that
 * came up after it passed never announce it), then asked for again in later rounds, until it
 * has aged out of the payload stores that could answer; only then is it counted lost.
 */
function mk (opts: Partial<PlumtreeOptions> = {}, neighbors = ['a', 'b', 'c']): Plumtree {
  const pt = new Plumtree({ self: 'me', rootIntervalMs: 0, ...opts })
  for (const n of neighbors) pt.neighborUp(n)
  return pt
}

const gossip = (id: string, hops = 1, limit = 10): PlumtreeMsg => ({ t: 'pt.gossip', id, hops, limit, payload: 'x' })
const grafts = (r: { actions: Array<{ to: string, msg: PlumtreeMsg }> }): Array<[string, string[]]> =>
  r.actions.filter((a) => a.msg.t === 'pt.graft').map((a) => [a.to, (a.msg as Extract<PlumtreeMsg, { t: 'pt.graft' }>).ids])

describe('Plumtree: a missing message is pulled until no neighbour can have it', () => {
  it('asks a neighbour that never announced it once the announcers are exhausted', () => {
    const pt = mk()
    pt.onMessage('a', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    expect(grafts(pt.tick(500))).toEqual([['a', ['m']]])
    // a does not answer (its link is going, or it forgot): b has it but never said so
    expect(grafts(pt.tick(1000))).toEqual([['b', ['m']]])
    expect(pt.drops['graft-exhausted']).toBeUndefined()
    expect(pt.onMessage('b', gossip('m', 3), 1100).deliver?.id).toBe('m')
    expect(grafts(pt.tick(1500))).toEqual([])
    expect(pt.nextTickAt()).toBeUndefined()
  })

  it('asks a neighbour whose link came up after the message passed', () => {
    const pt = mk({}, ['a'])
    pt.onMessage('a', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    expect(grafts(pt.tick(500))).toEqual([['a', ['m']]])
    pt.neighborDown('a')
    pt.neighborUp('d')
    expect(grafts(pt.tick(1000))).toEqual([['d', ['m']]])
    expect(pt.drops['graft-exhausted']).toBeUndefined()
  })

  it('waits with no neighbour at all, and asks the next one that comes', () => {
    const pt = mk({}, ['a'])
    pt.onMessage('a', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    expect(grafts(pt.tick(500))).toEqual([['a', ['m']]])
    pt.neighborDown('a')
    expect(grafts(pt.tick(1000))).toEqual([])
    pt.neighborUp('e')
    expect(grafts(pt.tick(pt.nextTickAt()!))).toEqual([['e', ['m']]])
  })

  it('asks again in later rounds, and counts it lost only when it aged out of the payload stores', () => {
    const pt = mk({ storeMaxAgeMs: 2000 }, ['a'])
    pt.onMessage('a', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    expect(grafts(pt.tick(500))).toEqual([['a', ['m']]])
    // the first GRAFT was lost: a is asked again a round later
    expect(grafts(pt.tick(1000))).toEqual([['a', ['m']]])
    expect(grafts(pt.tick(1500))).toEqual([['a', ['m']]])
    expect(pt.drops['graft-exhausted']).toBeUndefined()
    // the announcer kept it at most storeMaxAgeMs: nobody can answer any more
    expect(grafts(pt.tick(2000))).toEqual([])
    expect(pt.drops['graft-exhausted']).toBe(1)
    expect(pt.nextTickAt()).toBeUndefined()
  })

  it('the pull is bounded: at most one GRAFT per graftTimeoutMs for a missing message', () => {
    const pt = mk({ storeMaxAgeMs: 10_000 })
    pt.onMessage('a', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    let sent = 0
    for (let t = 0; t <= 12_000; t += 50) sent += grafts(pt.tick(t)).length
    // asked from 500 ms to 9.5 s, every 500 ms
    expect(sent).toBe(19)
    expect(pt.drops['graft-exhausted']).toBe(1)
  })

  it('two Plumtrees: the pull reaches the neighbour that holds it', () => {
    const holder = new Plumtree({ self: 'h', rootIntervalMs: 0 })
    holder.neighborUp('x')
    holder.broadcast('m', 'x', 5, 0)
    const me = mk({}, ['a'])
    me.onMessage('a', { t: 'pt.ihave', ids: [{ id: 'm', hops: 2 }] }, 0)
    me.tick(500) // GRAFT to a, which never answers
    me.neighborDown('a')
    me.neighborUp('h')
    holder.neighborUp('me')
    const pull = me.tick(1000).actions.filter((a) => a.msg.t === 'pt.graft')
    expect(pull.map((a) => a.to)).toEqual(['h'])
    const answer = holder.onMessage('me', pull[0]!.msg, 1010).actions
    expect(answer.map((a) => [a.to, a.msg.t])).toEqual([['me', 'pt.gossip']])
    expect(me.onMessage('h', answer[0]!.msg, 1020).deliver?.id).toBe('m')
  })
})

describe('Plumtree and flood: a new neighbour catches up on what passed just before its link', () => {
  const ihaves = (r: { actions: Array<{ to: string, msg: PlumtreeMsg }> }): Array<[string, unknown]> =>
    r.actions.filter((a) => a.msg.t === 'pt.ihave').map((a) => [a.to, a.msg])

  it('tells a new neighbour the recent ids once (c: 1) with their ages, newest last, without beacons or spent hop limits', () => {
    const pt = mk({ catchUpMs: 3000, maxBatchIds: 2 }, ['a'])
    pt.broadcast('old', 'x', 10, 0)
    pt.onMessage('a', gossip('m1', 2), 5000)
    pt.onMessage('a', gossip('spent', 10, 10), 5100)
    pt.broadcast('m2', 'x', 10, 5200)
    pt.broadcast('m3', 'x', 10, 5300)
    pt.tick(5300)
    pt.neighborUp('n', 5300)
    // what comes after the link went up travels as usual, not in the catch-up
    pt.broadcast('later', 'x', 10, 5350)
    // two of them (maxBatchIds): the newest of each origin (m1's, this node's), oldest first
    expect(ihaves(pt.tick(5400)).filter(([to]) => to === 'n')).toEqual([['n', { t: 'pt.ihave', ids: [{ id: 'm1', hops: 3, a: 400 }, { id: 'm3', hops: 1, a: 100 }], c: 1 }]])
    expect(ihaves(pt.tick(6000)).filter(([to]) => to === 'n')).toEqual([])
  })

  it('a catch-up over maxBatchIds takes the newest of every origin in turn: a flooding origin does not crowd out the others', () => {
    const pt = mk({ catchUpMs: 10_000, maxBatchIds: 4 }, ['a'])
    const from = (origin: string, id: string, now: number): void => { pt.onMessage('a', { ...gossip(id, 1), o: origin } as PlumtreeMsg, now) }
    from('honest1', 'h1', 100)
    from('honest2', 'g1', 150)
    for (let i = 0; i < 20; i++) from('flooder', `f${i}`, 200 + i)
    from('honest1', 'h2', 300)
    pt.tick(300)
    pt.neighborUp('n', 300)
    const sent = ihaves(pt.tick(400)).filter(([to]) => to === 'n').map(([, m]) => (m as { ids: Array<{ id: string }> }).ids.map(x => x.id))
    // the newest of each origin in turn (h2, f19, g1, then h1), in the order they were heard
    expect(sent).toEqual([['h1', 'g1', 'f19', 'h2']])
  })

  it('the receiver GRAFTs at once what it lacks and its neighbour saw since it joined, and is never re-parented by a catch-up', () => {
    // a late joiner: its first link comes at 1000
    const pt = mk({}, [])
    pt.neighborUp('a', 1000)
    pt.onMessage('a', gossip('seen', 5), 1000)
    pt.neighborUp('b', 1000)
    // 40 ms after it joined: b saw 'new' 30 ms ago, 'older' 500 ms ago (before the node was here)
    const r = pt.onMessage('b', { t: 'pt.ihave', ids: [{ id: 'seen', hops: 1, a: 30 }, { id: 'new', hops: 1, a: 30 }, { id: 'older', hops: 1, a: 500 }], c: 1 }, 1040)
    expect(r.actions).toEqual([])
    expect(pt.nextTickAt()).toBe(1040)
    expect(grafts(pt.tick(1040))).toEqual([['b', ['new']]])
    expect(pt.drops.optimized).toBeUndefined()
    expect(pt.drops['catch-up-before-join']).toBe(1)
    // a catch-up without ages, or a malformed marker, is refused
    pt.onMessage('b', { t: 'pt.ihave', ids: [{ id: 'x', hops: 1 }], c: 1 }, 1050)
    pt.onMessage('b', { t: 'pt.ihave', ids: [], c: 2 } as unknown as PlumtreeMsg, 1050)
    expect(pt.drops.malformed).toBe(2)
  })

  it('a member that lost its only link gets, from the next one, what was said while it was alone (a page behind one relay after a failure-detector verdict)', () => {
    const pt = mk({}, [])
    pt.neighborUp('relay', 0)
    pt.onMessage('relay', gossip('before', 1), 1000)
    pt.neighborDown('relay')
    // alone from 4000 to 8000; the relay (linked again) saw 'gap' at 5000 and 'before' long ago
    pt.neighborUp('relay', 8000)
    pt.onMessage('relay', { t: 'pt.ihave', ids: [{ id: 'before', hops: 1, a: 7000 }, { id: 'gap', hops: 1, a: 3000 }], c: 1 }, 8000)
    expect(grafts(pt.tick(8000))).toEqual([['relay', ['gap']]])
    expect(pt.drops['catch-up-before-join']).toBeUndefined()
    // the default window covers such a gap: the payload store's age (10 s)
    expect(mk().catchUpMs).toBe(10_000)
  })

  it('catchUpMs 0 turns it off; a neighbour that leaves before the tick gets nothing', () => {
    const off = mk({ catchUpMs: 0 }, [])
    off.broadcast('m', 'x', 10, 0)
    off.neighborUp('n')
    expect(ihaves(off.tick(10))).toEqual([])
    const gone = mk({}, [])
    gone.broadcast('m', 'x', 10, 0)
    gone.neighborUp('n')
    gone.neighborDown('n')
    expect(ihaves(gone.tick(10))).toEqual([])
  })

  it('flood pushes the recent messages again to a new neighbour, once, within its window and bound', () => {
    const fl = new Flood({ self: 'me', catchUpMs: 3000, catchUpMaxMessages: 2 })
    fl.neighborUp('a')
    fl.broadcast('old', 'x', 10, 0)
    fl.onMessage('a', { t: 'fl.gossip', id: 'm1', hops: 2, limit: 10, payload: 'y' }, 5000)
    fl.onMessage('a', { t: 'fl.gossip', id: 'spent', hops: 10, limit: 10, payload: 'y' }, 5050)
    fl.broadcast('m2', 'z', 10, 5100)
    fl.neighborUp('n', 5100)
    fl.broadcast('later', 'x', 10, 5150)
    expect(fl.nextTickAt()).toBe(5150)
    const sent = fl.tick(5200).actions.map((a) => [a.to, a.msg.id, a.msg.hops, a.msg.a])
    expect(sent).toEqual([['n', 'm1', 3, 200], ['n', 'm2', 1, 100]])
    expect(fl.tick(5300).actions).toEqual([])
    expect(fl.nextTickAt()).toBeUndefined()
  })
})

describe('flood: a catch-up push is kept only when it is news since the node joined', () => {
  it('delivers what the neighbour saw after this node had its first link, and skips older news', () => {
    const fl = new Flood({ self: 'me' })
    fl.neighborUp('n', 1000)
    const push = (id: string, a: number, now: number): ReturnType<Flood['onMessage']> => fl.onMessage('n', { t: 'fl.gossip', id, hops: 1, limit: 10, payload: id, a }, now)
    expect(push('fresh', 20, 1040).deliver?.id).toBe('fresh')
    expect(push('old', 500, 1040).deliver).toBeUndefined()
    expect(fl.drops['catch-up-before-join']).toBe(1)
    expect(push('fresh', 20, 1041).deliver).toBeUndefined()
    expect(fl.onMessage('n', { t: 'fl.gossip', id: 'bad', hops: 1, limit: 10, payload: 1, a: -1 }, 1042).deliver).toBeUndefined()
    expect(fl.drops.malformed).toBe(1)
    // it lost its only link at 2000 and links again at 4000: the message of 3000 is its due
    fl.neighborDown('n')
    fl.neighborUp('m', 4000)
    expect(fl.onMessage('m', { t: 'fl.gossip', id: 'gap', hops: 1, limit: 10, payload: 1, a: 1000 }, 4000).deliver?.id).toBe('gap')
  })
})
