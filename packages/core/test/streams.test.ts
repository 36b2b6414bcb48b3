/**
 * Peer streams and the broadcast stream through the public API on the memory testnet: order,
 * chunking above the frame limit, credit-based backpressure from a slow reader to the writer,
 * bounded memory for a 50 MiB transfer, resets, refusals, link loss, and the Node `Duplex`
 * adapters of `@hearsay/node-streams`.
 */
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fullGc } from './gc.js'
import { afterEach, describe, expect, it } from 'vitest'
import { createTestnet, plainChannel, StreamResetError } from '../src/index.js'
import type { BroadcastChunk, HearsayNode, NodeOptions, PeerStream, Testnet } from '../src/index.js'
import { broadcastDuplex, openDuplex, toDuplex } from '@hearsay/node-streams'
import { eventually } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

async function pair (opts: NodeOptions = {}): Promise<Testnet & { a: HearsayNode, b: HearsayNode }> {
  const t = await createTestnet(2, { node: () => ({ channel: plainChannel(), overlay: false, ...opts }) })
  cleanups.push(t.stop)
  return { ...t, a: t.nodes[0]!, b: t.nodes[1]! }
}

function nextStream (node: HearsayNode): Promise<PeerStream> {
  return new Promise(resolve => { node.once('stream', resolve) })
}

async function readAll (readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  for await (const c of readable as unknown as AsyncIterable<Uint8Array>) { parts.push(c); n += c.length }
  const out = new Uint8Array(n)
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

/** Byte equality without vitest's element-by-element deep diff (slow on megabytes). */
function sameBytes (a: Uint8Array, b: Uint8Array): boolean { return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)) }

const ticks = async (n: number): Promise<void> => { for (let i = 0; i < n; i++) await new Promise(resolve => setImmediate(resolve)) }

/** Deterministic bytes: byte i of the transfer is (i * 7 + (i >>> 16)) & 0xff. */
function pattern (offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) { const x = offset + i; out[i] = (x * 7 + (x >>> 16)) & 0xff }
  return out
}

