/**
 * First contact (issue 13): what a program does in its first second — a broadcast in the
 * `online` handler or right after `start()`, a peer reached with `dial()`, a logger of another
 * library, a seed that is not up yet, addresses saved after start, a stop and a start again —
 * must reach the network or fail loudly, never vanish.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { acceptInbound, createNode, flood, HearsayNode, MemoryNetwork, plainChannel, relay } from '../src/index.js'
import type { InboundMessage, NodeOptions } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

const fast: NodeOptions = { channel: plainChannel(), shuffleInterval: 200, heartbeatInterval: 50, rejoinDelay: 50, rejoinMaxDelay: 400, healInterval: 300 }

function node (network: MemoryNetwork, name: string, opts: NodeOptions = {}): HearsayNode {
  const n = createNode({ ...fast, transports: [network.transport(name)], listen: [`memory:${name}`], ...opts })
  cleanups.push(async () => { await n.stop() })
  return n
}

function heard (n: HearsayNode, type: string): unknown[] {
  const got: unknown[] = []
  n.route(type, (msg: InboundMessage) => { got.push(msg.data) })
  return got
}

describe('first contact', () => {
  it('online fires when the first overlay neighbour is there, and a broadcast made in its handler reaches every node', async () => {
    const network = new MemoryNetwork()
    const seed = node(network, 'seed')
    const b = node(network, 'b', { seeds: ['memory:seed'] })
    await seed.start(); await b.start()
    await eventually(() => (b.overlay?.active.length ?? 0) > 0 && (seed.overlay?.active.length ?? 0) > 0)
    const atSeed = heard(seed, 'hello')
    const atB = heard(b, 'hello')
    const a = node(network, 'a', { seeds: ['memory:seed'] })
    let activeAtOnline = -1
    a.on('online', () => {
      activeAtOnline = a.overlay?.active.length ?? 0
      a.broadcast('hello', 'from a')
    })
    await a.start()
    await eventually(() => atSeed.length === 1 && atB.length === 1, 5000, 'the greeting at the seed and at b')
    expect(activeAtOnline).toBe(1)
    expect(a.metrics.get('join-queue.held')).toBe(0)
  })

  it('once a newcomer is online, its contact has taken it in: what others broadcast right then reaches it (JOIN is acknowledged)', async () => {
    // 20 ms one way: a JOIN in flight for a while, as over a real network
    const network = new MemoryNetwork({ latency: 20 })
    const a = node(network, 'a', { seeds: ['memory:b'] })
    const b = node(network, 'b', { seeds: ['memory:a'] })
    const c = node(network, 'c', { seeds: ['memory:a'] })
    const got = [a, b, c].map(n => heard(n, 'line'))
    const online = [a, b, c].map(n => new Promise<void>(resolve => { n.once('online', () => { resolve() }) }))
    await Promise.all([a.start(), b.start(), c.start()])
    await Promise.all(online)
    a.broadcast('line', 'a'); b.broadcast('line', 'b'); c.broadcast('line', 'c')
    await eventually(() => got.every(g => g.length === 2), 5000, `every line at every other node (a: ${JSON.stringify(got[0])}, b: ${JSON.stringify(got[1])}, c: ${JSON.stringify(got[2])})`)
    expect(got.map(g => [...g].sort())).toEqual([['b', 'c'], ['a', 'c'], ['a', 'b']])
    expect(a.overlay!.drops.unexpected ?? 0).toBe(0)
  })

  for (const mode of ['plumtree', 'flood'] as const) {
    it(`a broadcast made while a new link is in one view and not yet in the other still crosses it (${mode}: catch-up)`, async () => {
      // 20 ms one way: b takes a in when a's NEIGHBOR arrives, a takes b in 20 ms later, on the reply
      const network = new MemoryNetwork({ latency: 20 })
      const c = node(network, 'c', { broadcast: mode })
      const a = node(network, 'a', { broadcast: mode, seeds: ['memory:c'] })
      const b = node(network, 'b', { broadcast: mode })
      const atB = heard(b, 'line')
      await c.start(); await b.start()
      const aOnline = new Promise<void>(resolve => { a.once('online', () => { resolve() }) })
      await a.start(); await aOnline
      let aViewAtSend: string[] = []
      b.once('online', () => {
        aViewAtSend = [...a.overlay!.active]
        a.broadcast('line', 'from a, in the gap')
      })
      await a.dial('memory:b')
      await eventually(() => atB.length === 1, 5000, 'the line at b')
      // the gap was real: a sent before it had b in its view
      expect(aViewAtSend).not.toContain(b.id)
      expect(atB).toEqual(['from a, in the gap'])
    })
  }

  it('broadcasts, announces and events made right after start() are held until the node joins, then delivered in order', async () => {
    const network = new MemoryNetwork()
    const seed = node(network, 'seed')
    await seed.start()
    const got = heard(seed, 'n')
    const events: unknown[] = []
    seed.events.hear('greeting', (data) => { events.push(data) })
    const replies: unknown[] = []
    seed.on('request', (req) => { req.reply(`re:${String(req.data)}`) })
    const a = node(network, 'a', { seeds: ['memory:seed'] })
    await a.start()
    expect(a.joined).toBe(false)
    for (let i = 0; i < 5; i++) a.broadcast('n', i)
    a.events.say('greeting', 'hi')
    const it = a.announce({ type: 'q', data: 'who', timeout: 3000, maxReplies: 1 })
    for await (const r of it) replies.push(r.data)
    await eventually(() => got.length === 5 && events.length === 1)
    expect(got).toEqual([0, 1, 2, 3, 4])
    expect(events).toEqual(['hi'])
    expect(replies).toEqual(['re:who'])
    expect(a.metrics.get('join-queue.held')).toBe(7)
    expect(a.metrics.get('join-queue.sent')).toBe(7)
  })

  it('a full join queue throws QueueFullError at the call; what is held when the node stops is counted and logged', async () => {
    const network = new MemoryNetwork()
    const warnings: string[] = []
    const a = node(network, 'a', { seeds: ['memory:nobody'], joinQueue: { maxMessages: 2 }, logger: { warn: (msg: string) => { warnings.push(msg) } } })
    await a.start()
    a.broadcast('x', 1)
    a.broadcast('x', 2)
    expect(() => { a.broadcast('x', 3) }).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL', name: 'QueueFullError' }))
    const bytes = node(network, 'b', { seeds: ['memory:nobody'], joinQueue: { maxBytes: 100 } })
    await bytes.start()
    expect(() => { bytes.broadcast('x', 'y'.repeat(200)) }).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }))
    await a.stop()
    expect(a.metrics.get('drops.join-queue-stopped')).toBe(2)
    expect(warnings.some(w => w.includes('stopped before it joined'))).toBe(true)
  })

  it('dial() makes the peer an overlay neighbour: broadcasts and announces travel over the dialled link', async () => {
    const network = new MemoryNetwork()
    const a = node(network, 'a')
    const b = node(network, 'b')
    await a.start(); await b.start()
    b.on('request', (req) => { req.reply('pong') })
    const got = heard(b, 'news')
    const peer = await a.dial('memory:b')
    await eventually(() => a.overlay!.active.includes(b.id) && b.overlay!.active.includes(a.id), 5000, 'both overlay views')
    a.broadcast('news', 1)
    const replies: unknown[] = []
    for await (const r of a.announce({ type: 'ping', timeout: 3000, maxReplies: 1 })) replies.push(r.data)
    await eventually(() => got.length === 1)
    expect(replies).toEqual(['pong'])
    // a plain link on request
    const c = node(network, 'c')
    await c.start()
    await c.dial('memory:a', { neighbor: false })
    expect(c.overlay!.active).toEqual([])
    expect(peer.id).toBe(b.id)
  })

  it('hangUp takes a peer, an id or an address, and says whether there was a link', async () => {
    const network = new MemoryNetwork()
    const a = node(network, 'a')
    const b = node(network, 'b')
    const c = node(network, 'c')
    await a.start(); await b.start(); await c.start()
    await a.dial('memory:b', { neighbor: false })
    await a.dial('memory:c', { neighbor: false })
    expect(await a.hangUp('memory:b')).toBe(true)
    expect(await a.hangUp(c.id)).toBe(true)
    await eventually(() => a.peers().length === 0)
    expect(await a.hangUp('memory:b')).toBe(false)
    await expect(a.hangUp('::: not an address')).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
  })

  it('takes any logger: console-like objects with some levels, smokesignal’s trace…fatal, {}', async () => {
    const network = new MemoryNetwork()
    const lines: string[] = []
    const seed = node(network, 'seed', { logger: {} })
    const partial = node(network, 'p', { seeds: ['memory:seed'], logger: { info: (m: string) => { lines.push(`info ${m}`) } } })
    const smoke = node(network, 's', {
      seeds: ['memory:seed'],
      logger: { trace: (m: string) => { lines.push(`trace ${m}`) }, fatal: (m: string) => { lines.push(`fatal ${m}`) } }
    })
    const thrower = node(network, 't', { seeds: ['memory:seed'], logger: { debug: () => { throw new Error('broken logger') } } })
    for (const n of [seed, partial, smoke, thrower]) await n.start()
    await eventually(() => [partial, smoke, thrower].every(n => n.joined))
    expect(lines).toContain('info node started')
    // debug goes to trace where there is no debug
    expect(lines.some(l => l.startsWith('trace '))).toBe(true)
    expect(() => createNode({ logger: 'loud' as never })).toThrow(TypeError)
  })

  it('use() refuses a function that could never pass a message on, naming the coalescent entry point', () => {
    const n = createNode({ transports: [] })
    expect(() => n.use(((socket: unknown) => socket) as never)).toThrow(/@hearsay\/compat\/coalescent/)
    expect(() => n.use(((msg: unknown, ctx: unknown) => [msg, ctx]) as never)).toThrow(TypeError)
    expect(() => n.use(relay())).not.toThrow()
  })

  it('retries a seed that is down at start() with backoff from rejoinDelay, not the heal timer', async () => {
    const network = new MemoryNetwork()
    const a = node(network, 'a', { seeds: ['memory:late'], rejoinDelay: 200, rejoinMaxDelay: 1000, healInterval: 0 })
    await a.start()
    const late = node(network, 'late')
    await new Promise(resolve => setTimeout(resolve, 300))
    await late.start()
    await eventually(() => a.joined, 4000, 'a to join through the late seed')
    expect(a.metrics.get('membership.rejoins')).toBeGreaterThan(0)
  })

  it('dials addresses saved to the store while it runs (peernet: save, then it connects)', async () => {
    const network = new MemoryNetwork()
    const b = node(network, 'b')
    const c = node(network, 'c')
    await b.start(); await c.start()
    const a = node(network, 'a', { minPeers: 2, rejoinDelay: 100, rejoinMaxDelay: 400 })
    await a.start()
    await a.store.save(['memory:b'])
    await eventually(() => a.overlay!.active.includes(b.id), 4000, 'a alone to dial the saved address')
    await a.store.save(['memory:c'])
    await eventually(() => a.overlay!.active.includes(c.id), 4000, 'a below minPeers to dial the next saved address')
  })

  it('stop() then start() works on the same node, keeping identity, routes, middleware, listeners and state', async () => {
    const network = new MemoryNetwork()
    const seed = node(network, 'seed')
    await seed.start()
    const a = node(network, 'a', { seeds: ['memory:seed'] })
    const seen: string[] = []
    a.route('chat', (msg) => { seen.push(String(msg.data)) })
    a.use({ name: 'tag', inbound: (msg, _ctx, next) => { next({ ...msg, data: `tagged:${String(msg.data)}` }) } })
    const lifecycle: string[] = []
    a.on('start', () => lifecycle.push('start'))
    a.on('stop', () => lifecycle.push('stop'))
    a.on('online', () => lifecycle.push('online'))
    await a.start()
    const id = a.id
    a.state.set('k', 'v')
    await eventually(() => a.joined)
    await a.stop()
    expect(a.status).toBe('stopped')
    await a.start()
    expect(a.id).toBe(id)
    expect(a.state.get('k')).toBe('v')
    await eventually(() => a.joined, 5000, 'a to rejoin after the restart')
    seed.broadcast('chat', 'again')
    await eventually(() => seen.length === 1)
    expect(seen).toEqual(['tagged:again'])
    expect(lifecycle).toEqual(['start', 'online', 'stop', 'start', 'online'])
    await a.stop(); await a.stop()
    await expect(Promise.all([a.start(), a.start()])).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
  })
})

describe('createNode checks its options', () => {
  it('an unknown option or a wrong type throws TypeError naming it', () => {
    expect(() => createNode({ colour: 'red' } as never)).toThrow(/unknown option "colour"/)
    expect(() => createNode({ minPeers: '3' } as never)).toThrow(/minPeers must be an integer/)
    expect(() => createNode({ listen: 'tcp://127.0.0.1:0' } as never)).toThrow(/listen must be an array/)
    expect(() => createNode({ broadcast: 'gossip' } as never)).toThrow(/broadcast must be 'plumtree', 'flood' or flood\(\)/)
  })

  it('a node made without createNode (as hearsay/lite\'s in browsers) that listens needs inbound: acceptInbound(), and says so', async () => {
    const network = new MemoryNetwork()
    expect(() => new HearsayNode({ transports: [network.transport('x')], listen: ['memory:x'] })).toThrow(/^listen needs the inbound option \(acceptInbound\(\); on by default with createNode/)
    const a = new HearsayNode({ ...fast, transports: [network.transport('a')], listen: ['memory:a'], inbound: acceptInbound() })
    const b = new HearsayNode({ ...fast, transports: [network.transport('b')] })
    cleanups.push(async () => { await a.stop() }, async () => { await b.stop() })
    await a.start(); await b.start()
    await b.dial('memory:a')
    await eventually(() => a.peers().length === 1, 5000, 'a accepts b')
    expect(a.metrics.get('connections.inbound')).toBe(1)
    // createNode carries it
    expect(() => createNode({ transports: [network.transport('y')], listen: ['memory:y'] })).not.toThrow()
  })

  it("broadcast: 'flood' is flood() here; a node made without createNode (as hearsay/lite's) takes flood() and refuses the name", async () => {
    expect(() => new HearsayNode({ broadcast: 'flood' })).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('flood()') }))
    expect(() => new HearsayNode({ minPeerNo: 3 } as never)).toThrow(/unknown option "minPeerNo" \(docs/)
    const network = new MemoryNetwork()
    const a = node(network, 'a', { broadcast: 'flood' })
    const b = new HearsayNode({ ...fast, transports: [network.transport('b')], seeds: ['memory:a'], broadcast: flood() })
    cleanups.push(async () => { await b.stop() })
    const got = heard(a, 'x')
    await a.start(); await b.start()
    await eventually(() => (a.overlay?.active.length ?? 0) > 0)
    b.broadcast('x', 1)
    await eventually(() => got.length === 1, 5000, 'the flooded message')
    expect([a.tree?.mode, b.tree?.mode]).toEqual(['flood', 'flood'])
    expect(b.metrics.get('drops.unknown-type')).toBe(0)
  })

  it('an unknown key inside an options group throws TypeError naming group.key', () => {
    expect(() => createNode({ state: { gossipIntervall: 500 } } as never)).toThrow(/unknown option "state.gossipIntervall"/)
    expect(() => createNode({ events: { hoplimit: 8 } } as never)).toThrow(/"events.hoplimit"/)
    expect(() => createNode({ limits: { maxFrame: 1 } } as never)).toThrow(/"limits.maxFrame"/)
    expect(() => createNode({ abuse: { banMinutes: 1 } } as never)).toThrow(/"abuse.banMinutes"/)
    expect(() => createNode({ joinQueue: { max: 1 } } as never)).toThrow(/"joinQueue.max"/)
    expect(() => createNode({ plumtree: { lazyDelay: 1 } } as never)).toThrow(/"plumtree.lazyDelay"/)
    expect(() => createNode({ state: { members: true, gossipInterval: 500 }, plumtree: { lazyDelayMs: 50 }, joinQueue: { maxBytes: 1000 } })).not.toThrow()
  })

  it('says what to use instead of the older packages’ names', () => {
    expect(() => createNode({ port: 8495 } as never)).toThrow(/use listen:/)
    expect(() => createNode({ minPeerNo: 3 } as never)).toThrow(/use minPeers/)
    expect(() => createNode({ udp: true } as never)).toThrow(/no UDP/)
    expect(() => createNode({ seeds: [{ port: 13, address: '10.0.0.1' }] } as never)).toThrow(/'tcp:\/\/10\.0\.0\.1:13'/)
    expect(() => createNode({ seeds: ['memory:a', { port: 13 }] } as never)).toThrow(/seeds\[1\] must be an address string: write 'tcp:\/\/127\.0\.0\.1:13'/)
    // a node made without createNode (as hearsay/lite's) says only what a seed must be
    expect(() => new HearsayNode({ seeds: [{ port: 13, address: '10.0.0.1' }] } as never)).toThrow(/^seeds\[0\] must be an address string such as 'tcp:\/\/host:port'$/)
    expect(() => createNode({ seeds: [':9000'] })).toThrow(/'127\.0\.0\.1:9000'/)
    expect(() => createNode({ seeds: ['not an address at all'] })).toThrow(TypeError)
  })
})
