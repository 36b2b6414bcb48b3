import { afterEach, describe, expect, it } from 'vitest'
import { createNode, createTestnet, MEMBER_HEARTBEAT_KEY, MemoryNetwork, plainChannel, UnsupportedError } from '../src/index.js'
import type { HearsayNode, Member, MemberEvent, NodeOptions, PeerId, Testnet } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

/** Fast overlay and state timers: a gossip round every 40 ms, a heartbeat every 100 ms. */
const fast: NodeOptions = { shuffleInterval: 200, heartbeatInterval: 50, rejoinDelay: 50, rejoinMaxDelay: 400, healInterval: 300 }
const fastState = { members: true, gossipInterval: 40, sweepInterval: 40, memberHeartbeatInterval: 100, memberForgetAfter: 3000 }

function options (i: number, extra: NodeOptions = {}): NodeOptions {
  return {
    channel: plainChannel(),
    ...fast,
    // small views, so that an 8-node overlay has nodes that are not each other's neighbours
    minPeers: 2,
    maxPeers: 3,
    seeds: i === 0 ? [] : ['memory:node-0'],
    ...extra,
    state: { ...fastState, ...extra.state }
  }
}

async function net (n: number, extra: (i: number) => NodeOptions = () => ({}), network?: MemoryNetwork): Promise<Testnet> {
  const t = await createTestnet(n, { network, topology: 'none', node: (i) => options(i, extra(i)) })
  cleanups.push(t.stop)
  return t
}

/** A node started later on the same network, as node-`i`. */
async function join (network: MemoryNetwork, i: number, extra: NodeOptions = {}): Promise<HearsayNode> {
  const node = createNode({ clock: network.clock, listen: [`memory:node-${i}`], transports: [network.transport(`node-${i}`)], ...options(i, extra) })
  cleanups.push(async () => { await node.stop() })
  await node.start()
  return node
}

/** Every member event each observer receives, by subject. */
class Recorder {
  readonly events: Array<{ at: HearsayNode, event: MemberEvent, member: Member, neighbour: boolean }> = []
  constructor (nodes: HearsayNode[]) { for (const n of nodes) this.watch(n) }
  watch (n: HearsayNode): void {
    for (const event of ['member:join', 'member:down', 'member:up'] as const) {
      n.on(event, (member) => { this.events.push({ at: n, event, member, neighbour: n.getPeer(member.id) !== undefined }) })
    }
  }

  count (at: HearsayNode, event: MemberEvent, id: PeerId): number {
    return this.events.filter(e => e.at === at && e.event === event && e.member.id === id).length
  }

  /**
   * Once per transition: what `at` heard of `id` after its join alternates down, up, down, …
   * (a real network may flap while the overlay heals: never two downs or two ups in a row).
   */
  transitions (at: HearsayNode, id: PeerId): string {
    const seq = this.events.filter(e => e.at === at && e.member.id === id && e.event !== 'member:join').map(e => e.event.slice(7))
    seq.forEach((ev, k) => { expect(ev, `event ${k} of ${seq.join(',')}`).toBe(k % 2 === 0 ? 'down' : 'up') })
    return seq.join(',')
  }

  all (observers: HearsayNode[], event: MemberEvent, id: PeerId): boolean {
    return observers.every(o => this.count(o, event, id) >= 1)
  }
}

const member = (n: HearsayNode, id: PeerId): Member | undefined => n.members().find(m => m.id === id)

