import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/util/clock.js'
import type { HyParViewAction, HyParViewMsg, HyParViewOptions } from '../../src/overlay/index.js'
import { HyParView } from '../../src/overlay/index.js'
import { pick } from '../../src/overlay/sample.js'
import { HvNet } from './hv-harness.js'

const addr = (id: string): string => `mem:${id}`

function mk (self = 'me', extra: Partial<HyParViewOptions> = {}): HyParView {
  return new HyParView({ self, selfAddrs: [addr(self)], random: seededRandom(1), ...extra })
}

/** Makes `peers` active in `hv` as if each had joined through it. */
function withActive (hv: HyParView, peers: string[]): void {
  for (const p of peers) {
    hv.onLinkUp(p, [], 'remote')
    hv.onMessage(p, { t: 'hv.join', addrs: [addr(p)] })
  }
}

const sends = (actions: HyParViewAction[], t?: HyParViewMsg['t']): Array<{ to: string, msg: HyParViewMsg }> =>
  actions.flatMap((a) => a.type === 'send' && (t === undefined || a.msg.t === t) ? [{ to: a.to, msg: a.msg }] : [])
const connects = (actions: HyParViewAction[]): Array<Extract<HyParViewAction, { type: 'connect' }>> =>
  actions.flatMap((a) => a.type === 'connect' ? [a] : [])
const disconnects = (actions: HyParViewAction[]): Array<Extract<HyParViewAction, { type: 'disconnect' }>> =>
  actions.flatMap((a) => a.type === 'disconnect' ? [a] : [])
const changes = (actions: HyParViewAction[]): string[] =>
  actions.flatMap((a) => a.type === 'active' ? [`${a.up ? '+' : '-'}${a.peer}`] : [])

describe('HyParView: joining', () => {
  it('join opens a link to the contact with JOIN and makes it active once the contact acknowledges it', () => {
    const hv = mk()
    expect(hv.join('c', ['mem:c'])).toEqual([{ type: 'connect', peer: 'c', addrs: ['mem:c'], msg: { t: 'hv.join', addrs: ['mem:me'] } }])
    const up = hv.onLinkUp('c', ['mem:c'], 'self')
    // not yet: until the contact has processed the JOIN it would not pass on our broadcasts
    expect(changes(up)).toEqual([])
    expect(hv.activeView().size).toBe(0)
    // a rejoin while the answer is awaited asks again on the same link (the answer may be lost)
    expect(hv.join('c', ['mem:c'])).toEqual([{ type: 'send', to: 'c', msg: { t: 'hv.join', addrs: ['mem:me'] } }])
    const ack = hv.onMessage('c', { t: 'hv.nbr-reply', accepted: true })
    expect(changes(ack)).toEqual(['+c'])
    expect([...hv.activeView()]).toEqual([['c', ['mem:c']]])
    // a refusal of a JOIN is not a contact's to give: counted, the link closed
    const hv2 = mk()
    hv2.join('c', ['mem:c'])
    hv2.onLinkUp('c', ['mem:c'], 'self')
    const refused = hv2.onMessage('c', { t: 'hv.nbr-reply', accepted: false })
    expect(hv2.drops.unexpected).toBe(1)
    expect(refused).toContainEqual({ type: 'disconnect', peer: 'c' })
    expect(() => hv.join('me', [])).toThrow(TypeError)
  })

  it('the contact adds the newcomer and sends FORWARD_JOIN to every other active peer', () => {
    const hv = mk('c')
    withActive(hv, ['p1', 'p2'])
    hv.onLinkUp('n', ['tcp:ephemeral'], 'remote')
    const out = hv.onMessage('n', { t: 'hv.join', addrs: ['mem:n'] })
    expect(changes(out)).toEqual(['+n'])
    expect(sends(out, 'hv.fjoin')).toEqual([
      { to: 'p1', msg: { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 6 } },
      { to: 'p2', msg: { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 6 } }
    ])
    expect(out).toContainEqual({ type: 'learned', peers: [{ id: 'n', addrs: ['mem:n'] }] })
    expect(hv.activeView().get('n')).toEqual(['mem:n'])
    expect(sends(out, 'hv.nbr-reply')).toEqual([{ to: 'n', msg: { t: 'hv.nbr-reply', accepted: true } }])
    // a second JOIN is a duplicate: counted, never forwarded, and answered once per tick (the
    // member lost this node: a link replaced under it, its JOIN waits for an answer)
    const again = hv.onMessage('n', { t: 'hv.join', addrs: ['mem:n'] })
    expect(hv.drops.duplicate).toBe(1)
    expect(again.filter(a => a.type === 'send')).toEqual([{ type: 'send', to: 'n', msg: { t: 'hv.nbr-reply', accepted: true } }])
    // more in the same period make no traffic (a storm of them)
    expect(hv.onMessage('n', { t: 'hv.join', addrs: ['mem:n'] }).filter(a => a.type === 'send')).toEqual([])
    expect(hv.drops.duplicate).toBe(2)
    hv.tick()
    expect(sends(hv.onMessage('n', { t: 'hv.join', addrs: ['mem:n'] }), 'hv.nbr-reply')).toEqual([{ to: 'n', msg: { t: 'hv.nbr-reply', accepted: true } }])
  })

  it('JOINs that cross: each side takes the other in on its JOIN, and the late acknowledgement is expected, not a drop', () => {
    const a = mk('a')
    a.join('b', ['mem:b'])
    a.onLinkUp('b', ['mem:b'], 'self')
    expect(changes(a.onMessage('b', { t: 'hv.join', addrs: ['mem:b'] }))).toEqual(['+b'])
    a.onMessage('b', { t: 'hv.nbr-reply', accepted: true })
    expect(a.drops.unexpected ?? 0).toBe(0)
    // once only: a second one is unsolicited
    a.onMessage('b', { t: 'hv.nbr-reply', accepted: true })
    expect(a.drops.unexpected).toBe(1)
  })

  // found by the relay load bench: 1,000 clients in a relay's view made each join cost ~1,000
  // FORWARD_JOINs (≈ 500k frames for the whole ramp), and the clients, with no address, could
  // not be reached by any of the walks anyway
  it('a JOIN goes on to at most maxForwardJoins random active peers, and not at all for a newcomer without an address', () => {
    const hv = mk('relay', { maxActive: 100, maxForwardJoins: 5 })
    withActive(hv, Array.from({ length: 30 }, (_, i) => `p${i}`))
    hv.onLinkUp('n', [], 'remote')
    const fwd = sends(hv.onMessage('n', { t: 'hv.join', addrs: ['mem:n'] }), 'hv.fjoin')
    expect(fwd).toHaveLength(5)
    expect(new Set(fwd.map(f => f.to)).size).toBe(5)
    expect(fwd.every(f => f.to !== 'n')).toBe(true)
    hv.onLinkUp('browser', [], 'remote')
    const out = hv.onMessage('browser', { t: 'hv.join', addrs: [] })
    expect(changes(out)).toEqual(['+browser'])
    expect(sends(out, 'hv.fjoin')).toEqual([])
  })

  it('FORWARD_JOIN with ttl 0 ends the walk: a high priority NEIGHBOR to the newcomer', () => {
    const hv = mk()
    withActive(hv, ['a', 'b'])
    const out = hv.onMessage('a', { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 0 })
    expect(connects(out)).toEqual([{ type: 'connect', peer: 'n', addrs: ['mem:n'], msg: { t: 'hv.nbr', priority: 'high', addrs: ['mem:me'] } }])
    expect(changes(hv.onLinkUp('n', ['mem:n'], 'self'))).toEqual([])
    expect(changes(hv.onMessage('n', { t: 'hv.nbr-reply', accepted: true }))).toEqual(['+n'])
  })

  it('FORWARD_JOIN is accepted at once by a node with a single active peer', () => {
    const hv = mk()
    withActive(hv, ['a'])
    const out = hv.onMessage('a', { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 5 })
    expect(connects(out).map((c) => c.peer)).toEqual(['n'])
  })

  it('FORWARD_JOIN at ttl == prwl adds to passive and walks on, never back to the sender', () => {
    for (let seed = 0; seed < 20; seed++) {
      const hv = mk('me', { random: seededRandom(seed) })
      withActive(hv, ['a', 'b', 'c'])
      const out = hv.onMessage('a', { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 3 })
      expect(hv.passiveView().get('n')).toEqual(['mem:n'])
      const fwd = sends(out, 'hv.fjoin')
      expect(fwd).toHaveLength(1)
      expect(['b', 'c']).toContain(fwd[0]!.to)
      expect(fwd[0]!.msg).toEqual({ t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 2 })
    }
    const hv = mk()
    withActive(hv, ['a', 'b'])
    hv.onMessage('a', { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 5 })
    expect(hv.passiveView().has('n')).toBe(false)
  })

  it('FORWARD_JOIN only travels over active links and never about self', () => {
    const hv = mk()
    withActive(hv, ['a', 'b'])
    hv.onLinkUp('x', [], 'remote')
    expect(hv.onMessage('x', { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 0 })).toEqual([])
    expect(hv.drops['not-active']).toBe(1)
    expect(connects(hv.onMessage('a', { t: 'hv.fjoin', newId: 'me', newAddrs: ['mem:me'], ttl: 0 }))).toEqual([])
    expect(hv.drops.self).toBe(1)
    // a ttl above ours is clamped, not trusted
    const out = hv.onMessage('a', { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 200 })
    expect(sends(out, 'hv.fjoin')[0]!.msg).toMatchObject({ ttl: 5 })
  })
})

