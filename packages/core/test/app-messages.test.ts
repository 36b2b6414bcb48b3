/**
 * The application layer through the public API on the memory testnet: typed messages and
 * routes, overlay-wide broadcast, middleware (inbound, outbound, plugin and connection hooks),
 * the loop-safe relays, and the node's timers.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, createTestnet, plainChannel, relay, smartRelay, TooLargeError } from '../src/index.js'
import type { Clock, HearsayNode, InboundMessage, Middleware, NodeOptions, Peer, Testnet } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'
import { TimerSet } from '../src/util/clock.js'
import { overlayConnected } from '../src/testing/compliance/overlay.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

const fast: NodeOptions = { shuffleInterval: 200, heartbeatInterval: 50, rejoinDelay: 50, rejoinMaxDelay: 400, healInterval: 300 }

async function net (n: number, opts: Parameters<typeof createTestnet>[1] = {}): Promise<Testnet> {
  const t = await createTestnet(n, { ...opts, node: (i) => ({ channel: plainChannel(), ...opts.node?.(i) }) })
  cleanups.push(t.stop)
  return t
}

/** n nodes without the overlay, linked by `edges` (dialler, listener). */
async function graph (n: number, edges: Array<[number, number]>): Promise<Testnet> {
  const t = await net(n, { topology: 'none', node: () => ({ overlay: false }) })
  await Promise.all(edges.map(async ([a, b]) => { await t.nodes[a]!.dial(`memory:node-${b}`) }))
  const degree = (i: number): number => edges.filter(([a, b]) => a === i || b === i).length
  await eventually(() => t.nodes.every((x, i) => x.peers().length === degree(i)), 5000, 'links')
  return t
}

/** n nodes, each linked to the next and the last to the first: a cycle. */
async function ring (n: number): Promise<Testnet> {
  return await graph(n, Array.from({ length: n }, (_, i) => [i, (i + 1) % n] as [number, number]))
}

/** An overlay of n nodes joining through node 0. */
async function overlay (n: number, extra: NodeOptions = {}): Promise<Testnet> {
  const t = await net(n, { topology: 'none', node: (i) => ({ ...fast, minPeers: 2, maxPeers: 4, seeds: i === 0 ? [] : ['memory:node-0'], ...extra }) })
  // one component, not just neighbours everywhere: a broadcast made while the joins left two
  // groups never reaches the other (gossip keeps no history across a split)
  await eventually(() => t.nodes.every(x => x.overlay!.active.length >= 2) && overlayConnected(t.nodes), 15_000, 'overlay')
  return t
}

function peerOf (a: HearsayNode, b: HearsayNode): Peer { return a.getPeer(b.id)! }

