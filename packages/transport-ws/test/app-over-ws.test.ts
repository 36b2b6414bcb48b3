/**
 * The application layer over real WebSockets on 127.0.0.1 with the secure channel: routes,
 * overlay-wide broadcast, middleware and relays, peer streams with backpressure (50 MiB with
 * bounded memory, throughput printed), the broadcast stream, and the Node Duplex adapter.
 */
import { overlayConnected } from '@hearsay/core/compliance'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import v8 from 'node:v8'
import vm from 'node:vm'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, relay, TooLargeError } from '@hearsay/core'
import type { BroadcastChunk, HearsayNode, InboundMessage, NodeOptions, PeerStream } from '@hearsay/core'
import { assert } from '@hearsay/core/compliance'
import { toDuplex } from '@hearsay/node-streams'
import { webSockets } from '../src/index.node.js'

const { eventually } = assert
const nodes: HearsayNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

async function start (o: NodeOptions = {}): Promise<HearsayNode> {
  const n = createNode({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], ...o })
  nodes.push(n)
  await n.start()
  return n
}

const fast: NodeOptions = { shuffleInterval: 300, heartbeatInterval: 100, rejoinDelay: 100, rejoinMaxDelay: 500, healInterval: 500 }

async function overlay (n: number): Promise<HearsayNode[]> {
  const seed = await start({ ...fast, minPeers: 2, maxPeers: 4 })
  const rest: HearsayNode[] = []
  for (let i = 1; i < n; i++) rest.push(await start({ ...fast, minPeers: 2, maxPeers: 4, seeds: [seed.addresses[0]!] }))
  const all = [seed, ...rest]
  // views of two can also be two triangles: wait for one component, or a broadcast misses half
  await eventually(() => all.every(x => x.overlay!.active.length >= 2) && overlayConnected(all), 20_000, 'overlay')
  // and settled: a flood sent while a joiner's links are still being swapped can miss it (CI saw
  // the second of two broadcasts miss a node), so no active-view change for 1 s first
  const views = (): string => all.map(x => [...x.overlay!.active].sort().join(',')).join(';')
  let last = views()
  let quietSince = Date.now()
  await eventually(() => { const v = views(); if (v !== last) { last = v; quietSince = Date.now() } return Date.now() - quietSince > 1000 }, 20_000, 'settled views')
  return all
}

async function linked (o: NodeOptions = {}): Promise<[HearsayNode, HearsayNode]> {
  const a = await start({ overlay: false, ...o })
  const b = await start({ overlay: false, ...o })
  await b.dial(a.addresses[0]!)
  await eventually(() => a.getPeer(b.id) !== undefined, 10_000, 'inbound peer')
  return [a, b]
}

function pattern (offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) { const x = offset + i; out[i] = (x * 7 + (x >>> 16)) & 0xff }
  return out
}