describe('HyParView: NEIGHBOR', () => {
  it('high priority is accepted when full, evicting a random active peer to passive', () => {
    const hv = mk('me', { maxActive: 3, minActive: 1 })
    withActive(hv, ['a', 'b', 'c'])
    hv.onLinkUp('z', [], 'remote')
    const out = hv.onMessage('z', { t: 'hv.nbr', priority: 'high', addrs: ['mem:z'] })
    const [victim] = disconnects(out)
    expect(victim?.msg).toEqual({ t: 'hv.disc' })
    expect(['a', 'b', 'c']).toContain(victim!.peer)
    expect(changes(out)).toEqual([`-${victim!.peer}`, '+z'])
    expect(sends(out, 'hv.nbr-reply')).toEqual([{ to: 'z', msg: { t: 'hv.nbr-reply', accepted: true } }])
    expect(hv.activeView().size).toBe(3)
    expect(hv.passiveView().has(victim!.peer)).toBe(true)
  })

  it('low priority is refused when full: reply, close, and remember the asker as passive', () => {
    const hv = mk('me', { maxActive: 3, minActive: 1 })
    withActive(hv, ['a', 'b', 'c'])
    hv.onLinkUp('z', [], 'remote')
    const out = hv.onMessage('z', { t: 'hv.nbr', priority: 'low', addrs: ['mem:z'] })
    expect(disconnects(out)).toEqual([{ type: 'disconnect', peer: 'z', msg: { t: 'hv.nbr-reply', accepted: false, peers: expect.any(Array) } }])
    expect(changes(out)).toEqual([])
    expect(hv.passiveView().get('z')).toEqual(['mem:z'])
  })

  it('low priority is accepted with room to spare', () => {
    const hv = mk('me', { maxActive: 3, minActive: 1 })
    withActive(hv, ['a'])
    hv.onLinkUp('z', [], 'remote')
    const out = hv.onMessage('z', { t: 'hv.nbr', priority: 'low', addrs: ['mem:z'] })
    expect(changes(out)).toEqual(['+z'])
    expect(sends(out, 'hv.nbr-reply')[0]!.msg).toEqual({ t: 'hv.nbr-reply', accepted: true })
  })

  it('a refused requester closes the link and tries another passive peer', () => {
    const hv = mk('me', { minActive: 2 })
    withActive(hv, ['a'])
    hv.addPassive([{ id: 'p', addrs: ['mem:p'] }, { id: 'q', addrs: ['mem:q'] }, { id: 'r', addrs: ['mem:r'] }])
    const first = connects(hv.tick())
    expect(first).toHaveLength(1)
    expect(first[0]!.msg).toEqual({ t: 'hv.nbr', priority: 'low', addrs: ['mem:me'] })
    const asked = first[0]!.peer
    hv.onLinkUp(asked, [addr(asked)], 'self')
    const out = hv.onMessage(asked, { t: 'hv.nbr-reply', accepted: false })
    expect(disconnects(out)).toEqual([{ type: 'disconnect', peer: asked }])
    const second = connects(out)
    expect(second).toHaveLength(1)
    expect(second[0]!.peer).not.toBe(asked)
    // the refuser stays a candidate for later
    expect(hv.passiveView().has(asked)).toBe(true)
  })

  it('a node below minActive that full peers refused 3 times in a row asks with high priority, until a peer takes it', () => {
    const hv = mk('me', { minActive: 3 })
    withActive(hv, ['a'])
    hv.addPassive(['p', 'q', 'r', 's', 't', 'u'].map(id => ({ id, addrs: [addr(id)] })))
    // minActive 3 with one neighbour: two NEIGHBORs out at a time
    let asks = connects(hv.tick())
    const priorities: string[] = []
    for (let i = 0; i < 4; i++) {
      const ask = asks[0]!
      priorities.push((ask.msg as { priority: string }).priority)
      hv.onLinkUp(ask.peer, [addr(ask.peer)], 'self')
      asks = [...asks.slice(1), ...connects(hv.onMessage(ask.peer, { t: 'hv.nbr-reply', accepted: false }))]
    }
    // the first asks went out together at low priority; once three were refused, the next is high
    expect(priorities.slice(0, 3)).toEqual(['low', 'low', 'low'])
    expect(asks.map(a => (a.msg as { priority: string }).priority)).toContain('high')
    // a peer that takes it resets the count: the next refusal leads to a low-priority ask again
    const taker = asks.find(a => (a.msg as { priority: string }).priority === 'high')!
    hv.onLinkUp(taker.peer, [addr(taker.peer)], 'self')
    hv.onMessage(taker.peer, { t: 'hv.nbr-reply', accepted: true })
    expect(hv.activeView().has(taker.peer)).toBe(true)
    const next: Array<Extract<HyParViewAction, { type: 'connect' }>> = []
    for (const a of asks.filter(a => a.peer !== taker.peer)) {
      hv.onLinkUp(a.peer, [addr(a.peer)], 'self')
      next.push(...connects(hv.onMessage(a.peer, { t: 'hv.nbr-reply', accepted: false })))
    }
    for (let i = 0; i < 3 && next.length === 0; i++) next.push(...connects(hv.tick()))
    expect(next.length).toBeGreaterThan(0)
    expect(next.map(a => (a.msg as { priority: string }).priority)).toEqual(next.map(() => 'low'))
  })

  it('a refusal names the refuser\'s component; from another component the asker insists once with high priority, which bridges the split', () => {
    let label: string | undefined = 'root-a'
    const full = mk('s', { maxActive: 2, minActive: 1, component: () => label })
    withActive(full, ['a', 'b'])
    full.onLinkUp('me', [], 'remote')
    const refusal = disconnects(full.onMessage('me', { t: 'hv.nbr', priority: 'low', addrs: ['mem:me'] }))[0]!.msg!
    expect(refusal).toMatchObject({ t: 'hv.nbr-reply', accepted: false, c: 'root-a' })

    // the asker follows another root: it asks again, high, and the full peer must take it
    const asker = mk('me', { component: () => 'root-b' })
    withActive(asker, ['x'])
    asker.requestNeighbor('s', ['mem:s'])
    asker.onLinkUp('s', ['mem:s'], 'self')
    const out = asker.onMessage('s', refusal)
    expect(connects(out)).toEqual([{ type: 'connect', peer: 's', addrs: ['mem:s'], msg: { t: 'hv.nbr', priority: 'high', addrs: ['mem:me'] } }])
    expect(asker.drops['split-bridge']).toBe(1)
    asker.onLinkUp('s', ['mem:s'], 'self')
    full.onLinkUp('me', [], 'remote')
    const accepted = full.onMessage('me', { t: 'hv.nbr', priority: 'high', addrs: ['mem:me'] })
    expect(changes(accepted)).toContain('+me')
    // a node of the refuser's own component takes the refusal as it is, and a node without a
    // label sends none
    const same = mk('me2', { component: () => 'root-a' })
    withActive(same, ['x'])
    same.requestNeighbor('s', ['mem:s'])
    same.onLinkUp('s', ['mem:s'], 'self')
    expect(connects(same.onMessage('s', refusal)).filter(c => c.peer === 's')).toEqual([])
    label = undefined
    full.onLinkUp('me3', [], 'remote')
    expect(disconnects(full.onMessage('me3', { t: 'hv.nbr', priority: 'low', addrs: ['mem:me3'] }))[0]!.msg).not.toHaveProperty('c')
  })

  it('an unsolicited reply is dropped', () => {
    const hv = mk()
    withActive(hv, ['a'])
    hv.onMessage('a', { t: 'hv.nbr-reply', accepted: true })
    expect(hv.drops.unexpected).toBe(1)
  })

  it('crossing NEIGHBOR requests both succeed', () => {
    const hv = mk('me', { maxActive: 2, minActive: 2 })
    withActive(hv, ['a'])
    hv.addPassive([{ id: 'p', addrs: ['mem:p'] }])
    expect(connects(hv.tick()).map((c) => c.peer)).toEqual(['p'])
    withActive(hv, ['b'])
    // full now, but p asked for us while we were asking for it
    hv.onLinkUp('p', ['mem:p'], 'remote')
    const out = hv.onMessage('p', { t: 'hv.nbr', priority: 'low', addrs: ['mem:p'] })
    expect(changes(out)).toContain('+p')
  })
})