describe('typed messages and routes', () => {
  it('routes by type, falls back to "*", and counts messages nobody handles', async () => {
    const t = await net(2)
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    const got: string[] = []
    b.route('chat', (msg, peer) => { got.push(`chat:${String((msg.data as { text: string }).text)}:${peer.id === a.id}:${msg.via}:${msg.hops}`) })
    const toB = peerOf(a, b)
    toB.send('nobody-listens', 1)
    toB.send('chat', { text: 'hi' })
    await eventually(() => got.length === 1)
    expect(got).toEqual([`chat:hi:true:direct:1`])
    await eventually(() => b.metrics.get('drops.unknown-type') === 1, 2000, 'unrouted message counted')
    const off = b.route('*', (msg) => { got.push(`*:${msg.type}`) })
    toB.send('other', null)
    toB.send('chat', { text: 'again' })
    await eventually(() => got.length === 3)
    expect(got.slice(1)).toEqual(['*:other', 'chat:again:true:direct:1'])
    off()
    toB.send('other', null)
    await eventually(() => b.metrics.get('drops.unknown-type') === 2, 2000, 'counted again once the route is gone')
    expect(b.metrics.get('messages.in')).toBe(5)
  })

  it('a "message" listener counts as handling; a throwing route is counted and reported, the others still run', async () => {
    const t = await net(2)
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    const seen: InboundMessage[] = []
    const errors: Error[] = []
    b.on('error', (e) => { errors.push(e) })
    b.on('message', (m) => { seen.push(m) })
    b.route('x', () => { throw new Error('boom') })
    b.route('x', () => { seen.push({ type: 'second' } as InboundMessage) })
    peerOf(a, b).send('x', 1)
    peerOf(a, b).send('y', 2)
    await eventually(() => seen.length === 3)
    expect(seen.map(m => m.type)).toEqual(['second', 'x', 'y'])
    expect(seen[1]!.origin).toBe(a.id)
    expect(errors.map(e => e.message)).toEqual(['boom'])
    expect(b.metrics.get('drops.handler-error')).toBe(1)
    expect(b.metrics.get('drops.unknown-type')).toBe(0)
  })

  it('refuses bad types and oversized data at the caller, before anything is sent', async () => {
    const t = await net(2, { node: () => ({ limits: { maxFrameBytes: 20_000 } }) })
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    const toB = peerOf(a, b)
    const framesBefore = a.metrics.get('frames.out')
    expect(() => { toB.send('hs.ping', {}) }).toThrow(TypeError)
    expect(() => { toB.send('st.data', {}) }).toThrow(TypeError)
    expect(() => { toB.send('', {}) }).toThrow(TypeError)
    expect(() => { toB.send(42 as unknown as string, {}) }).toThrow(TypeError)
    expect(() => { toB.send('x'.repeat(65), {}) }).toThrow(TooLargeError)
    expect(() => { toB.send('é'.repeat(33), {}) }).toThrow(TooLargeError) // 66 UTF-8 bytes
    expect(() => { toB.send('big', new Uint8Array(25_000)) }).toThrow(TooLargeError)
    expect(() => { a.broadcast('big', new Uint8Array(25_000)) }).toThrow(TooLargeError)
    expect(() => { a.broadcast('kv.set', 1) }).toThrow(TypeError)
    expect(() => { a.broadcast('ok', 1, { limit: -1 }) }).toThrow(TypeError)
    expect(() => { b.route('rr.reply', () => {}) }).toThrow(TypeError)
    expect(() => { b.route('y'.repeat(65), () => {}) }).toThrow(TooLargeError)
    expect(() => { b.route('ok', 'nope' as unknown as () => void) }).toThrow(TypeError)
    expect(a.metrics.get('frames.out')).toBe(framesBefore)
    // 64 bytes is allowed
    const got: string[] = []
    b.route('z'.repeat(64), (m) => { got.push(m.type) })
    toB.send('z'.repeat(64), null)
    await eventually(() => got.length === 1)
  })

  it.each(['flood', 'plumtree'] as const)('broadcast (%s) reaches every other node of the overlay once, with origin and hops', async (mode) => {
    const t = await overlay(12, { broadcast: mode })
    const got = new Map<string, InboundMessage[]>()
    for (const n of t.nodes) {
      n.route('news', (msg) => {
        const l = got.get(n.id) ?? []
        l.push(msg)
        got.set(n.id, l)
      })
    }
    const origin = t.nodes[5]!
    origin.broadcast('news', { n: 1 })
    await eventually(() => got.size === 11, 10_000, 'every other node')
    origin.broadcast('news', { n: 2 })
    await eventually(() => [...got.values()].every(l => l.length === 2), 10_000, 'second broadcast')
    expect(got.has(origin.id)).toBe(false)
    for (const l of got.values()) {
      expect(l.map(m => (m.data as { n: number }).n)).toEqual([1, 2])
      for (const m of l) {
        expect(m.via).toBe('broadcast')
        expect(m.origin).toBe(origin.id)
        expect(m.hops).toBeGreaterThanOrEqual(1)
      }
    }
    // broadcasts are messages, not requests
    expect(t.nodes.every(n => n.metrics.get('announce.delivered') === 0)).toBe(true)
  })

  it('broadcast honours its hop limit', async () => {
    const t = await overlay(10)
    const origin = t.nodes[0]!
    const got = new Map<string, Array<{ data: unknown, hops: number, from: string }>>()
    for (const n of t.nodes) n.route('x', (m) => { got.set(n.id, [...(got.get(n.id) ?? []), { data: m.data, hops: m.hops, from: m.from.id }]) })
    origin.broadcast('x', 'near', { limit: 1 })
    // a second broadcast, unlimited, behind it on the same links: once it is everywhere, the first is done
    origin.broadcast('x', 'far')
    await eventually(() => t.nodes.slice(1).every(n => got.get(n.id)?.some(r => r.data === 'far') === true), 10_000, 'marker everywhere')
    // the origin's view may change meanwhile (nodes still join through it, the only seed): which
    // nodes are its neighbours is not fixed, but a copy limited to one hop travels one hop only,
    // straight from the origin, and most nodes never see it (at most maxPeers 4 of 9 neighbours)
    const near = t.nodes.slice(1).flatMap(n => (got.get(n.id) ?? []).filter(r => r.data === 'near'))
    expect(near.length).toBeGreaterThanOrEqual(1)
    for (const r of near) expect(r).toMatchObject({ hops: 1, from: origin.id })
    expect(t.nodes.slice(1).filter(n => got.get(n.id)!.some(r => r.data === 'near')).length).toBeLessThan(9)
  })

  it('without the overlay, broadcast goes one hop to every peer', async () => {
    const t = await net(4, { topology: 'none', node: () => ({ overlay: false }) })
    const [hub, ...spokes] = t.nodes as [HearsayNode, ...HearsayNode[]]
    for (const s of spokes) await s.dial('memory:node-0')
    await eventually(() => hub.peers().length === 3)
    const got: string[] = []
    for (const s of spokes) s.route('hello', (m) => { got.push(`${m.via}:${m.origin === hub.id}`) })
    hub.broadcast('hello', 1)
    await eventually(() => got.length === 3)
    expect(got).toEqual(['direct:true', 'direct:true', 'direct:true'])
  })
})