describe('cluster membership (node.members(), member:* events) on the memory testnet', () => {
  it('every node of 8 learns a new member, non-neighbours included, once; members() lists the whole cluster', async () => {
    const t = await net(7)
    const rec = new Recorder(t.nodes)
    // everyone knows everyone before the newcomer arrives
    await eventually(() => t.nodes.every(n => n.members().length === 7 && n.members().every(m => m.alive)), 20_000, 'the first 7 know each other')
    const x = await join(t.network, 7)
    await eventually(() => rec.all(t.nodes, 'member:join', x.id), 20_000, 'member:join for the newcomer at every node')
    const joins = rec.events.filter(e => e.event === 'member:join' && e.member.id === x.id)
    // the state anti-entropy carried it beyond the newcomer's neighbours
    expect(joins.some(e => !e.neighbour && !(x.overlay?.active ?? []).includes(e.at.id))).toBe(true)
    for (const e of joins) expect(e.member).toMatchObject({ id: x.id, alive: true, self: false })
    // the newcomer learns the cluster too, and everyone's heartbeat keeps advancing
    await eventually(() => x.members().length === 8, 20_000, 'the newcomer knows all 8')
    const before = new Map(t.nodes.map(n => [n, member(n, x.id)!.heartbeat]))
    await eventually(() => t.nodes.every(n => member(n, x.id)!.heartbeat >= before.get(n)! + 5), 20_000, 'heartbeats advance')
    for (const n of t.nodes) expect(rec.count(n, 'member:join', x.id)).toBe(1)
    const self = x.members()[0]!
    expect(self).toMatchObject({ id: x.id, alive: true, self: true })
    expect(self.heartbeat).toBeGreaterThan(0)
    for (const m of t.nodes[3]!.members()) {
      expect(typeof m.lastSeen).toBe('number')
      expect(m.lastSeen).toBeLessThanOrEqual(t.network.clock.now())
    }
  })

  it('a node cut off goes down at every other node once, comes back up once when it returns, and is forgotten when it stays away', async () => {
    const t = await net(8)
    const rec = new Recorder(t.nodes)
    await eventually(() => t.nodes.every(n => n.members().length === 8 && n.members().every(m => m.alive)), 20_000, 'all know all 8')
    const victim = t.nodes[5]!
    const others = t.nodes.filter(n => n !== victim)
    t.network.partition(['node-5'], t.nodes.map((_, i) => `node-${i}`).filter(h => h !== 'node-5'))
    const cut = Date.now()
    await eventually(() => rec.all(others, 'member:down', victim.id), 15_000, 'member:down for the cut-off node at every other node')
    const detectMs = Date.now() - cut
    for (const o of others) expect(member(o, victim.id)).toMatchObject({ alive: false })
    t.network.heal()
    await eventually(() => rec.all(others, 'member:up', victim.id), 20_000, 'member:up once it is reachable again')
    for (const o of others) expect(member(o, victim.id)!.alive).toBe(true)
    // once per transition: wait for 5 more of its heartbeats everywhere, then count
    const seen = new Map(others.map(o => [o, member(o, victim.id)!.heartbeat]))
    await eventually(() => others.every(o => member(o, victim.id)!.heartbeat >= seen.get(o)! + 5), 20_000, 'heartbeats after the return')
    const downs = new Map<HearsayNode, number>()
    for (const o of others) {
      expect(rec.transitions(o, victim.id)).toMatch(/^down,up(,down,up)*$/)
      expect(member(o, victim.id)!.alive).toBe(true)
      expect(rec.count(o, 'member:join', victim.id)).toBeLessThanOrEqual(1) // before it was cut off
      downs.set(o, rec.count(o, 'member:down', victim.id))
    }
    expect(detectMs).toBeLessThan(15_000)

    // now it stops for good: down again, once, then forgotten after memberForgetAfter (3 s)
    await victim.stop()
    await eventually(() => others.every(o => rec.count(o, 'member:down', victim.id) === downs.get(o)! + 1), 15_000, 'down after stop')
    await eventually(() => others.every(o => member(o, victim.id) === undefined), 3000 + 10_000, 'forgotten')
    for (const o of others) expect(rec.transitions(o, victim.id)).toMatch(/^down,up(,down,up)*,down$/)
    expect(victim.members()).toEqual([]) // a stopped node's table is cleared
  })

  it('a node stopped and started again (same object) is down, then up everywhere, and learns the cluster again', async () => {
    const t = await net(5)
    const rec = new Recorder(t.nodes)
    await eventually(() => t.nodes.every(n => n.members().length === 5), 20_000, 'all know all 5')
    const x = t.nodes[3]!
    const others = t.nodes.filter(n => n !== x)
    await x.stop()
    expect(x.members()).toEqual([])
    await eventually(() => rec.all(others, 'member:down', x.id), 15_000, 'down at every other node')
    await x.start()
    await eventually(() => rec.all(others, 'member:up', x.id), 20_000, 'up at every other node')
    await eventually(() => x.members().length === 5, 20_000, 'the restarted node knows all 5 again')
    for (const o of others) expect(rec.transitions(o, x.id)).toMatch(/^down,up(,down,up)*$/)
  })

  it('the member table is bounded (maxMembers), drops counted; a forgotten member that returns joins again', async () => {
    const t = await net(5, (i) => i === 4 ? { state: { maxMembers: 2, memberForgetAfter: 1500 } } : {})
    const small = t.nodes[4]!
    await eventually(() => t.nodes.slice(0, 4).every(n => n.members().length === 5), 20_000, 'the others know all 5')
    await eventually(() => (small.metrics.snapshot()['drops.member-table-full'] ?? 0) > 0, 10_000, 'a counted drop')
    expect(small.members().length).toBe(3) // itself and 2 others

    // a down member makes room for a new one
    const rec = new Recorder([small])
    const known = small.members().filter(m => !m.self).map(m => m.id)
    const gone = t.nodes.find(n => n.id === known[0])!
    const i = t.nodes.indexOf(gone)
    t.network.partition([`node-${i}`], t.nodes.filter(n => n !== gone).map(n => `node-${t.nodes.indexOf(n)}`))
    await eventually(() => rec.count(small, 'member:down', gone.id) === 1, 15_000, 'down')
    await eventually(() => rec.events.some(e => e.event === 'member:join' && !known.includes(e.member.id)), 15_000, 'a new member replaced the down one')
    expect(small.members().length).toBe(3)
    t.network.heal()
    // forgotten (evicted), so when it returns it is a join again, if there is room: there is not
    // (2 live members), and its return is a counted drop rather than a third entry
    await eventually(() => small.members().length === 3 && small.members().every(m => m.alive), 20_000, 'the table stays full and live')
    expect(small.members().some(m => m.id === gone.id)).toBe(false)
  })

  it('members() throws UnsupportedError without the state service or with members: false (the default); the heartbeat key is reserved and hidden', async () => {
    expect(() => createNode().members()).toThrow(/state: { members: true }/)
    const bare = createNode({ services: [] })
    expect(() => bare.members()).toThrow(UnsupportedError)
    let err: unknown
    try { bare.members() } catch (e) { err = e }
    let stateErr: unknown
    try { void bare.state } catch (e) { stateErr = e }
    expect((err as Error).message).toBe((stateErr as Error).message)

    const t = await net(2, (i) => i === 1 ? { state: { members: false } } : {})
    const [a, off] = [t.nodes[0]!, t.nodes[1]!]
    expect(() => off.members()).toThrow(UnsupportedError)
    expect(a.members()[0]).toMatchObject({ id: a.id, self: true, alive: true })
    expect(() => a.state.set(MEMBER_HEARTBEAT_KEY, 1)).toThrow(TypeError)
    expect(() => a.state.delete(MEMBER_HEARTBEAT_KEY)).toThrow(TypeError)
    const sets: string[] = []
    off.state.on('set', (c) => sets.push(c.key))
    a.state.set('visible', 1)
    await eventually(() => off.state.keys(a.id).includes('visible'), 10_000, 'replicated')
    // the heartbeat travels in the state, but users see neither the key nor its events
    expect(off.state.versionOf(a.id, MEMBER_HEARTBEAT_KEY)).toBeGreaterThan(0)
    expect(off.state.keys(a.id)).toEqual(['visible'])
    expect(a.state.keys()).toEqual(['visible'])
    expect(off.state.owners()).toEqual([a.id])
    expect(sets).toEqual(['visible'])
    // a node without membership neither beats nor listens; the other one does not list it
    expect(a.members().map(m => m.id)).toEqual([a.id])
  })

  it('rejects bad membership options at createNode', () => {
    for (const state of [{ memberHeartbeatInterval: 0 }, { memberForgetAfter: -1 }, { maxMembers: 1.5 }, { memberPhiThreshold: 0 }, { members: 'yes' }]) {
      expect(() => createNode({ state: state as NodeOptions['state'] })).toThrow(TypeError)
    }
  })
})