describe('HyParView: failures and repair', () => {
  it('DISCONNECT moves the peer to passive', () => {
    const hv = mk('me', { minActive: 1 })
    withActive(hv, ['a', 'b'])
    const out = hv.onMessage('a', { t: 'hv.disc' })
    expect(changes(out)).toEqual(['-a'])
    expect(hv.activeView().has('a')).toBe(false)
    expect(hv.passiveView().get('a')).toEqual(['mem:a'])
  })

  it('canDial: passive peers it cannot dial stay passive, walks and shuffles to them are counted, not dialled', () => {
    const dialable = new Set(['q'])
    const hv = mk('me', { canDial: (id) => dialable.has(id) })
    withActive(hv, ['a', 'b'])
    hv.addPassive([{ id: 'p', addrs: ['mem:p'] }, { id: 'q', addrs: ['mem:q'] }])
    const out = hv.onLinkDown('a')
    expect(connects(out).map(c => c.peer)).toEqual(['q'])
    expect(hv.passiveView().has('p')).toBe(true)
    // a walk that ends here, at a newcomer it cannot dial
    expect(connects(hv.onMessage('b', { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 0 }))).toEqual([])
    expect(hv.drops['fjoin-undialable']).toBe(1)
    // a shuffle that ends here, from an origin it cannot dial: no reply link
    expect(connects(hv.onMessage('b', { t: 'hv.shuffle', origin: 'o', originAddrs: ['mem:o'], ttl: 1, peers: [] }))).toEqual([])
    expect(hv.drops['shuffle-undialable']).toBe(1)
    // once it can, the same walk is answered
    dialable.add('n')
    expect(connects(hv.onMessage('b', { t: 'hv.fjoin', newId: 'n', newAddrs: ['mem:n'], ttl: 0 })).map(c => c.peer)).toEqual(['n'])
  })

  it('canDial with purpose reply: a SHUFFLE whose reply would need a link the node will not open only for it is counted, not answered', () => {
    const purposes: string[] = []
    const hv = mk('me', { canDial: (_id, addrs, purpose) => { purposes.push(purpose); return purpose === 'link' || !addrs.every(a => a.startsWith('webrtc:')) } })
    withActive(hv, ['a', 'b'])
    const shuffle = (origin: string, addr: string): HyParViewAction[] => hv.onMessage('b', { t: 'hv.shuffle', origin, originAddrs: [addr], ttl: 1, peers: [{ id: 'e', addrs: ['mem:e'] }] })
    expect(connects(shuffle('o', 'webrtc:o'))).toEqual([])
    expect(hv.drops['shuffle-reply-skipped']).toBe(1)
    expect(hv.drops['shuffle-undialable']).toBeUndefined()
    // what the origin sent is still taken in
    expect(hv.passiveView().has('e')).toBe(true)
    // an origin with an address that needs no session is answered over a link opened for it
    expect(connects(shuffle('w', 'ws://w')).map(c => c.peer)).toEqual(['w'])
    expect(purposes).toEqual(['link', 'reply', 'link', 'reply'])
  })

  it('stepBackAbove: a crowded relay asks its longest-linked pages to step back; a page leaves only with minActive other neighbours', () => {
    const page = (id: string): string => `webrtc:${id}`
    const relay = new HyParView({ self: 'r', selfAddrs: ['mem:r'], random: seededRandom(1), maxActive: 6, stepBackAbove: 2, shed: (_id, addrs) => addrs.every(a => a.startsWith('webrtc:')) })
    const join = (id: string, addrs: string[]): void => { relay.onLinkUp(id, [], 'remote'); relay.onMessage(id, { t: 'hv.join', addrs }) }
    join('p1', [page('p1')])
    join('p2', [page('p2')])
    join('other-relay', ['mem:x'])
    // newcomers get a tick to find other neighbours before they are asked
    expect(sends(relay.tick(), 'hv.sb')).toEqual([])
    join('p3', [page('p3')])
    join('p4', [page('p4')])
    // 5 active, 2 wanted: the pages linked a full period are asked (never the listener)
    expect(sends(relay.tick(), 'hv.sb').map(s => s.to)).toEqual(['p1', 'p2'])
    // full: a JOIN evicts the longest-linked page, not a random member
    join('p5', [page('p5')])
    const out = relay.onMessage('p6', { t: 'hv.join', addrs: [page('p6')] })
    expect(out).toEqual([])
    relay.onLinkUp('p6', [], 'remote')
    expect(changes(relay.onMessage('p6', { t: 'hv.join', addrs: [page('p6')] }))).toEqual(['-p1', '+p6'])

    // at stepBackAbove a page with neighbours (low priority) is refused and offered some of ours;
    // a listener, an isolated page (high priority) and a newcomer (JOIN) are taken
    const small = new HyParView({ self: 'r', selfAddrs: ['mem:r'], random: seededRandom(1), maxActive: 6, stepBackAbove: 2, shed: (_id, addrs) => addrs.every(a => a.startsWith('webrtc:')) })
    for (const id of ['q1', 'q2']) { small.onLinkUp(id, [], 'remote'); small.onMessage(id, { t: 'hv.join', addrs: [page(id)] }) }
    small.onLinkUp('q3', [], 'remote')
    const refused = small.onMessage('q3', { t: 'hv.nbr', priority: 'low', addrs: [page('q3')] })
    expect(disconnects(refused)[0]?.msg).toMatchObject({ t: 'hv.nbr-reply', accepted: false })
    expect(changes(refused)).toEqual([])
    small.onLinkUp('q4', [], 'remote')
    expect(changes(small.onMessage('q4', { t: 'hv.nbr', priority: 'high', addrs: [page('q4')] }))).toEqual(['+q4'])
    small.onLinkUp('x', [], 'remote')
    expect(changes(small.onMessage('x', { t: 'hv.nbr', priority: 'low', addrs: ['mem:x'] }))).toEqual(['+x'])

    // the page's side: with minActive (3) other neighbours it leaves; with fewer it stays, counted
    const p = mk('p', { minActive: 3 })
    withActive(p, ['r', 'a', 'b'])
    expect(disconnects(p.onMessage('r', { t: 'hv.sb' }))).toEqual([])
    expect(p.drops['step-back-declined']).toBe(1)
    withActive(p, ['c'])
    const left = p.onMessage('r', { t: 'hv.sb' })
    expect(changes(left)).toEqual(['-r'])
    expect(disconnects(left)).toEqual([{ type: 'disconnect', peer: 'r', msg: { t: 'hv.disc' } }])
    expect(p.passiveView().has('r')).toBe(true)
    // not asked back at once
    expect(connects(p.onLinkDown('a')).map(c => c.peer)).not.toContain('r')
  })

  it('stepBackAbove: a full relay that evicts a page for a newcomer keeps the link pendingTicks periods (hv.disc with linger), so that the dials still coming back to that page through it arrive', () => {
    const page = (id: string): string => `webrtc:${id}`
    const relay = new HyParView({ self: 'r', selfAddrs: ['mem:r'], random: seededRandom(1), maxActive: 3, stepBackAbove: 1, shed: (_id, addrs) => addrs.every(a => a.startsWith('webrtc:')) })
    const join = (id: string): HyParViewAction[] => { relay.onLinkUp(id, [], 'remote'); return relay.onMessage(id, { t: 'hv.join', addrs: [page(id)] }) }
    join('p1')
    join('p2')
    join('p3')
    const out = join('p4')
    expect(changes(out)).toEqual(['-p1', '+p4'])
    // told, but not hung up on: p1's own dials (the walks of its JOIN) still signal through here
    expect(sends(out, 'hv.disc')).toEqual([{ to: 'p1', msg: { t: 'hv.disc', linger: true } }])
    expect(disconnects(out)).toEqual([])
    expect(relay.passiveView().has('p1')).toBe(true)
    // closed like any link outside the views, pendingTicks (2) periods after the eviction
    expect(disconnects(relay.tick())).toEqual([])
    expect(disconnects(relay.tick())).toEqual([{ type: 'disconnect', peer: 'p1' }])

    // the page's side: it leaves the relay out of its view and keeps the link as long
    const p = mk('p1', { minActive: 1 })
    withActive(p, ['r', 'a'])
    const left = p.onMessage('r', { t: 'hv.disc', linger: true })
    expect(changes(left)).toEqual(['-r'])
    expect(disconnects(left)).toEqual([])
    expect(disconnects(p.tick())).toEqual([])
    expect(disconnects(p.tick())).toEqual([{ type: 'disconnect', peer: 'r' }])
    // a plain hv.disc still closes at once
    const q = mk('q', { minActive: 1 })
    withActive(q, ['r', 'a'])
    expect(disconnects(q.onMessage('r', { t: 'hv.disc' }))).toEqual([{ type: 'disconnect', peer: 'r' }])
  })

  it('stepBackAbove: pages that declined are asked again only after the others, so one that cannot leave does not keep the relay over stepBackAbove', () => {
    const page = (id: string): string => `webrtc:${id}`
    const relay = new HyParView({ self: 'r', selfAddrs: ['mem:r'], random: seededRandom(1), maxActive: 6, stepBackAbove: 2, shed: (_id, addrs) => addrs.every(a => a.startsWith('webrtc:')) })
    for (const id of ['p1', 'p2', 'p3']) { relay.onLinkUp(id, [], 'remote'); relay.onMessage(id, { t: 'hv.join', addrs: [page(id)] }) }
    relay.tick()
    // one over: p1 (longest-linked) is asked; it has too few other neighbours and stays, so the
    // next tick asks p2, then p3, then p1 again
    const asked = [relay.tick(), relay.tick(), relay.tick(), relay.tick()].map(a => sends(a, 'hv.sb').map(s => s.to))
    expect(asked).toEqual([['p1'], ['p2'], ['p3'], ['p1']])
    // p2 leaves: still one over (p4 came); the one asked longest ago goes first
    relay.onLinkDown('p2')
    relay.onLinkUp('p4', [], 'remote')
    relay.onMessage('p4', { t: 'hv.join', addrs: [page('p4')] })
    expect(sends(relay.tick(), 'hv.sb').map(s => s.to)).toEqual(['p3'])
  })

  it('stepBackAbove: the request offers a few of the relay\'s other pages, and the page links to one before it leaves (hand-off), so a group of pages the relay bridged stays linked to the rest', () => {
    const page = (id: string): string => `webrtc:${id}`
    const relay = new HyParView({ self: 'r', selfAddrs: ['mem:r'], random: seededRandom(1), maxActive: 8, stepBackAbove: 2, shed: (_id, addrs) => addrs.every(a => a.startsWith('webrtc:')) })
    for (const id of ['p1', 'p2', 'p3', 'p4']) { relay.onLinkUp(id, [], 'remote'); relay.onMessage(id, { t: 'hv.join', addrs: [page(id)] }) }
    relay.onLinkUp('x', [], 'remote')
    relay.onMessage('x', { t: 'hv.join', addrs: ['mem:x'] })
    relay.tick()
    const asked = sends(relay.tick(), 'hv.sb')
    expect(asked.map(s => s.to)).toEqual(['p1', 'p2', 'p3'])
    for (const { to, msg } of asked) {
      const offered = (msg as Extract<HyParViewMsg, { t: 'hv.sb' }>).peers ?? []
      // other pages only: never the asked page itself, never a listener
      expect(offered.length).toBe(3)
      expect(offered.map(e => e.id)).not.toContain(to)
      expect(offered.map(e => e.id)).not.toContain('x')
      expect(offered.every(e => e.addrs.every(a => a.startsWith('webrtc:')))).toBe(true)
    }

    // the page: linked to r and two pages of its own group; it links to q (offered) first
    const p = mk('p', { minActive: 2 })
    withActive(p, ['r', 'a', 'b'])
    const asking = p.onMessage('r', { t: 'hv.sb', peers: [{ id: 'q', addrs: ['mem:q'] }, { id: 'a', addrs: ['mem:a'] }] })
    expect(disconnects(asking)).toEqual([])
    expect(connects(asking)).toEqual([{ type: 'connect', peer: 'q', addrs: ['mem:q'], msg: { t: 'hv.nbr', priority: 'high', addrs: ['mem:p'] } }])
    // asked again meanwhile: still one hand-off
    expect(connects(p.onMessage('r', { t: 'hv.sb', peers: [{ id: 's', addrs: ['mem:s'] }] }))).toEqual([])
    expect(p.drops['step-back-busy']).toBe(1)
    p.onLinkUp('q', ['mem:q'], 'self')
    const done = p.onMessage('q', { t: 'hv.nbr-reply', accepted: true })
    expect(changes(done)).toEqual(['+q', '-r'])
    expect(disconnects(done)).toEqual([{ type: 'disconnect', peer: 'r', msg: { t: 'hv.disc' } }])
    expect([...p.activeView().keys()].sort()).toEqual(['a', 'b', 'q'])

    // a hand-off that fails keeps the relay: it asks again, with other pages to try
    const f = mk('f', { minActive: 2 })
    withActive(f, ['r', 'a', 'b'])
    expect(connects(f.onMessage('r', { t: 'hv.sb', peers: [{ id: 'q', addrs: ['mem:q'] }] })).map(c => c.peer)).toEqual(['q'])
    expect(disconnects(f.onConnectFailed('q'))).toEqual([])
    f.tick()
    f.tick()
    expect(f.drops['step-back-handoff-failed']).toBe(1)
    expect(f.activeView().has('r')).toBe(true)
    expect(connects(f.onMessage('r', { t: 'hv.sb', peers: [{ id: 's', addrs: ['mem:s'] }] })).map(c => c.peer)).toEqual(['s'])
    // malformed offers are dropped and counted, the page stays
    expect(disconnects(f.onMessage('r', { t: 'hv.sb', peers: 'nope' }))).toEqual([])
    expect(f.drops.malformed).toBe(1)
  })

  it('a lost link is replaced from passive, with high priority when isolated', () => {
    const hv = mk()
    withActive(hv, ['a', 'b'])
    hv.addPassive([{ id: 'p', addrs: ['mem:p'] }, { id: 'q', addrs: ['mem:q'] }])
    const out = hv.onLinkDown('a')
    expect(changes(out)).toEqual(['-a'])
    expect(hv.passiveView().has('a')).toBe(false)
    const c = connects(out)
    expect(c).toHaveLength(1)
    expect(c[0]!.msg).toMatchObject({ t: 'hv.nbr', priority: 'low' })

    const lone = mk()
    withActive(lone, ['a'])
    lone.addPassive([{ id: 'p', addrs: ['mem:p'] }])
    expect(connects(lone.onLinkDown('a'))[0]!.msg).toMatchObject({ t: 'hv.nbr', priority: 'high' })
  })

  it('a failed connect drops the peer from passive and tries another', () => {
    const hv = mk('me', { minActive: 1 })
    hv.addPassive([{ id: 'p', addrs: ['mem:p'] }, { id: 'q', addrs: ['mem:q'] }])
    const [c] = connects(hv.tick())
    const out = hv.onConnectFailed(c!.peer)
    expect(hv.passiveView().has(c!.peer)).toBe(false)
    const other = c!.peer === 'p' ? 'q' : 'p'
    expect(connects(out).map((x) => x.peer)).toEqual([other])
  })

  it('a connect that loses a simultaneous dial uses the inbound link', () => {
    const hv = mk('me', { minActive: 1 })
    hv.addPassive([{ id: 'p', addrs: ['mem:p'] }])
    expect(connects(hv.tick()).map((c) => c.peer)).toEqual(['p'])
    hv.onLinkUp('p', ['x'], 'remote')
    const out = hv.onConnectFailed('p')
    expect(sends(out, 'hv.nbr')).toHaveLength(1)
    expect(changes(hv.onMessage('p', { t: 'hv.nbr-reply', accepted: true }))).toEqual(['+p'])
  })

  it('unanswered attempts expire after pendingTicks and idle links are closed', () => {
    const hv = mk('me', { minActive: 1, pendingTicks: 2 })
    hv.addPassive([{ id: 'p', addrs: ['mem:p'] }, { id: 'q', addrs: ['mem:q'] }])
    const [c] = connects(hv.tick())
    hv.onLinkUp(c!.peer, [addr(c!.peer)], 'self')
    hv.onLinkUp('idle', ['x'], 'remote')
    expect(connects(hv.tick())).toEqual([])
    const out = hv.tick()
    expect(disconnects(out).map((d) => d.peer).sort()).toEqual([c!.peer, 'idle'].sort())
    expect(hv.passiveView().has(c!.peer)).toBe(false)
    expect(connects(out)).toHaveLength(1)
  })

  it('leave says DISCONNECT to every active peer', () => {
    const hv = mk()
    withActive(hv, ['a', 'b'])
    const out = hv.leave()
    expect(disconnects(out)).toEqual([
      { type: 'disconnect', peer: 'a', msg: { t: 'hv.disc' } },
      { type: 'disconnect', peer: 'b', msg: { t: 'hv.disc' } }
    ])
    expect(hv.activeView().size).toBe(0)
  })
})