describe('middleware', () => {
  it('runs inbound and outbound chains in order; can transform, drop, and defer', async () => {
    const t = await net(2)
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    const order: string[] = []
    a.use({
      name: 'stamp',
      outbound: (msg, ctx, next) => {
        order.push(`out1:${msg.type}:${ctx.peer?.id === b.id}:${ctx.broadcast}`)
        next({ type: msg.type, data: { wrapped: msg.data } })
      }
    }).use({ outbound: (msg, _ctx, next) => { order.push('out2'); if (msg.type !== 'secret') next() } })
    b.use((msg, ctx, next) => {
      order.push(`in1:${msg.type}:${ctx.direction}`)
      if (msg.type === 'drop-me') return
      next({ ...msg, data: { seen: true, inner: msg.data } })
    })
    b.use({
      inbound: async (msg, _ctx, next) => {
        order.push('in2')
        await Promise.resolve()
        next()
      }
    })
    const got: unknown[] = []
    b.route('*', (m) => { got.push([m.type, m.data]) })
    const toB = peerOf(a, b)
    toB.send('secret', 1)
    toB.send('drop-me', 2)
    toB.send('keep', 3)
    await eventually(() => got.length === 1)
    expect(got).toEqual([['keep', { seen: true, inner: { wrapped: 3 } }]])
    expect(order).toEqual([
      `out1:secret:true:false`, 'out2',
      `out1:drop-me:true:false`, 'out2',
      `out1:keep:true:false`, 'out2',
      'in1:drop-me:in',
      'in1:keep:in', 'in2'
    ])
  })

  it('synchronous outbound errors reach the caller; deferred ones go to the error event', async () => {
    const t = await net(2, { node: () => ({ limits: { maxFrameBytes: 20_000 } }) })
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    const errors: Error[] = []
    a.on('error', (e) => { errors.push(e) })
    let defer = false
    const pending: Array<() => void> = []
    a.use({
      outbound: (msg, _ctx, next) => {
        if (msg.type === 'refuse') throw new TypeError('refused by policy')
        if (msg.type === 'grow') { next({ type: 'grow', data: new Uint8Array(25_000) }); return }
        if (defer) { pending.push(() => { next() }); return }
        next()
      }
    })
    const toB = peerOf(a, b)
    expect(() => { toB.send('refuse', 1) }).toThrow('refused by policy')
    expect(() => { toB.send('grow', 1) }).toThrow(TooLargeError)
    expect(() => { toB.send('hs.x' as string, 1) }).toThrow(TypeError)
    defer = true
    toB.send('grow-later', new Uint8Array(25_000))
    pending.pop()!()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(TooLargeError)
    expect(a.metrics.get('drops.send-failed')).toBe(1)
  })

  it('outbound middleware that rewrites a type to a reserved one is refused', async () => {
    const t = await net(2)
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    a.use({ outbound: (msg, _ctx, next) => { next({ ...msg, type: 'hs.bye' }) } })
    expect(() => { peerOf(a, b).send('x', 1) }).toThrow(TypeError)
    expect(() => { a.broadcast('x', 1) }).toThrow(TypeError)
  })

  it('plugin hook extends the node (typed), refuses to overwrite members; connection hook runs per peer with cleanup', async () => {
    const t = await net(1)
    const a = t.nodes[0]!
    const connected: string[] = []
    const cleaned: string[] = []
    const greeter: Middleware<{ greetAll: (text: string) => number, readonly greeted: number }> = {
      name: 'greeter',
      plugin: (node) => {
        let greeted = 0
        return {
          greetAll: (text: string) => { for (const p of node.peers()) { p.send('greet', text); greeted++ } return node.peers().length },
          get greeted () { return greeted }
        }
      },
      connection: (peer) => {
        connected.push(peer.id)
        return () => { cleaned.push(peer.id) }
      }
    }
    const node = a.use(greeter)
    expect(() => a.use({ name: 'bad', plugin: () => ({ broadcast: () => {} }) })).toThrow(TypeError)
    expect(() => a.use({ name: 'bad2', plugin: () => ({ greetAll: () => 0 }) })).toThrow(TypeError)
    const b = createNode({ channel: plainChannel(), transports: [t.network.transport('b')], overlay: false })
    cleanups.push(async () => { await b.stop() })
    await b.start()
    const got: string[] = []
    b.route('greet', (m) => { got.push(String(m.data)) })
    await b.dial('memory:node-0')
    await eventually(() => connected.length === 1)
    expect(connected).toEqual([b.id])
    expect(node.greetAll('hello')).toBe(1)
    expect(node.greeted).toBe(1)
    await eventually(() => got.length === 1)
    expect(got).toEqual(['hello'])
    await b.stop()
    await eventually(() => cleaned.length === 1)
    expect(cleaned).toEqual([b.id])
  })

  it('a connection hook added while peers are connected runs for them; cleanups run at stop', async () => {
    const t = await net(3)
    const hub = t.nodes[0]!
    const hooked: string[] = []
    const cleaned: string[] = []
    hub.use({ connection: (peer) => { hooked.push(peer.id); return () => { cleaned.push(peer.id) } } })
    expect(hooked.sort()).toEqual([t.nodes[1]!.id, t.nodes[2]!.id].sort())
    await hub.stop()
    expect(cleaned.sort()).toEqual(hooked.sort())
  })

  it('use() validates its argument', async () => {
    const a = createNode({ overlay: false })
    expect(() => a.use(42 as unknown as Middleware)).toThrow(TypeError)
    expect(() => a.use({ inbound: 'x' } as unknown as Middleware)).toThrow(TypeError)
  })
})

