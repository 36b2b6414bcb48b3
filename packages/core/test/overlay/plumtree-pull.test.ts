import { describe, expect, it } from 'vitest'
import type { PlumtreeMsg, PlumtreeOptions } from '../../src/overlay/index.js'
import { Plumtree } from '../../src/overlay/index.js'

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