describe('HyParView: shuffle', () => {
  it('tick sends a SHUFFLE with a sample of both views to a random active peer', () => {
    const hv = mk()
    withActive(hv, ['a', 'b', 'c', 'd', 'e'])
    hv.addPassive(['p', 'q', 'r', 's', 't', 'u'].map((id) => ({ id, addrs: [addr(id)] })))
    const [s] = sends(hv.tick(), 'hv.shuffle')
    expect(s).toBeDefined()
    const msg = s!.msg as Extract<HyParViewMsg, { t: 'hv.shuffle' }>
    expect(msg.origin).toBe('me')
    expect(msg.ttl).toBe(6)
    expect(msg.peers).toHaveLength(7)
    const ids = msg.peers.map((e) => e.id)
    expect(ids).not.toContain(s!.to)
    expect(ids.filter((id) => hv.activeView().has(id))).toHaveLength(3)
  })

  it('a SHUFFLE walks on while ttl lasts', () => {
    const hv = mk()
    withActive(hv, ['a', 'b', 'c'])
    const out = hv.onMessage('a', { t: 'hv.shuffle', origin: 'o', originAddrs: ['mem:o'], ttl: 3, peers: [] })
    const [fwd] = sends(out, 'hv.shuffle')
    expect(['b', 'c']).toContain(fwd!.to)
    expect(fwd!.msg).toMatchObject({ ttl: 2, origin: 'o' })
  })

  it('the last node answers over a temporary link and keeps what it was sent', () => {
    const hv = mk()
    withActive(hv, ['a'])
    hv.addPassive([{ id: 'p', addrs: ['mem:p'] }, { id: 'q', addrs: ['mem:q'] }])
    const out = hv.onMessage('a', {
      t: 'hv.shuffle', origin: 'o', originAddrs: ['mem:o'], ttl: 1, peers: [{ id: 'x', addrs: ['mem:x'] }, { id: 'me', addrs: ['mem:me'] }, { id: 'a', addrs: ['mem:a'] }]
    })
    const [c] = connects(out)
    expect(c?.peer).toBe('o')
    expect(c?.msg.t).toBe('hv.shuffle-reply')
    expect((c!.msg as Extract<HyParViewMsg, { t: 'hv.shuffle-reply' }>).peers).toHaveLength(2)
    const passive = hv.passiveView()
    expect(passive.has('o')).toBe(true)
    expect(passive.has('x')).toBe(true)
    expect(passive.has('me')).toBe(false)
    expect(passive.has('a')).toBe(false)
    // once the reply is out, the link goes
    expect(disconnects(hv.onLinkUp('o', ['mem:o'], 'self'))).toEqual([{ type: 'disconnect', peer: 'o' }])
  })

  it('the reply replaces what the origin sent first', () => {
    const hv = mk('me', { passiveSize: 4, shuffleActive: 0, minActive: 1 })
    withActive(hv, ['a'])
    hv.addPassive(['p1', 'p2', 'p3', 'p4'].map((id) => ({ id, addrs: [addr(id)] })))
    const [s] = sends(hv.tick(), 'hv.shuffle')
    expect((s!.msg as Extract<HyParViewMsg, { t: 'hv.shuffle' }>).peers).toHaveLength(4)
    hv.onLinkUp('r', [], 'remote')
    hv.onMessage('r', { t: 'hv.shuffle-reply', peers: ['n1', 'n2', 'n3'].map((id) => ({ id, addrs: [addr(id)] })) })
    const passive = [...hv.passiveView().keys()]
    expect(passive).toHaveLength(4)
    expect(passive.filter((id) => id.startsWith('n'))).toHaveLength(3)
    // only one reply per shuffle
    hv.onMessage('r', { t: 'hv.shuffle-reply', peers: [] })
    expect(hv.drops.unexpected).toBe(1)
  })
})