describe('peer streams', () => {
  it('carry bytes both ways, in order, with names; a write larger than a frame is chunked', async () => {
    const { a, b } = await pair({ limits: { maxFrameBytes: 20_000 } })
    const incoming = nextStream(b)
    const s = a.getPeer(b.id)!.openStream('file')
    const r = await incoming
    expect(r.name).toBe('file')
    expect(r.initiator).toBe(false)
    expect(s.initiator).toBe(true)
    expect(r.peer.id).toBe(a.id)
    const big = pattern(0, 100_000) // 6 frames of < 20 KB
    const w = s.writable.getWriter()
    const echoed = (async () => {
      // echo everything back, upper-casing nothing: the reply direction
      await r.readable.pipeTo(r.writable)
    })()
    await w.write(big)
    await w.write('and some text')
    await w.close()
    const back = await readAll(s.readable)
    await echoed
    expect(back.length).toBe(big.length + 13)
    expect(sameBytes(back.subarray(0, big.length), big)).toBe(true)
    expect(new TextDecoder().decode(back.subarray(big.length))).toBe('and some text')
    await s.closed
    await r.closed
    expect(a.metrics.get('stream.bytes.out')).toBe(big.length + 13)
    expect(b.metrics.get('frames.in')).toBeGreaterThan(5)
  })

  it('are refused without a stream listener, and beyond maxStreamsPerPeer', async () => {
    const { a, b } = await pair({ maxStreamsPerPeer: 2 })
    const s = a.getPeer(b.id)!.openStream()
    await expect(s.closed).rejects.toMatchObject({ code: 'ERR_STREAM_RESET', reason: 'refused' })
    await expect(s.writable.getWriter().write(new Uint8Array(1))).rejects.toBeInstanceOf(StreamResetError)
    expect(b.metrics.get('drops.stream-refused')).toBe(1)
    b.on('stream', () => {})
    const peer = a.getPeer(b.id)!
    peer.openStream('1')
    peer.openStream('2')
    expect(() => peer.openStream('3')).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => peer.openStream('n'.repeat(65))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => peer.openStream(7 as unknown as string)).toThrow(TypeError)
  })

  it('a reset on either side fails both ends with StreamResetError', async () => {
    const { a, b } = await pair()
    const incoming = nextStream(b)
    const s = a.getPeer(b.id)!.openStream('x')
    const r = await incoming
    await s.writable.getWriter().abort(new Error('changed my mind'))
    await expect(r.closed).rejects.toMatchObject({ code: 'ERR_STREAM_RESET', reason: 'aborted' })
    await expect(r.readable.getReader().read()).rejects.toBeInstanceOf(StreamResetError)
    // cancelling a readable resets too, and an explicit reset carries its reason
    const incoming2 = nextStream(b)
    const s2 = a.getPeer(b.id)!.openStream('y')
    const r2 = await incoming2
    await r2.readable.cancel()
    await expect(s2.closed).rejects.toMatchObject({ reason: 'cancelled' })
    const incoming3 = nextStream(a)
    const s3 = b.getPeer(a.id)!.openStream('z')
    const r3 = await incoming3
    s3.reset('enough')
    await expect(r3.closed).rejects.toMatchObject({ reason: 'enough' })
    expect(a.metrics.get('streams.accepted')).toBe(1)
  })

  it('fail with ConnectionClosedError when the peer goes away, and when the node stops', async () => {
    const { a, b } = await pair()
    const incoming = nextStream(b)
    const s = a.getPeer(b.id)!.openStream()
    const r = await incoming
    await b.stop()
    await expect(s.closed).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' })
    await expect(r.closed).rejects.toMatchObject({ code: 'ERR_CONNECTION_CLOSED' })
    expect(() => s.peer.openStream()).toThrow(expect.objectContaining({ code: 'ERR_CONNECTION_CLOSED' }))
  })

  it('a peer that sends beyond its credit gets the stream reset (flow-control), counted', async () => {
    const { a, b } = await pair({ streamWindow: 1000 })
    let r: PeerStream | undefined
    b.on('stream', (x) => { r = x })
    const s = a.getPeer(b.id)!.openStream()
    await eventually(() => r !== undefined)
    // bypass the stream API: 2000 bytes against a 1000-byte window
    a.sendProtocol(a.getPeer(b.id)!, 'st.data', { s: s.id, d: new Uint8Array(2000) })
    await expect(r!.closed).rejects.toMatchObject({ reason: 'flow-control' })
    await expect(s.closed).rejects.toMatchObject({ reason: 'flow-control' })
    expect(b.metrics.get('drops.stream-flow-control')).toBe(1)
    // junk st.* frames are counted, never crash the node
    a.sendProtocol(a.getPeer(b.id)!, 'st.data', { s: 'x' })
    a.sendProtocol(a.getPeer(b.id)!, 'st.open', { s: 1 })
    a.sendProtocol(a.getPeer(b.id)!, 'st.credit', { s: 999, c: 5 })
    await eventually(() => b.metrics.get('drops.stream-malformed') === 2 && b.metrics.get('drops.stream-unknown') === 1)
  })

  it('a slow reader holds the writer back: never more than the window in flight', async () => {
    const window = 64 * 1024
    const { a, b } = await pair({ streamWindow: window })
    const incoming = nextStream(b)
    const s = a.getPeer(b.id)!.openStream()
    const r = await incoming
    const w = s.writable.getWriter()
    let written = 0
    const writing = (async () => {
      for (let i = 0; i < 64; i++) { await w.ready; await w.write(pattern(written, 16 * 1024)); written += 16 * 1024 }
      await w.close()
    })()
    writing.catch(() => {})
    // nobody reads yet: the sender stops at the receiver's window
    await eventually(() => a.metrics.get('stream.bytes.out') === window, 5000, 'window filled')
    await ticks(20)
    expect(a.metrics.get('stream.bytes.out')).toBe(window)
    expect(b.metrics.get('stream.bytes.in')).toBe(window)
    // the writer is stuck in the write after the window, waiting for credit
    expect(written).toBe(window)
    // reading releases it, in order
    const got = await readAll(r.readable)
    await writing
    expect(sameBytes(got, pattern(0, 64 * 16 * 1024))).toBe(true)
    // credit went back in batches, not one message per chunk
    expect(b.metrics.get('frames.out')).toBeLessThan(64)
  })

  it('50 MiB to a slow reader with bounded memory', async () => {
    const total = 50 * 1024 * 1024
    const chunk = 64 * 1024
    const { a, b } = await pair()
    const incoming = nextStream(b)
    const s = a.getPeer(b.id)!.openStream('50MiB')
    const r = await incoming
    fullGc()
    const mem = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
    const base = mem()
    let peak = 0
    let peakRaw = 0
    const started = performance.now()
    let produced = 0
    let maxAhead = 0
    const writing = (async () => {
      const w = s.writable.getWriter()
      for (let off = 0; off < total; off += chunk) {
        await w.ready
        produced += chunk
        // a fresh chunk each time: the application does not keep what it wrote
        w.write(pattern(off, chunk)).catch(() => {})
      }
      await w.close()
    })()
    let received = 0
    let bad = -1
    let reads = 0
    for await (const c of r.readable as unknown as AsyncIterable<Uint8Array>) {
      // check a few bytes of every chunk against the pattern
      for (const i of [0, c.length >> 1, c.length - 1]) {
        const x = received + i
        if (c[i] !== ((x * 7 + (x >>> 16)) & 0xff) && bad < 0) bad = x
      }
      received += c.length
      maxAhead = Math.max(maxAhead, produced - received)
      peakRaw = Math.max(peakRaw, mem() - base)
      // the slow part: yield to the event loop on every read, and sleep on some
      if (++reads % 4 === 0) await new Promise(resolve => setTimeout(resolve, 1))
      else await new Promise(resolve => setImmediate(resolve))
      if (reads % 64 === 0) { fullGc(); peak = Math.max(peak, mem() - base) }
    }
    await writing
    const seconds = (performance.now() - started) / 1000
    expect(bad).toBe(-1)
    expect(received).toBe(total)
    console.log(`50 MiB over a memory link with a slow reader: ${(total / 2 ** 20 / seconds).toFixed(1)} MiB/s, live memory growth (after gc) peak ${(peak / 2 ** 20).toFixed(1)} MiB, without gc ${(peakRaw / 2 ** 20).toFixed(1)} MiB, writer ahead of reader at most ${(maxAhead / 2 ** 10).toFixed(0)} KiB`)
    // backpressure reached the writer: it never got further ahead than the window + its own queue
    expect(maxAhead).toBeLessThanOrEqual(1024 * 1024 + 2 * chunk)
    // what stays alive: the 1 MiB window and the writer's queue, not the 50 MiB
    expect(peak).toBeLessThan(8 * 1024 * 1024)
  }, 120_000)
})

