/**
 * Overlay signalling (`rtc.signal` / `rtc.error`, signalling.ts) on the memory network, without
 * WebRTC: a probe transport takes the node's `TransportContext` and records what arrives.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectionClosedError, createNode, createTestnet, MemoryNetwork, UnsupportedError } from '../src/index.js'
import type { Clock, HearsayNode, Signal, SignalFailure, Testnet, Transport, TransportContext } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'
import { MAX_SIGNAL_HOPS, SIGNAL_HOPS } from '../src/overlay/signal-frames.js'
import type { SignalService } from '../src/overlay/signalling.js'
import { SIGNAL_HOLD_MS } from '../src/overlay/signalling.js'

/** A transport that only signals: it keeps the context the node gives it and logs what arrives. */
class SignalProbe implements Transport {
  readonly name = 'probe'
  readonly protocols = ['probe']
  readonly supports = { listen: false }
  context!: TransportContext
  #remove: (() => void) | undefined
  readonly signals: Signal[] = []
  readonly failures: SignalFailure[] = []
  constructor (private readonly handle = true) {}
  async start (context: TransportContext): Promise<void> {
    this.context = context
    if (this.handle) this.#remove = context.signals.setHandlers({ onSignal: s => this.signals.push(s), onFailure: f => this.failures.push(f) })
  }