describe('HyParView: views and validation', () => {
  it('the passive view is bounded and never holds self or active peers', () => {
    const hv = mk('me', { maxActive: 4, passiveSize: 10 })
    withActive(hv, ['a', 'b'])
    hv.addPassive([{ id: 'me', addrs: ['mem:me'] }, { id: 'a', addrs: ['mem:a'] }, { id: 'nowhere', addrs: [] }])
    expect(hv.passiveView().size).toBe(0)
    hv.addPassive(Array.from({ length: 50 }, (_, i) => ({ id: `p${i}`, addrs: [`mem:p${i}`] })))
    expect(hv.passiveView().size).toBe(10)
    // becoming active removes from passive
    const p = [...hv.passiveView().keys()][0]!
    hv.onLinkUp(p, [], 'remote')
    hv.onMessage(p, { t: 'hv.nbr', priority: 'low', addrs: [addr(p)] })
    expect(hv.activeView().has(p)).toBe(true)
    expect(hv.passiveView().has(p)).toBe(false)
  })

  it('third-hand addresses do not overwrite known ones', () => {
    const hv = mk()
    withActive(hv, ['a', 'b', 'c'])
    hv.addPassive([{ id: 'p', addrs: ['mem:p'] }])
    hv.onMessage('a', { t: 'hv.fjoin', newId: 'p', newAddrs: ['mem:evil'], ttl: 3 })
    expect(hv.passiveView().get('p')).toEqual(['mem:p'])
  })

  it('ignores and counts malformed messages, never throws', () => {
    const hv = mk('me', { validPeerId: (id) => !id.includes(' ') })
    withActive(hv, ['a', 'b'])
    const bad: unknown[] = [
      null, 42, 'hv.join', [], new Uint8Array(3), {}, { t: 5 },
      { t: 'hv.nope' },
      { t: 'hv.join' }, { t: 'hv.join', addrs: 'mem:x' }, { t: 'hv.join', addrs: [''] }, { t: 'hv.join', addrs: Array(17).fill('a') },
      { t: 'hv.join', addrs: ['x'.repeat(1025)] },
      { t: 'hv.fjoin', newId: 'n', newAddrs: ['a'], ttl: -1 }, { t: 'hv.fjoin', newId: 'n', newAddrs: ['a'], ttl: 1.5 },
      { t: 'hv.fjoin', newId: 7, newAddrs: ['a'], ttl: 1 }, { t: 'hv.fjoin', newId: 'bad id', newAddrs: ['a'], ttl: 1 },
      { t: 'hv.fjoin', newId: 'n'.repeat(200), newAddrs: ['a'], ttl: 1 },
      { t: 'hv.nbr', priority: 'urgent', addrs: [] }, { t: 'hv.nbr', priority: 'low' },
      { t: 'hv.nbr-reply', accepted: 'yes' },
      { t: 'hv.shuffle', origin: 'o', originAddrs: ['a'], ttl: 1, peers: [{ id: 'x' }] },
      { t: 'hv.shuffle', origin: 'o', originAddrs: ['a'], ttl: 1, peers: Array(65).fill({ id: 'x', addrs: [] }) },
      { t: 'hv.shuffle', origin: 'o', originAddrs: ['a'], ttl: '1', peers: [] },
      { t: 'hv.shuffle-reply', peers: [null] }, { t: 'hv.shuffle-reply', peers: {} }
    ]
    for (const m of bad) expect(hv.onMessage('a', m)).toEqual([])
    expect(hv.drops.malformed).toBe(bad.length - 1)
    expect(hv.drops['unknown-type']).toBe(1)
    expect(hv.onMessage('stranger', { t: 'hv.join', addrs: ['mem:s'] })).toEqual([])
    expect(hv.drops['no-link']).toBe(1)
    // random junk
    const random = seededRandom(3)
    const junk = (depth: number): unknown => {
      const r = random.float()
      if (depth > 2 || r < 0.3) return pick(random, [0, -1, 1.5, 'x', '', true, null, undefined, new Uint8Array(2), 1e300])
      if (r < 0.5) return Array.from({ length: Math.floor(random.float() * 4) }, () => junk(depth + 1))
      const o: Record<string, unknown> = {}
      for (const k of ['t', 'addrs', 'newId', 'newAddrs', 'ttl', 'priority', 'accepted', 'origin', 'originAddrs', 'peers', 'id', '__proto__']) {
        if (random.float() < 0.5) o[k] = k === 't' ? pick(random, ['hv.join', 'hv.fjoin', 'hv.nbr', 'hv.nbr-reply', 'hv.disc', 'hv.shuffle', 'hv.shuffle-reply']) : junk(depth + 1)
      }
      return o
    }
    for (let i = 0; i < 5000; i++) expect(() => hv.onMessage(pick(random, ['a', 'b'])!, junk(0))).not.toThrow()
    expect(hv.passiveView().has('me')).toBe(false)
  })

  it('rejects bad options', () => {
    expect(() => mk('me', { minActive: 5, maxActive: 4 })).toThrow(TypeError)
    expect(() => mk('', {})).toThrow(TypeError)
    expect(() => mk('me', { arwl: -1 })).toThrow(TypeError)
  })
})

