import { afterEach, describe, expect, it } from 'vitest'
import {
  createNode, createTestnet, generateIdentity, memoryStore, MemoryNetwork, plainChannel, seededRandom, toNetworkKey
} from '../src/index.js'
import type { HearsayNode, Testnet } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })
async function testnet (n: number, opts: Parameters<typeof createTestnet>[1] = {}): Promise<Testnet> {
  const t = await createTestnet(n, opts)
  cleanups.push(t.stop)
  return t
}
function once<T> (node: HearsayNode, event: 'peer:connect' | 'peer:disconnect' | 'message' | 'online' | 'offline'): Promise<T> {
  return new Promise(resolve => { node.once(event, (p) => { resolve(p as T) }) })
}

describe('node on the memory testnet', () => {
  it('connects a star and authenticates ids on both sides', async () => {
    const t = await testnet(5)
    const [hub, ...spokes] = t.nodes
    expect(hub!.peers().map(p => p.id).sort()).toEqual(spokes.map(s => s.id).sort())
    for (const s of spokes) {
      expect(s.peers().map(p => p.id)).toEqual([hub!.id])
      expect(s.peers()[0]!.direction).toBe('outbound')
    }
    expect(hub!.peers().every(p => p.direction === 'inbound')).toBe(true)
  })

  it('delivers application messages to every inbound peer (not just one: coalescent’s bug)', async () => {
    const t = await testnet(6)
    const got: string[] = []
    for (const s of t.nodes.slice(1)) s.on('message', ({ type, data, from }) => { if (from.id === t.nodes[0]!.id) got.push(`${s.id}:${type}:${String(data)}`) })
    for (const p of t.nodes[0]!.peers()) p.send('chat', 'hello')
    await eventually(() => got.length === 5)
    expect(new Set(got).size).toBe(5)
  })

  it('emits online on the first peer and offline after the last, once each', async () => {
    const network = new MemoryNetwork()
    const t = await testnet(1, { network })
    const a = t.nodes[0]!
    const events: string[] = []
    a.on('online', () => events.push('online'))
    a.on('offline', () => events.push('offline'))
    const b = createNode({ transports: [network.transport('b')] })
    const c = createNode({ transports: [network.transport('c')] })
    cleanups.push(async () => { await b.stop(); await c.stop() })
    await b.start(); await c.start()
    await b.dial('memory:node-0')
    await c.dial('memory:node-0')
    await eventually(() => a.peers().length === 2)
    await b.stop()
    await eventually(() => a.peers().length === 1)
    await c.stop()
    await eventually(() => a.peers().length === 0)
    expect(events).toEqual(['online', 'offline'])
  })

  it('refuses a dial to itself with SelfDialError and remembers the address', async () => {
    const t = await testnet(1)
    await expect(t.nodes[0]!.dial('memory:node-0')).rejects.toMatchObject({ code: 'ERR_SELF_DIAL' })
    await expect(t.nodes[0]!.dial('memory:node-0')).rejects.toMatchObject({ code: 'ERR_SELF_DIAL' })
    expect(t.nodes[0]!.peers()).toHaveLength(0)
  })

  it('keeps one link per peer when both dial each other at once, and both sides agree', async () => {
    for (let round = 0; round < 5; round++) {
      const t = await testnet(2, { topology: 'none' })
      const [a, b] = t.nodes as [HearsayNode, HearsayNode]
      const connects = { a: 0, b: 0 }
      const disconnects = { a: 0, b: 0 }
      a.on('peer:connect', () => { connects.a++ }); b.on('peer:connect', () => { connects.b++ })
      a.on('peer:disconnect', () => { disconnects.a++ }); b.on('peer:disconnect', () => { disconnects.b++ })
      const [pa, pb] = await Promise.all([a.dial('memory:node-1'), b.dial('memory:node-0')])
      expect(pa.id).toBe(b.id)
      expect(pb.id).toBe(a.id)
      await eventually(() => t.network.openConnections === 2, 5000, 'one link left')
      expect(a.peers()[0]!.link.linkId).toBe(b.peers()[0]!.link.linkId)
      // the surviving link works both ways
      const got: string[] = []
      a.on('message', ({ data }) => got.push(`a:${String(data)}`))
      b.on('message', ({ data }) => got.push(`b:${String(data)}`))
      a.peers()[0]!.send('x', 1); b.peers()[0]!.send('x', 2)
      await eventually(() => got.length === 2)
      expect(connects).toEqual({ a: 1, b: 1 })
      expect(disconnects).toEqual({ a: 0, b: 0 })
      await t.stop()
    }
  })

  it('a second dial to a connected peer returns the same peer object', async () => {
    const t = await testnet(2, { topology: 'none' })
    const p1 = await t.nodes[1]!.dial('memory:node-0')
    const p2 = await t.nodes[1]!.dial('memory:node-0')
    expect(p2).toBe(p1)
    await eventually(() => t.network.openConnections === 2)
    expect(t.nodes[0]!.peers()).toHaveLength(1)
  })

  it('concurrent dials to one address share one attempt', async () => {
    const t = await testnet(2, { topology: 'none' })
    const [p1, p2] = await Promise.all([t.nodes[1]!.dial('memory:node-0'), t.nodes[1]!.dial('memory:node-0')])
    expect(p1).toBe(p2)
    expect(t.network.openConnections).toBe(2)
  })

  it('hangUp disconnects on both sides', async () => {
    const t = await testnet(2)
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    const gone = once<{ peer: { id: string } }>(a, 'peer:disconnect')
    await b.hangUp(a.id)
    expect((await gone).peer.id).toBe(b.id)
    await eventually(() => b.peers().length === 0)
  })

  it('ping measures a round trip, and times out on a silent peer', async () => {
    const network = new MemoryNetwork()
    const t = await testnet(2, { network })
    const rtt = await t.nodes[1]!.ping(t.nodes[0]!.id)
    expect(rtt).toBeGreaterThanOrEqual(0)
    network.partition(['node-0'], ['node-1'])
    await expect(t.nodes[1]!.ping(t.nodes[0]!.id, { timeout: 50 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
  })

  it('nodes with different network keys cannot connect; the listener counts the failure and keeps serving', async () => {
    const network = new MemoryNetwork()
    const t = await testnet(1, { network, node: () => ({ networkKey: 'secret' }) })
    const outsider = createNode({ transports: [network.transport('x')], networkKey: 'other' })
    const insider = createNode({ transports: [network.transport('y')], networkKey: 'secret' })
    cleanups.push(async () => { await outsider.stop(); await insider.stop() })
    await outsider.start(); await insider.start()
    await expect(outsider.dial('memory:node-0', { timeout: 500 })).rejects.toMatchObject({ code: 'ERR_HANDSHAKE', message: expect.stringContaining('wrong network key') })
    await eventually(() => t.nodes[0]!.metrics.get('handshake.failures') === 1)
    expect(t.nodes[0]!.peers()).toHaveLength(0)
    await insider.dial('memory:node-0')
    await eventually(() => t.nodes[0]!.peers().length === 1)
    expect(t.nodes[0]!.peers().map(p => p.id)).toEqual([insider.id])
  })

  it('a wrong-key dialer gets no bytes back at all', async () => {
    const network = new MemoryNetwork()
    const t = await testnet(1, { network, node: () => ({ networkKey: 'secret' }) })
    const raw = await network.transport('probe').dial('memory:node-0')
    const got: Uint8Array[] = []
    const closed = new Promise<void>(resolve => raw.setHandlers({ onMessage: f => got.push(f), onClose: () => resolve() }))
    raw.send(new Uint8Array(64).fill(7))
    await closed
    expect(got).toHaveLength(0)
    expect(t.nodes[0]!.metrics.get('handshake.failures')).toBe(1)
  })

  it('dial with an expected peer id refuses an impostor', async () => {
    const t = await testnet(2, { topology: 'none' })
    const someoneElse = generateIdentity().id
    await expect(t.nodes[1]!.dial('memory:node-0', { peerId: someoneElse })).rejects.toMatchObject({ code: 'ERR_PEER_ID_MISMATCH' })
    expect((await t.nodes[1]!.dial('memory:node-0', { peerId: t.nodes[0]!.id })).id).toBe(t.nodes[0]!.id)
  })

  it('a dial that expects the right peer does not join one under way to the same address that expects another (made up by gossip)', async () => {
    const t = await testnet(2, { topology: 'none' })
    const someoneElse = generateIdentity().id
    const [wrong, right] = await Promise.allSettled([
      t.nodes[1]!.dial('memory:node-0', { peerId: someoneElse }),
      t.nodes[1]!.dial('memory:node-0', { peerId: t.nodes[0]!.id })
    ])
    expect(wrong).toMatchObject({ status: 'rejected', reason: { code: 'ERR_PEER_ID_MISMATCH' } })
    expect(right).toMatchObject({ status: 'fulfilled', value: { id: t.nodes[0]!.id } })
  })

  it('garbage after the handshake disconnects that peer only; others keep working', async () => {
    const network = new MemoryNetwork()
    const t = await testnet(3, { network, node: () => ({ channel: plainChannel() }) })
    const [hub, good, bad] = t.nodes as [HearsayNode, HearsayNode, HearsayNode]
    const gone = once<{ peer: { id: string } }>(hub, 'peer:disconnect')
    bad.peers()[0]!.link.conn.send(new Uint8Array([0xc1, 0xc1, 0xc1, 0xc1]))
    expect((await gone).peer.id).toBe(bad.id)
    expect(hub.metrics.get('drops.invalid-frame')).toBe(1)
    const msg = once<{ data: unknown }>(hub, 'message')
    good.peers()[0]!.send('still', 'here')
    expect((await msg).data).toBe('here')
  })

  it('unknown reserved types are dropped and counted; the link stays up', async () => {
    const t = await testnet(2, { node: () => ({ channel: plainChannel() }) })
    const [hub, spoke] = t.nodes as [HearsayNode, HearsayNode]
    spoke.sendProtocol(spoke.peers()[0]!, 'hv.nonsense', {})
    await eventually(() => hub.metrics.get('drops.unknown-type') === 1)
    expect(await spoke.ping(hub.id)).toBeGreaterThanOrEqual(0)
  })

  it('send refuses reserved and oversized types and oversized data with typed errors', async () => {
    const t = await testnet(2, { node: () => ({ limits: { maxFrameBytes: 1000 } }) })
    const p = t.nodes[1]!.peers()[0]!
    expect(() => p.send('hv.join', {})).toThrow(TypeError)
    expect(() => p.send('x'.repeat(65), {})).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => p.send('big', new Uint8Array(2000))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(t.nodes[1]!.metrics.get('frames.out')).toBe(0)
  })

  it('records dial successes and failures in the peer store', async () => {
    const store = memoryStore()
    const t = await testnet(2, { topology: 'none', node: (i) => i === 1 ? { store } : {} })
    await t.nodes[1]!.dial('memory:node-0')
    await expect(t.nodes[1]!.dial('memory:nobody')).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
    await eventually(async () => (await store.getStats('memory:node-0')).connections.ok === 1)
    expect((await store.getStats('memory:nobody')).connections.fail).toBe(1)
    const rows = []
    for await (const r of store.known()) rows.push(r)
    expect(rows.find(r => r.address === 'memory:node-0')?.peerId).toBe(t.nodes[0]!.id)
  })

  it('keeps its identity in the store across restarts', async () => {
    const store = memoryStore()
    const network = new MemoryNetwork()
    const a = createNode({ store, transports: [network.transport()] })
    await a.start(); const id = a.id; await a.stop()
    const b = createNode({ store, transports: [network.transport()] })
    await b.start(); expect(b.id).toBe(id); await b.stop()
  })

  it('stop() leaves no timer, connection or listener behind, with peers and a dial in flight', async () => {
    const network = new MemoryNetwork({ latency: 5 })
    const t = await testnet(4, { network })
    const stuck = createNode({ transports: [network.transport('stuck')], handshakeTimeout: 60_000 })
    await stuck.start()
    // a raw listener that never answers the handshake: the dial hangs until stop()
    const silent = await network.transport('silent').listen('memory:silent', () => {})
    const hanging = stuck.dial('memory:silent')
    await t.stop()
    await stuck.stop()
    await expect(hanging).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await silent.close()
    await eventually(() => network.openConnections === 0, 2000, 'connections closed')
    for (const n of [...t.nodes, stuck]) {
      expect(n.status).toBe('stopped')
      expect(n.lifetimeTimers.size).toBe(0)
      expect(n.addresses).toEqual([])
    }
    await expect(t.nodes[0]!.dial('memory:node-1')).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
  })

  it('stop() with peers does not throw and is idempotent (smokesignal’s bug)', async () => {
    const t = await testnet(3)
    await expect(Promise.all([t.nodes[0]!.stop(), t.nodes[0]!.stop()])).resolves.toBeDefined()
    await eventually(() => t.nodes[1]!.peers().length === 0)
  })

  it('start() after stop() starts the same node again; start() while starting is refused with a clear error', async () => {
    const a = createNode({ transports: [new MemoryNetwork().transport()] })
    cleanups.push(async () => { await a.stop() })
    await a.start(); await a.stop()
    await a.start()
    expect(a.status).toBe('running')
    await a.stop()
    const starting = a.start()
    await expect(a.start()).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
    await starting
  })

  it('dials the seeds at start and survives a dead seed', async () => {
    const network = new MemoryNetwork()
    const t = await testnet(1, { network })
    const n = createNode({ transports: [network.transport('n')], seeds: ['memory:dead', 'memory:node-0'] })
    cleanups.push(async () => { await n.stop() })
    const connected = once(n, 'peer:connect')
    await n.start()
    await connected
    expect(n.peers().map(p => p.id)).toEqual([t.nodes[0]!.id])
  })

  it('a listener that throws is reported on error and does not break delivery', async () => {
    const t = await testnet(2)
    const errors: Error[] = []
    t.nodes[0]!.on('error', e => errors.push(e))
    t.nodes[0]!.on('message', () => { throw new Error('boom') })
    const got: unknown[] = []
    t.nodes[0]!.on('message', ({ data }) => got.push(data))
    t.nodes[1]!.peers()[0]!.send('x', 1)
    await eventually(() => got.length === 1)
    expect(errors.map(e => e.message)).toEqual(['boom'])
  })

  it('runs deterministically on a virtual clock with seeded randomness and the plain channel', async () => {
    const ids: string[][] = []
    for (let run = 0; run < 2; run++) {
      const random = seededRandom(42)
      const t = await createTestnet(3, { node: () => ({ random, channel: plainChannel() }) })
      ids.push(t.nodes.map(n => n.id))
      await t.stop()
    }
    expect(ids[0]).toEqual(ids[1])
    expect(toNetworkKey(undefined)).toHaveLength(32)
  })
})

describe('ordering', () => {
  it('frames sent right behind the handshake reach handlers after peer:connect (real-socket timing)', async () => {
    const network = new MemoryNetwork()
    const a = createNode({ transports: [network.transport('a')], listen: ['memory:a'], overlay: false })
    const b = createNode({ transports: [network.transport('b')], overlay: false })
    cleanups.push(async () => { await a.stop(); await b.stop() })
    await a.start(); await b.start()
    const order: string[] = []
    a.on('peer:connect', () => order.push('connect'))
    a.on('message', ({ data }) => order.push(`message:${String(data)}`))
    // send in the same tick as the dial resolves: the frame trails the last handshake message
    const peer = await b.dial('memory:a')
    peer.send('x', 1)
    await eventually(() => order.length === 2)
    expect(order).toEqual(['connect', 'message:1'])
  })
})