  async dial (): Promise<never> { throw new UnsupportedError('probe') }
  async listen (): Promise<never> { throw new UnsupportedError('probe') }
  async close (): Promise<void> { this.#remove?.() }
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

interface Net { t: Testnet, probes: SignalProbe[], nodes: HearsayNode[] }

/** `n` nodes with probes, linked by `topology`, no overlay (so links stay as made). */
async function net (n: number, topology: 'star' | 'chain' | 'none' = 'star', handles = (_i: number) => true): Promise<Net> {
  const probes = Array.from({ length: n }, (_, i) => new SignalProbe(handles(i)))
  const t = await createTestnet(n, { topology, node: (i) => ({ overlay: false, transports: [probes[i]!] }) })
  cleanups.push(t.stop)
  return { t, probes, nodes: t.nodes }
}

const OTHER = 'a'.repeat(52)

/** A hub (node 0) holding node 1's signal in session `sid` for a target that has started but not linked yet. */
async function heldForLateTarget (sid: string): Promise<Net & { late: SignalProbe, target: HearsayNode }> {
  const n = await net(2)
  const late = new SignalProbe()
  const target = createNode({ overlay: false, transports: [n.t.network.transport('late'), late] })
  cleanups.push(async () => { await target.stop() })
  await target.start()
  n.probes[1]!.context.signals.send(target.id, sid, 'offer')
  await eventually(() => n.nodes[0]!.metrics.get('rtc.held') === 1, 2000, 'the hub holds the signal')
  return { ...n, late, target }
}

describe('overlay signalling', () => {
  it('gives each transport the node id and one handler slot', async () => {
    const { nodes, probes } = await net(2)
    expect(probes[0]!.context.peerId).toBe(nodes[0]!.id)
    expect(() => probes[0]!.context.signals.setHandlers({ onSignal: () => {}, onFailure: () => {} })).toThrow(TypeError)
  })

  it('a neighbour gets signals directly, in order', async () => {
    const { nodes, probes } = await net(2)
    for (let i = 0; i < 5; i++) probes[1]!.context.signals.send(nodes[0]!.id, 's1', { i })
    await eventually(() => probes[0]!.signals.length === 5)
    expect(probes[0]!.signals.map(s => (s.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4])
    expect(probes[0]!.signals[0]).toMatchObject({ from: nodes[1]!.id, session: 's1' })
    expect(nodes[0]!.metrics.get('rtc.forwarded')).toBe(0)
  })

  it('through a common neighbour: the first signal probes, the rest wait for the route, replies come back the same way', async () => {
    const { nodes, probes } = await net(3) // 1 and 2 both linked to 0 only
    const [hub, a, b] = nodes as [HearsayNode, HearsayNode, HearsayNode]
    const [, pa, pb] = probes as [SignalProbe, SignalProbe, SignalProbe]
    for (let i = 0; i < 4; i++) pa.context.signals.send(b.id, 'sx', { i })
    await eventually(() => pb.signals.length === 1)
    // the later ones wait: no route yet
    expect(pb.signals.length).toBe(1)
    pb.context.signals.send(a.id, 'sx', { answer: true })
    await eventually(() => pa.signals.length === 1 && pb.signals.length === 4)
    expect(pb.signals.map(s => (s.data as { i: number }).i)).toEqual([0, 1, 2, 3])
    expect(pa.signals[0]).toMatchObject({ from: b.id, session: 'sx', data: { answer: true } })
    expect(hub.metrics.get('rtc.forwarded')).toBe(5)
    expect(a.metrics.get('rtc.probes')).toBe(1)
    // the route is known now: no more probing
    pa.context.signals.send(b.id, 'sx', { i: 4 })
    await eventually(() => pb.signals.length === 5)
    expect(a.metrics.get('rtc.probes')).toBe(1)
  })

  it('a second session to the same peer does not wait for the first one\'s route', async () => {
    const { nodes, probes } = await net(3)
    const [, pa, pb] = probes as [SignalProbe, SignalProbe, SignalProbe]
    pa.context.signals.send(nodes[2]!.id, 'one', 'offer 1')
    pa.context.signals.send(nodes[2]!.id, 'one', 'candidate 1')
    pa.context.signals.send(nodes[2]!.id, 'two', 'offer 2')
    // nobody answered: each session's first signal went out, the candidate waits
    await eventually(() => pb.signals.length === 2)
    expect(pb.signals.map(s => s.data)).toEqual(['offer 1', 'offer 2'])
    pb.context.signals.send(nodes[1]!.id, 'two', 'answer 2')
    await eventually(() => pb.signals.length === 3)
    expect(pb.signals[2]!.data).toBe('candidate 1')
  })

  it('several common neighbours: the probe goes to each, the target drops the copies', async () => {
    const network = new MemoryNetwork()
    const probes = Array.from({ length: 4 }, () => new SignalProbe())
    const t = await createTestnet(4, { network, topology: 'none', node: (i) => ({ overlay: false, transports: [probes[i]!] }) })
    cleanups.push(t.stop)
    const [a, x, y, b] = t.nodes as [HearsayNode, HearsayNode, HearsayNode, HearsayNode]
    await a.dial('memory:node-1'); await a.dial('memory:node-2')
    await b.dial('memory:node-1'); await b.dial('memory:node-2')
    // x and y take a and b in once they checked their last handshake message
    await eventually(() => x.peers().length === 2 && y.peers().length === 2)
    probes[0]!.context.signals.send(b.id, 's', 'offer')
    await eventually(() => b.metrics.get('drops.rtc-duplicate') === 1)
    expect(probes[3]!.signals.map(s => s.data)).toEqual(['offer'])
    expect(x.metrics.get('rtc.forwarded') + y.metrics.get('rtc.forwarded')).toBe(2)
  })

  it('a probe that fails after another one found the target does not end the session (a late `unreachable` is counted, not delivered)', async () => {
    const network = new MemoryNetwork()
    const probes = Array.from({ length: 5 }, () => new SignalProbe())
    const t = await createTestnet(5, { network, topology: 'none', node: (i) => ({ overlay: false, transports: [probes[i]!] }) })
    cleanups.push(t.stop)
    const [a, x, y, z, b] = t.nodes as [HearsayNode, HearsayNode, HearsayNode, HearsayNode, HearsayNode]
    const [pa, , py, , pb] = probes as [SignalProbe, SignalProbe, SignalProbe, SignalProbe, SignalProbe]
    // a - x - b, and a - y - z with a slow y - z link: y's way to b (a stale route) is a dead end at z
    await a.dial('memory:node-1'); await a.dial('memory:node-2')
    await b.dial('memory:node-1'); await y.dial('memory:node-3')
    await eventually(() => x.peers().length === 2 && y.peers().length === 2)
    network.setLatency(300, 'node-2', 'node-3')
    ;(py.context.signals as unknown as SignalService).learnRoute(b.id, z.id)
    pa.context.signals.send(b.id, 's', 'offer')
    await eventually(() => pb.signals.length === 1)
    pb.context.signals.send(a.id, 's', 'answer')
    await eventually(() => pa.signals.length === 1)
    // y's probe comes back unreachable after the answer: the session goes on through x
    await eventually(() => a.metrics.get('rtc.errors.in') === 1)
    expect(z.metrics.get('drops.rtc-no-route')).toBe(1)
    expect(pa.failures).toEqual([])
    expect(a.metrics.get('drops.rtc-probe-late')).toBe(1)
    pa.context.signals.send(b.id, 's', 'candidate')
    await eventually(() => pb.signals.length === 2)
    // a report through the link the session uses still ends it
    ;(probes[1]!.context.signals as unknown as SignalService).fail(a.id, 's', 'cancelled')
    await eventually(() => pa.failures.length === 1)
  })

  it('an unknown peer: every neighbour answers unreachable (after holding the signal SIGNAL_HOLD_MS) and the session fails', async () => {
    const { nodes, probes } = await net(3)
    const sent = performance.now()
    probes[1]!.context.signals.send(OTHER, 'lost', 'offer')
    await eventually(() => probes[1]!.failures.length === 1)
    expect(performance.now() - sent).toBeGreaterThanOrEqual(SIGNAL_HOLD_MS - 5)
    expect(probes[1]!.failures[0]).toEqual({ from: OTHER, session: 'lost', code: 'unreachable' })
    expect(nodes[0]!.metrics.get('drops.rtc-no-route')).toBe(1)
    expect(nodes[1]!.metrics.get('rtc.unreachable')).toBe(1)
  })

  it('a signal for a peer that is connecting to the forwarder right now waits for it, not answered unreachable (first contact)', async () => {
    // the dialler's signal reaches the hub before the target's link does
    const { nodes, probes, late, target } = await heldForLateTarget('first')
    await target.dial('memory:node-0')
    await eventually(() => late.signals.length === 1, 5000, 'the held signal delivered')
    expect(late.signals[0]).toMatchObject({ from: nodes[1]!.id, session: 'first', data: 'offer' })
    expect(nodes[0]!.metrics.get('rtc.held-forwarded')).toBe(1)
    expect(probes[1]!.failures).toEqual([])
  })

  it('a forwarder that stops forgets the signals it held: after a restart the target connecting gets none of them', async () => {
    const { nodes, late, target } = await heldForLateTarget('old')
    await nodes[0]!.stop()
    await nodes[0]!.start()
    await target.dial('memory:node-0')
    await eventually(() => nodes[0]!.peers().some(p => p.id === target.id), 2000, 'the hub links the target')
    expect(nodes[0]!.metrics.get('rtc.held-forwarded')).toBe(0)
    expect(late.signals).toEqual([])
  })

  it('a target with no WebRTC refuses: the dialler hears `refused`', async () => {
    const { nodes, probes } = await net(3, 'star', i => i !== 2)
    probes[1]!.context.signals.send(nodes[2]!.id, 'r', 'offer')
    await eventually(() => probes[1]!.failures.length === 1)
    expect(probes[1]!.failures[0]).toEqual({ from: nodes[2]!.id, session: 'r', code: 'refused' })
    expect(nodes[2]!.metrics.get('drops.rtc-unhandled')).toBe(1)
  })

  it('fail() reaches the far end as a failure of that session', async () => {
    const { nodes, probes } = await net(3)
    probes[1]!.context.signals.send(nodes[2]!.id, 'c', 'offer')
    await eventually(() => probes[2]!.signals.length === 1)
    probes[2]!.context.signals.fail(nodes[1]!.id, 'c', 'busy')
    await eventually(() => probes[1]!.failures.length === 1)
    expect(probes[1]!.failures[0]).toEqual({ from: nodes[2]!.id, session: 'c', code: 'busy' })
  })

  it('signals wait for the first peer of a node that is still connecting, then go out', async () => {
    const { nodes, probes } = await net(3, 'none')
    const [, a, b] = nodes as [HearsayNode, HearsayNode, HearsayNode]
    await b.dial('memory:node-0')
    probes[1]!.context.signals.send(b.id, 'early', 'offer')
    expect(a.peers()).toHaveLength(0)
    await a.dial('memory:node-0')
    await eventually(() => probes[2]!.signals.length === 1)
    expect(probes[2]!.signals[0]).toMatchObject({ from: a.id, session: 'early' })
  })

  it('with no route for probeTimeout (15 s) the session fails as unreachable', async () => {
    // a clock 100 times faster than the wall: 15 s pass in 150 ms
    const t0 = Date.now()
    const fast: Clock = {
      now: () => t0 + (Date.now() - t0) * 100,
      setTimeout: (fn, ms) => setTimeout(fn, ms / 100),
      clearTimeout: (h) => { clearTimeout(h as ReturnType<typeof setTimeout>) }
    }
    const probe = new SignalProbe()
    const n = createNode({ overlay: false, clock: fast, transports: [probe] })
    cleanups.push(async () => { await n.stop() })
    await n.start()
    const started = Date.now()
    probe.context.signals.send(OTHER, 'wait', 'offer')
    await eventually(() => probe.failures.length === 1, 5_000)
    expect(probe.failures[0]).toEqual({ from: OTHER, session: 'wait', code: 'unreachable' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })

  it('a neighbour cannot speak for another peer; malformed frames are counted', async () => {
    const { nodes } = await net(3)
    const [hub, a, b] = nodes as [HearsayNode, HearsayNode, HearsayNode]
    const toHub = a.getPeer(hub.id)!
    // fresh from its sender (all hops left) but `from` is not the sender: dropped, not forwarded
    a.sendProtocol(toHub, 'rtc.signal', { from: OTHER, to: b.id, sid: 'x', n: 0, hops: SIGNAL_HOPS, data: 1 })
    a.sendProtocol(toHub, 'rtc.signal', { from: a.id, to: b.id, sid: '', n: 0, hops: 1, data: 1 })
    a.sendProtocol(toHub, 'rtc.signal', { from: a.id, to: b.id, sid: 'x', n: 0, hops: MAX_SIGNAL_HOPS + 1, data: 1 })
    // a signal of the hub's own that came back to it
    a.sendProtocol(toHub, 'rtc.signal', { from: hub.id, to: b.id, sid: 'x', n: 0, hops: 1, data: 1 })
    a.sendProtocol(toHub, 'rtc.error', { from: a.id, to: b.id, sid: 'x', hops: 1, code: 'nope', peer: a.id })
    a.sendProtocol(toHub, 'rtc.signal', { from: a.id, to: b.id, sid: 'x', n: 0, hops: 0, data: 1 })
    await eventually(() => hub.metrics.get('drops.rtc-invalid') === 3 && hub.metrics.get('drops.rtc-spoofed') === 1 && hub.metrics.get('drops.rtc-hops') === 1 && hub.metrics.get('drops.rtc-loop') === 1)
    expect(hub.metrics.get('rtc.forwarded')).toBe(0)
  })

  it('a next hop whose link is closing (still listed) is no way on: the sender hears unreachable at once, not after its timeout', async () => {
    const { nodes, probes } = await net(3, 'chain') // 0 - 1 - 2
    // 1's link to 2 has closed; its close is not reported yet (a moment every close has)
    const conn = nodes[1]!.getPeer(nodes[2]!.id)!.link.conn
    Object.defineProperty(conn, 'closed', { get: () => true })
    conn.send = () => { throw new ConnectionClosedError() }
    const started = Date.now()
    probes[0]!.context.signals.send(nodes[2]!.id, 'gone', 'offer')
    await eventually(() => probes[0]!.failures.length === 1, 3000, 'the failure at the sender')
    expect(probes[0]!.failures[0]).toEqual({ from: nodes[2]!.id, session: 'gone', code: 'unreachable' })
    expect(Date.now() - started).toBeLessThan(3000)
    expect(nodes[1]!.metrics.get('rtc.forwarded')).toBe(0)
  })

  it('multi-hop: forwarders follow learned next hops to a far target, and the answer comes back the way the signal went', async () => {
    const { nodes, probes } = await net(5, 'chain') // 0 - 1 - 2 - 3 - 4
    const svc = (i: number): SignalService => probes[i]!.context.signals as unknown as SignalService
    const id = (i: number): string => nodes[i]!.id
    // what membership messages show: 1 got a FORWARD_JOIN for 4 from 2, 2 a SHUFFLE of 4's from 3
    svc(1).observe(id(2), 'hv.fjoin', { newId: id(4), newAddrs: [`webrtc:${id(4)}`], ttl: 3 })
    svc(2).observe(id(3), 'hv.shuffle', { origin: id(4), originAddrs: [], ttl: 2, peers: [] })
    // a live route is kept: a later walk through another neighbour does not replace it
    svc(2).observe(id(1), 'hv.shuffle', { origin: id(4), originAddrs: [], ttl: 2, peers: [] })
    expect(svc(1).canSignal(id(4))).toBe(true)
    expect(svc(0).canSignal(id(4))).toBe(false)
    // the peers a SHUFFLE or its reply lists are no route (the forwarder, the replier need not
    // know a way to them); those of a refusal or a step back (the sender's neighbours) are
    const stranger = 'a'.repeat(52)
    const entry = [{ id: stranger, addrs: [`webrtc:${stranger}`] }]
    svc(0).observe(id(1), 'hv.shuffle', { origin: id(1), originAddrs: [], ttl: 2, peers: entry })
    svc(0).observe(id(1), 'hv.shuffle-reply', { peers: entry })
    expect(svc(0).canSignal(stranger)).toBe(false)
    svc(0).observe(id(1), 'hv.sb', { peers: entry })
    expect(svc(0).canSignal(stranger)).toBe(true)
    for (let i = 0; i < 3; i++) svc(0).send(id(4), 'far', { i })
    await eventually(() => probes[4]!.signals.length === 1)
    expect(probes[4]!.signals[0]).toMatchObject({ from: id(0), session: 'far', data: { i: 0 } })
    // the way back was learned on the way: no route was given for 0 anywhere
    svc(4).send(id(0), 'far', { answer: true })
    await eventually(() => probes[0]!.signals.length === 1 && probes[4]!.signals.length === 3)
    expect(probes[4]!.signals.map(s => (s.data as { i: number }).i)).toEqual([0, 1, 2])
    // 1 and 2 routed the three signals out, 2 and 3 the answer back (1 and 3 have an end as neighbour)
    expect(nodes[1]!.metrics.get('rtc.forwarded-routed')).toBe(3)
    expect(nodes[2]!.metrics.get('rtc.forwarded-routed')).toBe(4)
    expect(nodes[3]!.metrics.get('rtc.forwarded-routed')).toBe(1)
    expect(nodes[3]!.metrics.get('rtc.forwarded')).toBe(4)
    expect(svc(0).canSignal(id(4))).toBe(true)
    expect(probes[0]!.failures).toEqual([])
  })

  it('a node whose transports take no signals (a relay without WebRTC) forwards them but cannot dial webrtc: peers (canSignal false)', async () => {
    const { nodes, probes } = await net(3, 'star', i => i !== 0)
    const svc = (i: number): SignalService => probes[i]!.context.signals as unknown as SignalService
    expect(svc(0).canSignal(nodes[1]!.id)).toBe(false)
    expect(svc(1).canSignal(nodes[0]!.id)).toBe(true)
    probes[1]!.context.signals.send(nodes[2]!.id, 'via-hub', 'offer')
    await eventually(() => probes[2]!.signals.length === 1)
    expect(nodes[0]!.metrics.get('rtc.forwarded')).toBe(1)
  })

  it('multi-hop: a forwarder with no way on answers unreachable back along the path, and SIGNAL_HOPS bounds the walk', async () => {
    const n = SIGNAL_HOPS + 3
    const { nodes, probes } = await net(n, 'chain')
    const svc = (i: number): SignalService => probes[i]!.context.signals as unknown as SignalService
    const id = (i: number): string => nodes[i]!.id
    // a dead end: 1 → 2 → 3, and 3 knows nothing of the target
    svc(1).learnRoute(OTHER as never, id(2))
    svc(2).learnRoute(OTHER as never, id(3))
    svc(0).send(OTHER as never, 'dead', 1)
    await eventually(() => probes[0]!.failures.length === 1)
    expect(probes[0]!.failures[0]).toEqual({ from: OTHER, session: 'dead', code: 'unreachable' })
    expect(nodes[3]!.metrics.get('drops.rtc-no-route')).toBe(1)
    // a route as long as the chain: the signal stops after SIGNAL_HOPS forwards, counted, and the
    // sender hears unreachable
    const last = n - 1
    for (let i = 1; i < last - 1; i++) svc(i).learnRoute(id(last), id(i + 1))
    svc(0).send(id(last), 'long', 1)
    await eventually(() => probes[0]!.failures.length === 2)
    expect(probes[0]!.failures[1]).toEqual({ from: id(last), session: 'long', code: 'unreachable' })
    expect(nodes[SIGNAL_HOPS + 1]!.metrics.get('drops.rtc-hops')).toBe(1)
    expect(probes[last]!.signals).toEqual([])
  })

  it('too many waiting signals for one target fail the newest session as busy', async () => {
    const { probes } = await net(2, 'none')
    // no peer: everything waits; the 129th signal to one target is over the bound
    for (let i = 0; i < 129; i++) probes[1]!.context.signals.send(OTHER, `s${i}`, i)
    await eventually(() => probes[1]!.failures.length === 1)
    expect(probes[1]!.failures[0]).toEqual({ from: OTHER, session: 's128', code: 'busy' })
  })

  it('bad arguments throw TypeError; an oversized signal throws TooLargeError', async () => {
    const { nodes, probes } = await net(2)
    const s = probes[1]!.context.signals
    expect(() => s.send('nope', 's', 1)).toThrow(TypeError)
    expect(() => s.send(nodes[1]!.id, 's', 1)).toThrow(TypeError)
    expect(() => s.send(nodes[0]!.id, 'x'.repeat(65), 1)).toThrow(TypeError)
    expect(() => s.send(nodes[0]!.id, 's', new Uint8Array(300_000))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
  })

  it('a relink ends when a link to the peer comes up by another way: the next loss is dialled at once, not after the old backoff', async () => {
    const { nodes, probes } = await net(3, 'none')
    const svc = probes[1]!.context.signals as unknown as SignalService
    const target = nodes[2]!
    // a neighbour lost in an outage: every dial fails, and the relink backs off (0, 1, 2, 4, 8, 16 intervals)
    let failed = 0
    svc.relink(target.id, async () => { failed++; throw new Error('the path is down') }, 50)
    await eventually(() => failed === 4, 2_000, 'four failed relink dials')
    // the peer comes back by its own dial (here node 1 dials it: any link counts) while the
    // relink waits 8 intervals (400 ms) for its next attempt
    await nodes[1]!.dial('memory:node-2')
    // the link is lost again: its relink dials at once. Before, the old relink held the peer's
    // slot and this loss waited for the old schedule (up to 16 intervals, 16 s at the default)
    let dialled = 0
    svc.relink(target.id, async () => { dialled++ }, 50)
    await eventually(() => dialled === 1, 2_000, 'the new loss dialled at once')
    expect(failed).toBe(4)
  })

  it('a probe start failure fails node.start()', async () => {
    const bad: Transport = { name: 'bad', protocols: ['bad'], supports: { listen: false }, dial: async () => { throw new Error('x') }, listen: async () => { throw new Error('x') }, close: async () => {}, start: async () => { throw new UnsupportedError('no WebRTC here') } }
    const n = createNode({ transports: [bad] })
    await expect(n.start()).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' })
    await n.stop()
  })
})