describe('HyParView: 200 nodes', () => {
  it('builds a connected symmetric overlay that heals after half the nodes die', () => {
    const N = 200
    const net = new HvNet(42)
    const ids = Array.from({ length: N }, (_, i) => `n${String(i).padStart(3, '0')}`)
    net.add(ids[0]!)
    let maxDuringJoins = 0
    for (let i = 1; i < N; i++) {
      const id = ids[i]!
      net.add(id)
      const contact = pick(net.random, ids.slice(0, i))!
      net.run(id, net.node(id).join(contact, [HvNet.addr(contact)]))
      maxDuringJoins = Math.max(maxDuringJoins, ...net.activeSizes())
    }
    const afterJoins = summary(net.activeSizes())
    expect(maxDuringJoins).toBeLessThanOrEqual(12)
    expect(net.asymmetric()).toEqual([])
    expect(net.largestComponent()).toBe(N)

    for (let t = 0; t < 3; t++) net.tickAll()
    const active = summary(net.activeSizes())
    expect(active.min).toBeGreaterThanOrEqual(3)
    expect(active.max).toBeLessThanOrEqual(12)
    expect(net.asymmetric()).toEqual([])
    expect(net.largestComponent()).toBe(N)

    for (let t = 0; t < 30; t++) net.tickAll()
    const passive = summary(net.passiveSizes())
    expect(passive.mean).toBeGreaterThan(0.8 * 72)
    expect(passive.min).toBeGreaterThan(36)
    for (const id of net.alive) {
      const hv = net.node(id)
      const pv = hv.passiveView()
      expect(pv.size).toBeLessThanOrEqual(72)
      expect(pv.has(id)).toBe(false)
      for (const p of hv.activeView().keys()) expect(pv.has(p)).toBe(false)
    }

    const victims = new Set(ids.filter(() => net.random.float() < 0.5))
    while (victims.size < N / 2) victims.add(pick(net.random, ids)!)
    while (victims.size > N / 2) victims.delete(pick(net.random, [...victims])!)
    const before = net.stats.connectFailures
    for (const v of victims) net.kill(v)
    net.settle()
    const rightAfter = { largest: net.largestComponent(), active: summary(net.activeSizes()) }
    const ticksToHeal: number[] = []
    for (let t = 1; t <= 5; t++) {
      net.tickAll()
      if (net.largestComponent() === N / 2 && ticksToHeal.length === 0) ticksToHeal.push(t)
    }
    const healed = summary(net.activeSizes())
    expect(net.largestComponent()).toBe(N / 2)
    expect(net.asymmetric()).toEqual([])
    expect(healed.min).toBeGreaterThanOrEqual(3)
    expect(healed.max).toBeLessThanOrEqual(12)

    console.log('[hyparview 200]', JSON.stringify({
      afterJoins,
      maxDuringJoins,
      afterTicks: active,
      passive,
      afterKill: { ...rightAfter, deadDials: net.stats.connectFailures - before },
      healed: { ...healed, ticksToConnected: ticksToHeal[0] ?? 0 },
      drops: Object.fromEntries([...net.alive].flatMap((id) => Object.entries(net.node(id).drops)))
    }))
  })
})