describe('application layer over real WebSockets', () => {
  it('routes, "*", unknown types counted, oversized refused at send', async () => {
    const [a, b] = await linked({ limits: { maxFrameBytes: 20_000 } })
    const got: string[] = []
    a.route('ping', (m, peer) => { got.push(`ping:${String(m.data)}`); peer.send('pong', m.data) })
    b.route('pong', (m) => { got.push(`pong:${String(m.data)}`) })
    const toA = b.getPeer(a.id)!
    toA.send('ping', 1)
    toA.send('unknown', 2)
    await eventually(() => got.length === 2, 10_000)
    expect(got).toEqual(['ping:1', 'pong:1'])
    await eventually(() => a.metrics.get('drops.unknown-type') === 1, 10_000)
    const before = b.metrics.get('frames.out')
    expect(() => { toA.send('ping', new Uint8Array(25_000)) }).toThrow(TooLargeError)
    expect(() => { toA.send('t'.repeat(65), 1) }).toThrow(TooLargeError)
    expect(() => { toA.send('kv.x', 1) }).toThrow(TypeError)
    expect(b.metrics.get('frames.out')).toBe(before)
  })

  it('broadcast reaches every node of a ws overlay once', async () => {
    const all = await overlay(6)
    const got = new Map<string, InboundMessage[]>()
    for (const n of all) n.route('news', (m) => { got.set(n.id, [...(got.get(n.id) ?? []), m]) })
    all[2]!.broadcast('news', { headline: 'hi' })
    await eventually(() => got.size === 5, 10_000, 'broadcast everywhere')
    all[2]!.broadcast('news', { headline: 'again' })
    await eventually(() => [...got.values()].every(l => l.length === 2), 10_000)
    for (const l of got.values()) expect(l.every(m => m.via === 'broadcast' && m.origin === all[2]!.id)).toBe(true)
  })

  it('middleware and relay() over ws: a message spreads along a chain of point-to-point links', async () => {
    const chain: HearsayNode[] = []
    for (let i = 0; i < 4; i++) chain.push(await start({ overlay: false }))
    for (let i = 1; i < 4; i++) await chain[i]!.dial(chain[i - 1]!.addresses[0]!)
    await eventually(() => chain.slice(1, 3).every(n => n.peers().length === 2), 10_000)
    const seen: string[] = []
    for (const n of chain) {
      n.use((msg, _ctx, next) => { seen.push(`${chain.indexOf(n)}:${msg.via}`); next() }).use(relay())
    }
    const got: number[] = []
    chain.forEach((n, i) => n.route('tale', () => { got.push(i) }))
    chain[0]!.peers()[0]!.send('tale', 'x')
    await eventually(() => got.length === 3, 10_000)
    expect(got).toEqual([1, 2, 3])
    expect(seen).toEqual(['1:direct', '2:relay', '3:relay'])
  })

  it('a 50 MiB peer stream to a slow reader: ordered, backpressured, bounded memory (secure channel)', async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const [a, b] = await linked()
    const total = 50 * 1024 * 1024
    const chunk = 64 * 1024
    const incoming = new Promise<PeerStream>(resolve => { a.once('stream', resolve) })
    const s = b.getPeer(a.id)!.openStream('bulk')
    const r = await incoming
    gc()
    const mem = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
    const base = mem()
    let peak = 0
    let produced = 0
    let maxAhead = 0
    const started = performance.now()
    const writing = (async () => {
      const w = s.writable.getWriter()
      for (let off = 0; off < total; off += chunk) {
        await w.ready
        produced += chunk
        w.write(pattern(off, chunk)).catch(() => {})
      }
      await w.close()
    })()
    writing.catch(() => {})
    let received = 0
    let bad = -1
    let reads = 0
    for await (const c of r.readable as unknown as AsyncIterable<Uint8Array>) {
      const x = received + c.length - 1
      if (c[c.length - 1] !== ((x * 7 + (x >>> 16)) & 0xff) && bad < 0) bad = x
      received += c.length
      maxAhead = Math.max(maxAhead, produced - received)
      if (++reads % 8 === 0) await new Promise(resolve => setTimeout(resolve, 1))
      if (reads % 64 === 0) { gc(); gc(); peak = Math.max(peak, mem() - base) }
    }
    await writing
    const seconds = (performance.now() - started) / 1000
    console.log(`50 MiB over ws + secure channel to a slow reader: ${(total / 2 ** 20 / seconds).toFixed(1)} MiB/s, live memory growth peak ${(peak / 2 ** 20).toFixed(1)} MiB, writer ahead at most ${(maxAhead / 2 ** 10).toFixed(0)} KiB`)
    expect(bad).toBe(-1)
    expect(received).toBe(total)
    expect(maxAhead).toBeLessThanOrEqual(1024 * 1024 + 2 * chunk)
    expect(peak).toBeLessThan(8 * 1024 * 1024)
    // the other direction was never used: closing it finishes the stream on both sides
    await r.writable.close()
    await Promise.all([s.closed, r.closed])
  }, 120_000)

  it('peer stream throughput with a fast reader (printed), and the Node Duplex adapter over ws', async () => {
    const [a, b] = await linked()
    const total = 32 * 1024 * 1024
    let received = 0
    const done = new Promise<void>((resolve, reject) => {
      a.once('stream', (s) => {
        pipeline(toDuplex(s), new Writable({ write (c: Buffer, _e, cb) { received += c.length; cb() } })).then(resolve, reject)
      })
    })
    const s = b.getPeer(a.id)!.openStream('fast')
    const started = performance.now()
    const w = s.writable.getWriter()
    const chunk = new Uint8Array(256 * 1024)
    for (let off = 0; off < total; off += chunk.length) { await w.ready; w.write(chunk.slice()).catch(() => {}) }
    await w.close()
    await done
    const seconds = (performance.now() - started) / 1000
    console.log(`32 MiB over ws + secure channel, fast reader through a Node Duplex: ${(total / 2 ** 20 / seconds).toFixed(1)} MiB/s`)
    expect(received).toBe(total)
  }, 60_000)

  it('the broadcast stream over a ws overlay', async () => {
    const all = await overlay(4)
    const streams = all.map(n => n.createBroadcastStream({ name: 'chat' }))
    const got = all.map(() => [] as string[])
    streams.forEach((s, i) => {
      void (async () => {
        for await (const c of s.readable as unknown as AsyncIterable<BroadcastChunk>) got[i]!.push(`${all.findIndex(n => n.id === c.from)}:${new TextDecoder().decode(c)}`)
      })()
    })
    await streams[1]!.writable.getWriter().write('hello everyone')
    await eventually(() => got.filter(g => g.length === 1).length === 3, 10_000)
    expect(got[1]).toEqual([])
    for (const i of [0, 2, 3]) expect(got[i]).toEqual(['1:hello everyone'])
  })
})