describe('Node Duplex adapters (@hearsay/node-streams)', () => {
  it('pipe a Node Readable into a peer stream and back out of a Node Writable', async () => {
    const { a, b } = await pair()
    const received: Buffer[] = []
    b.on('stream', (s) => {
      void pipeline(toDuplex(s), new Writable({ write (c: Buffer, _e, cb) { received.push(c); cb() } }))
    })
    const data = Array.from({ length: 100 }, (_, i) => Buffer.from(`line ${i}\n`))
    const out = openDuplex(a.getPeer(b.id)!, 'lines')
    await pipeline(Readable.from(data), out)
    await eventually(() => Buffer.concat(received).length === Buffer.concat(data).length)
    expect(Buffer.concat(received).toString()).toBe(Buffer.concat(data).toString())
  })
})

describe('broadcast stream', () => {
  const fast: NodeOptions = { shuffleInterval: 200, heartbeatInterval: 50, rejoinDelay: 50, rejoinMaxDelay: 400, healInterval: 300 }
  async function overlay (n: number, extra: NodeOptions = {}): Promise<Testnet> {
    const t = await createTestnet(n, { topology: 'none', node: (i) => ({ channel: plainChannel(), ...fast, minPeers: 2, maxPeers: 4, seeds: i === 0 ? [] : ['memory:node-0'], ...extra }) })
    cleanups.push(t.stop)
    await eventually(() => t.nodes.every(x => x.overlay!.active.length >= 2), 15_000, 'overlay')
    return t
  }

  it('everyone gets what you write; you read what everyone writes (per name), chunked below the frame limit', async () => {
    const t = await overlay(6, { limits: { maxFrameBytes: 20_000 } })
    const streams = t.nodes.map(n => n.createBroadcastStream({ name: 'chat' }))
    const other = t.nodes[3]!.createBroadcastStream({ name: 'other' })
    const got = t.nodes.map(() => [] as BroadcastChunk[])
    streams.forEach((s, i) => {
      void (async () => { for await (const c of s.readable as unknown as AsyncIterable<BroadcastChunk>) got[i]!.push(c) })()
    })
    const otherGot: BroadcastChunk[] = []
    void (async () => { for await (const c of other.readable as unknown as AsyncIterable<BroadcastChunk>) otherGot.push(c) })()
    const w0 = streams[0]!.writable.getWriter()
    const w4 = streams[4]!.writable.getWriter()
    await w0.write('hello from 0')
    await w4.write(new TextEncoder().encode('hello from 4'))
    const big = pattern(0, 40_000) // 3 pieces at a 20 KB frame limit
    await w0.write(big)
    await eventually(() => got.every((g, i) => g.length === (i === 0 ? 1 : i === 4 ? 4 : 5)), 10_000, 'every chunk everywhere')
    const text = (c: Uint8Array): string => new TextDecoder().decode(c)
    expect(got[0]!.map(c => `${c.from === t.nodes[4]!.id}:${text(c)}`)).toEqual(['true:hello from 4'])
    for (const i of [1, 2, 3, 5]) {
      const g = got[i]!
      expect(g.filter(c => c.from === t.nodes[0]!.id).length).toBe(4)
      const fromZero = g.filter(c => c.from === t.nodes[0]!.id && text(c) !== 'hello from 0')
      const joined = new Uint8Array(fromZero.reduce((s, c) => s + c.length, 0))
      let off = 0
      for (const c of fromZero) { joined.set(c, off); off += c.length }
      expect(sameBytes(joined, big)).toBe(true)
    }
    expect(otherGot).toEqual([])
  })

  it('a reader that falls behind loses chunks (counted), the writer is never blocked by it', async () => {
    const t = await overlay(3)
    const slow = t.nodes[1]!.createBroadcastStream({ highWaterMark: 1000 })
    const w = t.nodes[0]!.createBroadcastStream().writable.getWriter()
    for (let i = 0; i < 10; i++) await w.write(new Uint8Array(400))
    await eventually(() => t.nodes[1]!.metrics.get('broadcast-stream.chunks.in') === 10, 10_000)
    const reader = slow.readable.getReader()
    let n = 0
    while (n < 3) { const { value } = await reader.read(); if (value !== undefined) n++ }
    expect(t.nodes[1]!.metrics.get('drops.broadcast-stream-overflow')).toBe(7)
    expect(() => t.nodes[0]!.createBroadcastStream({ name: 'x'.repeat(65) })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
  })

  it('works without the overlay (one hop to every peer) and as a Node Duplex', async () => {
    const t = await createTestnet(3, { node: () => ({ channel: plainChannel(), overlay: false }) })
    cleanups.push(t.stop)
    const [hub, s1, s2] = t.nodes as [HearsayNode, HearsayNode, HearsayNode]
    const d1 = broadcastDuplex(s1)
    const d2 = broadcastDuplex(s2)
    const got: string[] = []
    d1.on('data', (c: Buffer) => { got.push(`1:${c.toString()}`) })
    d2.on('data', (c: Buffer) => { got.push(`2:${c.toString()}`) })
    hub.createBroadcastStream().writable.getWriter().write('to all').catch(() => {})
    await eventually(() => got.length === 2)
    expect(got.sort()).toEqual(['1:to all', '2:to all'])
    d1.destroy()
    d2.destroy()
  })
})