describe('relay() and smartRelay()', () => {
  it('relay() spreads a direct message through cycles once per node, without looping (even with a huge hop limit)', async () => {
    // node 0 hangs off a 5-cycle (1..5) that has a chord (2-4): copies meet and must die
    const t = await graph(6, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 1], [2, 4]])
    for (const n of t.nodes) n.use(relay({ limit: 255 }))
    const got = new Map<string, InboundMessage[]>()
    for (const n of t.nodes) n.route('gossip', (m) => { got.set(n.id, [...(got.get(n.id) ?? []), m]) })
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    peerOf(a, b).send('gossip', 'psst')
    await eventually(() => got.size === 5, 5000, 'every node but the origin')
    // a second message behind it on the same FIFO links: once it has arrived everywhere, every copy of the first has too
    peerOf(a, b).send('gossip', 'again')
    await eventually(() => [...got.values()].every(l => l.length === 2), 5000, 'second message')
    expect(got.has(a.id)).toBe(false)
    for (const [id, l] of got) {
      expect(l.map(m => m.data)).toEqual(['psst', 'again'])
      expect(l[0]!.origin).toBe(a.id)
      expect(l[0]!.via).toBe(id === b.id ? 'direct' : 'relay')
    }
    const forwarded = t.nodes.reduce((s, n) => s + n.metrics.get('relay.forwarded'), 0)
    // each receiver passes each message on once, to its neighbours but the sender: 2 messages × (2 + 2 + 2 + 2 + 1) links
    expect(forwarded).toBeLessThanOrEqual(2 * 9)
    const dupes = t.nodes.reduce((s, n) => s + n.metrics.get('drops.relay-duplicate') + n.metrics.get('drops.relay-own'), 0)
    expect(dupes).toBeGreaterThan(0)
  })

  it('relay() stops at its hop limit', async () => {
    const t = await ring(8)
    for (const n of t.nodes) n.use(relay({ limit: 3 }))
    const got = new Set<number>()
    t.nodes.forEach((n, i) => n.route('x', () => { got.add(i) }))
    peerOf(t.nodes[0]!, t.nodes[1]!).send('x', 1)
    // 3 links from node 0 going forward: 1, 2, 3; going back through 1's other neighbour is 0 itself
    await eventually(() => got.has(3), 5000)
    peerOf(t.nodes[0]!, t.nodes[1]!).send('x', 2)
    await eventually(() => t.nodes[3]!.metrics.get('messages.in') === 2, 5000)
    expect([...got].sort()).toEqual([1, 2, 3])
  })

  it('smartRelay() delivers identical content once per node, however many paths and senders', async () => {
    const t = await ring(5)
    for (const n of t.nodes) n.use(smartRelay())
    const counts = new Map<string, number>()
    for (const n of t.nodes) n.route('same', () => { counts.set(n.id, (counts.get(n.id) ?? 0) + 1) })
    const [a] = t.nodes as [HearsayNode]
    // the origin sends the same message to both neighbours (coalescent's courier broadcast)
    for (const p of a.peers()) p.send('same', { v: 1 })
    await eventually(() => counts.size === 4, 5000)
    for (const p of a.peers()) p.send('same', { v: 'marker' })
    await eventually(() => [...counts.values()].every(c => c === 2), 5000, 'marker')
    expect(counts.has(a.id)).toBe(false)
    expect(t.nodes.reduce((s, n) => s + n.metrics.get('drops.relay-duplicate'), 0)).toBeGreaterThan(0)
  })

  it('smartRelay() dedup cache is bounded by count and by age', async () => {
    let now = 0
    const clock: Clock = { now: () => now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => { clearTimeout(h as ReturnType<typeof setTimeout>) } }
    const t = await net(2, { node: () => ({ overlay: false, clock }) })
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    const mw = smartRelay({ maxEntries: 3, maxAgeMs: 1000 })
    b.use(mw)
    let got = 0
    b.route('m', () => { got++ })
    const toB = peerOf(a, b)
    for (const v of [1, 2, 3, 4, 5]) toB.send('m', v)
    await eventually(() => got === 5)
    expect(mw.cacheSize).toBe(3)
    // 5 is still remembered: dropped
    toB.send('m', 5)
    // 1 was evicted by count: delivered again
    toB.send('m', 1)
    await eventually(() => got === 6)
    expect(b.metrics.get('drops.relay-duplicate')).toBe(1)
    // after maxAgeMs everything is forgotten
    now += 1001
    expect(mw.cacheSize).toBe(0)
    toB.send('m', 5)
    await eventually(() => got === 7)
  })

  it('relay() cache is bounded, a relay object serves one node, and malformed relay frames are counted', async () => {
    const t = await ring(3)
    const mw = relay({ maxEntries: 2 })
    t.nodes[1]!.use(mw)
    for (const n of [t.nodes[0]!, t.nodes[2]!]) n.use(relay())
    expect(() => t.nodes[0]!.use(mw)).toThrow(TypeError)
    let got = 0
    t.nodes[2]!.route('m', () => { got++ })
    for (let i = 0; i < 10; i++) peerOf(t.nodes[0]!, t.nodes[1]!).send('m', i)
    await eventually(() => got === 10)
    expect(mw.cacheSize).toBeLessThanOrEqual(2)
    const b = t.nodes[1]!
    const toB = peerOf(t.nodes[0]!, b)
    // a frame that breaks the rules: a reserved type inside, or hops above the limit
    t.nodes[0]!.sendProtocol(toB, 'fl.relay', { id: 'x', o: t.nodes[0]!.id, h: 1, l: 3, ty: 'hs.ping', d: 1 })
    t.nodes[0]!.sendProtocol(toB, 'fl.relay', { id: 'y', o: t.nodes[0]!.id, h: 4, l: 3, ty: 'm', d: 1 })
    await eventually(() => b.metrics.get('drops.relay-malformed') === 2)
    expect(() => relay({ limit: 0 })).toThrow(TypeError)
  })
})

