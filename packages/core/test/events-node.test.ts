import { afterEach, describe, expect, it } from 'vitest'
import { overlayConnected } from '../src/testing/compliance/overlay.js'
import { compilePattern, createNode, createTestnet, MemoryNetwork, plainChannel, PatternListeners } from '../src/index.js'
import type { HeardEvent, HearsayNode, NodeOptions, Testnet } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

const fast: NodeOptions = { shuffleInterval: 200, heartbeatInterval: 50, rejoinDelay: 50, rejoinMaxDelay: 400, healInterval: 300 }

async function net (n: number, opts: { network?: MemoryNetwork, node?: (i: number) => NodeOptions } = {}): Promise<Testnet> {
  const t = await createTestnet(n, {
    network: opts.network,
    topology: 'none',
    node: (i) => ({ channel: plainChannel(), ...fast, minPeers: 2, maxPeers: 4, seeds: i === 0 ? [] : ['memory:node-0'], ...opts.node?.(i) })
  })
  cleanups.push(t.stop)
  return t
}


describe('wildcard patterns', () => {
  it('* is one segment, ** any number; . and : both separate segments', () => {
    const cases: Array<[string, string, boolean]> = [
      ['room.*', 'room.join', true], ['room.*', 'room:leave', true], ['room.*', 'room', false], ['room.*', 'room.a.b', false],
      ['room.**', 'room', true], ['room.**', 'room.a.b', true], ['room.**', 'rooms.a', false],
      ['*.join', 'lobby:join', true], ['*.join', 'join', false], ['*.join', 'a.b.join', false],
      ['**.join', 'join', true], ['**.join', 'a.b.join', true], ['**.join', 'join.a', false],
      ['a.**.z', 'a.z', true], ['a.**.z', 'a.b.c.z', true], ['a.**.z', 'a.b.c', false], ['a.*.**.z', 'a.z', false],
      ['**', 'anything:at.all', true], ['exact', 'exact', true], ['exact', 'exactly', false], ['ro*m', 'room', false], ['ro*m', 'ro*m', true],
      ['a:b', 'a.b', true], ['a.**.**.b', 'a.x.b', true]
    ]
    for (const [p, n, want] of cases) expect([p, n, compilePattern(p)(n)]).toEqual([p, n, want])
    expect(() => compilePattern('')).toThrow(TypeError)
    // no catastrophic backtracking
    const long = Array.from({ length: 200 }, () => 'a').join('.') + '.b'
    const started = performance.now()
    expect(compilePattern('**.a.**.a.**.a.**.c')(long)).toBe(false)
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('pattern listeners: exact and wildcard, unsubscribe, a throwing listener does not stop the others', () => {
    const errors: unknown[] = []
    const l = new PatternListeners<number>((e) => errors.push(e))
    const got: string[] = []
    const off = l.add('a.b', (v, name) => got.push(`exact ${name} ${v}`))
    l.add('a.*', () => { throw new Error('boom') })
    l.add('**', (v, name) => got.push(`all ${name} ${v}`))
    expect(l.emit('a:b', 1)).toBe(3)
    off()
    l.emit('a.b', 2)
    expect(got).toEqual(['exact a:b 1', 'all a:b 1', 'all a.b 2'])
    expect(errors).toHaveLength(2)
  })
})

describe('event bus on the memory testnet', () => {
  it.each(['flood', 'plumtree'] as const)('say reaches every other node once (%s); wildcards; no self-delivery unless asked', async (mode) => {
    const t = await net(10, { node: () => ({ broadcast: mode }) })
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 2), 15_000, 'overlay')
    const heard = new Map<string, string[]>()
    const note = (n: HearsayNode) => (data: unknown, from: string, e: HeardEvent): void => {
      heard.set(n.id, [...(heard.get(n.id) ?? []), `${e.name}:${String(data)}:${from === t.nodes[2]!.id}`])
    }
    for (const n of t.nodes) n.events.hear('room.*', note(n))
    const own: string[] = []
    t.nodes[2]!.events.hear('room.**', (d) => own.push(String(d)), { self: true })
    const other: string[] = []
    t.nodes[4]!.events.hear('lobby:*', (d) => other.push(String(d)))
    const id = t.nodes[2]!.events.say('room.join', 'alice')
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    t.nodes[2]!.events.say('room:deep.nested', 'not for room.*')
    t.nodes[2]!.events.say('lobby.enter', 'bob')
    await eventually(() => t.nodes.filter(n => n !== t.nodes[2]).every(n => heard.get(n.id)?.length === 1), 10_000, 'heard everywhere')
    await eventually(() => other.length === 1, 5000, 'lobby')
    for (const n of t.nodes) {
      if (n === t.nodes[2]) expect(heard.get(n.id)).toBeUndefined()
      else expect(heard.get(n.id)).toEqual(['room.join:alice:true'])
    }
    // the origin with { self: true } hears its own events at once (room.** matches both)
    expect(own).toEqual(['alice', 'not for room.*'])
    expect(other).toEqual(['bob'])
    // events are delivered once even though the overlay has cycles
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(t.nodes.reduce((s, n) => s + n.metrics.get('events.heard'), 0)).toBe(9 * 3)
  })

  it('hearOnce: handler and promise forms, timeout and abort', async () => {
    const t = await net(3)
    await eventually(() => t.nodes.every(n => n.peers().length >= 1) && overlayConnected(t.nodes), 10_000, 'overlay')
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    let count = 0
    b.events.hearOnce('ping', () => { count++ })
    const next = b.events.hearOnce('ping', { timeout: 5000 })
    a.events.say('ping', 1)
    a.events.say('ping', 2)
    const e = await next
    expect(e).toMatchObject({ name: 'ping', data: 1, from: a.id })
    await eventually(() => b.metrics.get('events.heard') === 2, 5000, 'both heard')
    expect(count).toBe(1)
    await expect(b.events.hearOnce('never', { timeout: 50 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    const ac = new AbortController()
    const p = b.events.hearOnce('never', { signal: ac.signal })
    ac.abort()
    await expect(p).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    const own = a.events.hearOnce('mine', { self: true })
    a.events.say('mine', 'me')
    expect(await own).toMatchObject({ from: a.id, hops: 0 })
  })

  it('late joiners hear events said within their duration, not older ones', async () => {
    const network = new MemoryNetwork()
    const t = await net(4, { network })
    await eventually(() => overlayConnected(t.nodes), 10_000, 'overlay')
    t.nodes[1]!.events.say('news.flash', 'kept', { duration: 60_000 })
    t.nodes[1]!.events.say('news.brief', 'gone soon', { duration: 50 })
    t.nodes[1]!.events.say('news.now', 'not kept')
    await eventually(() => t.nodes[3]!.metrics.get('events.heard') === 3, 5000, 'heard by the others')
    await new Promise(resolve => setTimeout(resolve, 100))
    const late = createNode({ clock: network.clock, transports: [network.transport('late')], listen: ['memory:late'], channel: plainChannel(), ...fast, minPeers: 2, maxPeers: 4, seeds: ['memory:node-0'] })
    cleanups.push(async () => { await late.stop() })
    const got: string[] = []
    late.events.hear('news.*', (d) => got.push(String(d)))
    await late.start()
    await eventually(() => got.length >= 1, 10_000, 'replayed to the late joiner')
    await new Promise(resolve => setTimeout(resolve, 300))
    // once, however many neighbours replayed it
    expect(got).toEqual(['kept'])
    expect(late.metrics.get('events.heard')).toBe(1)
  })

  it('say validates before sending: typed errors, nothing sent', async () => {
    const t = await net(2, { node: () => ({ events: { maxEventBytes: 1000, maxNameBytes: 16, maxDuration: 10_000 } }) })
    await eventually(() => t.nodes[1]!.peers().length === 1, 5000, 'link')
    const a = t.nodes[0]!
    const out = a.metrics.get('frames.out')
    expect(() => a.events.say('big', 'x'.repeat(2000))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => a.events.say('n'.repeat(17))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => a.events.say('')).toThrow(TypeError)
    expect(() => a.events.say('x', 1, { duration: -1 })).toThrow(TypeError)
    expect(() => a.events.say('x', 1, { duration: 20_000 })).toThrow(TypeError)
    expect(() => a.events.say('x', Symbol('s'))).toThrow(TypeError)
    expect(() => a.events.hear('', () => {})).toThrow(TypeError)
    expect(a.metrics.get('frames.out') - out).toBeLessThanOrEqual(1) // at most a heartbeat
    expect(a.metrics.get('events.said')).toBe(0)
  })

  it('with overlay: false events go to every connected peer', async () => {
    const t = await createTestnet(3, { topology: 'full', node: () => ({ channel: plainChannel(), overlay: false }) })
    cleanups.push(t.stop)
    const got: string[] = []
    t.nodes[1]!.events.hear('*', (d) => got.push(`1:${String(d)}`))
    t.nodes[2]!.events.hear('*', (d) => got.push(`2:${String(d)}`))
    t.nodes[0]!.events.say('hello', 'p2p')
    await eventually(() => got.length === 2, 5000, 'delivered')
    expect(got.sort()).toEqual(['1:p2p', '2:p2p'])
  })
})