function summary (xs: number[]): { min: number, max: number, mean: number } {
  return { min: Math.min(...xs), max: Math.max(...xs), mean: Math.round(10 * xs.reduce((a, b) => a + b, 0) / xs.length) / 10 }
}

describe('requestNeighbor (netsplit healing)', () => {
  it('asks with low priority, and a full peer refuses without evicting anyone', async () => {
    const { HyParView } = await import('../../src/overlay/hyparview.js')
    const { seededRandom } = await import('../../src/util/clock.js')
    const hv = new HyParView({ self: 'me', selfAddrs: ['memory:me'], random: seededRandom(1), minActive: 1, maxActive: 2 })
    const acts = hv.requestNeighbor('seed', ['memory:seed'])
    expect(acts).toEqual([{ type: 'connect', peer: 'seed', addrs: ['memory:seed'], msg: { t: 'hv.nbr', priority: 'low', addrs: ['memory:me'] } }])
    expect(hv.requestNeighbor('me', [])).toEqual([])
    const full = new HyParView({ self: 'seed', selfAddrs: ['memory:seed'], random: seededRandom(2), minActive: 1, maxActive: 1 })
    full.onLinkUp('a', [], 'remote')
    full.onMessage('a', { t: 'hv.nbr', priority: 'high', addrs: ['memory:a'] })
    expect([...full.activeView().keys()]).toEqual(['a'])
    full.onLinkUp('me', [], 'remote')
    const answer = full.onMessage('me', { t: 'hv.nbr', priority: 'low', addrs: ['memory:me'] })
    const refusal = answer.find(a => (a.type === 'send' || a.type === 'disconnect') && a.msg?.t === 'hv.nbr-reply')
    expect(refusal).toMatchObject({ msg: { t: 'hv.nbr-reply', accepted: false, peers: [{ id: 'a', addrs: ['memory:a'] }] } })
    expect([...full.activeView().keys()]).toEqual(['a'])
    // the refused node learns the offered peer and asks it next
    hv.onLinkUp('seed', ['memory:seed'], 'self')
    const next = hv.onMessage('seed', (refusal as { msg: unknown }).msg)
    // isolated now, so it asks with high priority (HyParView's rule for an empty active view)
    expect(next).toContainEqual({ type: 'connect', peer: 'a', addrs: ['memory:a'], msg: { t: 'hv.nbr', priority: 'high', addrs: ['memory:me'] } })
  })
})