/** A clock the test drives by hand. */
function manualClock (): Clock & { advance: (ms: number) => void, pending: () => number } {
  let now = 0
  let seq = 0
  const timers = new Map<number, { at: number, fn: () => void }>()
  return {
    now: () => now,
    setTimeout: (fn, ms) => { const id = ++seq; timers.set(id, { at: now + ms, fn }); return id },
    clearTimeout: (h) => { timers.delete(h as number) },
    pending: () => timers.size,
    advance (ms) {
      const end = now + ms
      while (true) {
        const due = [...timers.entries()].filter(([, x]) => x.at <= end).sort((x, y) => x[1].at - y[1].at)[0]
        if (due === undefined) break
        timers.delete(due[0])
        now = due[1].at
        due[1].fn()
      }
      now = end
    }
  }
}

describe('node.after and node.every', () => {
  it('run on the node clock, can be cancelled, and are cleared by stop()', async () => {
    const clock = manualClock()
    const node = createNode({ overlay: false, clock })
    await node.start()
    const fired: string[] = []
    node.after(100, () => { fired.push('after') })
    const cancelled = node.after(50, () => { fired.push('cancelled') })
    cancelled()
    let ticks = 0
    const stopEvery = node.every(30, () => { ticks++ })
    clock.advance(99)
    expect(fired).toEqual([])
    expect(ticks).toBe(3)
    clock.advance(1)
    expect(fired).toEqual(['after'])
    stopEvery()
    clock.advance(100)
    expect(ticks).toBe(3)
    node.after(10, () => { fired.push('never') })
    node.every(10, () => { fired.push('never') })
    await node.stop()
    expect(clock.pending()).toBe(0)
    clock.advance(1000)
    expect(fired).toEqual(['after'])
    expect(() => node.after(1, () => {})).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }))
    expect(() => node.every(1, () => {})).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }))
  })

  it('validate arguments; a throwing or rejecting callback is reported and every keeps going', async () => {
    const clock = manualClock()
    const node = createNode({ overlay: false, clock })
    cleanups.push(async () => { await node.stop() })
    const errors: string[] = []
    node.on('error', (e) => { errors.push(e.message) })
    expect(() => node.after(-1, () => {})).toThrow(TypeError)
    expect(() => node.after(Number.NaN, () => {})).toThrow(TypeError)
    expect(() => node.every(0, () => {})).toThrow(TypeError)
    expect(() => node.every(2 ** 31, () => {})).toThrow(TypeError)
    expect(() => node.after(1, 'x' as unknown as () => void)).toThrow(TypeError)
    // timers may be set before start (telepathine set them up front)
    let n = 0
    node.every(10, () => { n++; if (n === 1) throw new Error('tick failed') })
    node.after(5, async () => { await Promise.resolve(); throw new Error('async failed') })
    await node.start()
    clock.advance(30)
    await eventually(() => errors.length === 2)
    expect(errors.sort()).toEqual(['async failed', 'tick failed'])
    expect(n).toBe(3)
    expect(node.metrics.get('drops.timer-error')).toBe(2)
  })
})

describe('TimerSet.every', () => {
  it('ticks every interval with one timer held at a time, and stops when cancelled, from outside or from its own tick', () => {
    const clock = manualClock()
    const timers = new TimerSet(clock)
    const at: number[] = []
    const cancel = timers.every(10, () => { at.push(clock.now()) })
    expect(timers.size).toBe(1)
    clock.advance(35)
    expect(at).toEqual([10, 20, 30])
    expect([timers.size, clock.pending()]).toEqual([1, 1])
    cancel()
    clock.advance(50)
    expect(at).toEqual([10, 20, 30])
    expect([timers.size, clock.pending()]).toEqual([0, 0])

    let n = 0
    const stop = timers.every(5, () => { if (++n === 2) stop() })
    clock.advance(100)
    expect(n).toBe(2)
    expect([timers.size, clock.pending()]).toEqual([0, 0])
  })

  it('stops after a tick that throws, and clear() cancels it', () => {
    const clock = manualClock()
    const timers = new TimerSet(clock)
    let n = 0
    timers.every(10, () => { n++; throw new Error('boom') })
    expect(() => { clock.advance(10) }).toThrow('boom')
    clock.advance(100)
    expect(n).toBe(1)
    expect(clock.pending()).toBe(0)

    let m = 0
    timers.every(10, () => { m++ })
    timers.clear()
    clock.advance(100)
    expect(m).toBe(0)
    expect([timers.size, clock.pending()]).toEqual([0, 0])
  })
})
