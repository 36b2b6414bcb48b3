/**
 * `pnpm --filter @hearsay/bench webrtc` (inside a network namespace: `node scripts/netns.mjs
 * node apps/bench/dist/webrtc-bench.js`): WebRTC between two Node nodes (node-datachannel),
 * signalled through a relay node on a memory network. Measures the connect time (dial to a
 * secure link, median of 10), and messages/s one way at 64 B and 1 KiB: on a bare transport
 * connection (chunking + data channel) and as hearsay messages (envelope + secure channel too).
 * Writes results/webrtc-node.json; results/webrtc.md has these with the browser numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { createNode, MemoryNetwork } from '@hearsay/core'
import type { Connection, HearsayNode, Transport } from '@hearsay/core'
import { webRTC } from '@hearsay/transport-webrtc'

if (process.env.HEARSAY_NETNS !== '1') {
  console.error('webrtc-bench: run it inside a network namespace: node scripts/netns.mjs node apps/bench/dist/webrtc-bench.js')
  process.exit(2)
}

const TRIALS = 10
const network = new MemoryNetwork()
const nodes: HearsayNode[] = []

async function member (listen: string[], name?: string): Promise<{ node: HearsayNode, transport: Transport }> {
  const transport = webRTC(process.env.WEBRTC_CHUNK_BYTES === undefined ? {} : { chunkBytes: Number(process.env.WEBRTC_CHUNK_BYTES) })
  const node = createNode({ transports: [network.transport(name), transport], listen, seeds: ['memory:relay'], overlay: false })
  nodes.push(node)
  await node.start()
  while (node.peers().length === 0) await new Promise(resolve => setTimeout(resolve, 5))
  return { node, transport }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Frames of `size` one way over a bare connection, with backpressure; frames per second. */
async function rawRate (from: Connection, onFrame: { fn: () => void }, size: number, count: number): Promise<number> {
  let got = 0
  const all = new Promise<void>(resolve => { onFrame.fn = () => { if (++got === count) resolve() } })
  const frame = new Uint8Array(size).fill(1)
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    from.send(frame)
    if (from.bufferedAmount > 1024 * 1024) await from.drained()
  }
  await all
  return Math.round(count / ((performance.now() - started) / 1000))
}

/** Hearsay messages of `size` bytes one way, with backpressure; messages per second. */
async function messageRate (from: HearsayNode, to: HearsayNode, size: number, count: number): Promise<number> {
  let got = 0
  const all = new Promise<void>(resolve => { const off = to.route(`bench${size}`, () => { if (++got === count) { off(); resolve() } }) })
  const peer = from.getPeer(to.id)!
  const payload = new Uint8Array(size).fill(1)
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    peer.send(`bench${size}`, payload)
    if (peer.link.conn.bufferedAmount > 1024 * 1024) await peer.link.conn.drained()
  }
  await all
  return Math.round(count / ((performance.now() - started) / 1000))
}

const relay = createNode({ transports: [network.transport('relay')], listen: ['memory:relay'], overlay: false })
nodes.push(relay)
await relay.start()
try {
  const a = await member(['webrtc:*'])
  const b = await member(['webrtc:*'])
  const connect: number[] = []
  for (let i = 0; i < TRIALS; i++) {
    const started = performance.now()
    await b.node.dial(`webrtc:${a.node.id}`)
    connect.push(performance.now() - started)
    if (i < TRIALS - 1) {
      await b.node.hangUp(a.node.id)
      while (a.node.getPeer(b.node.id) !== undefined || b.node.getPeer(a.node.id) !== undefined) await new Promise(resolve => setTimeout(resolve, 5))
    }
  }
  while (a.node.getPeer(b.node.id) === undefined) await new Promise(resolve => setTimeout(resolve, 5))
  const messages = { '64B': await messageRate(b.node, a.node, 64, 50_000), '1KiB': await messageRate(b.node, a.node, 1024, 20_000) }

  // a bare connection: a listening transport and a dialling one, no node link on top
  const server = await member([])
  const client = await member([])
  let accepted: (c: Connection) => void = () => {}
  const inbound = new Promise<Connection>(resolve => { accepted = resolve })
  await server.transport.listen('webrtc:*', (c) => { accepted(c) })
  const out = await client.transport.dial(`webrtc:${server.node.id}`)
  const into = await inbound
  out.setHandlers({ onMessage: () => {}, onClose: () => {} })
  const onFrame = { fn: () => {} }
  into.setHandlers({ onMessage: () => { onFrame.fn() }, onClose: () => {} })
  const raw = { '64B': await rawRate(out, onFrame, 64, 100_000), '1KiB': await rawRate(out, onFrame, 1024, 50_000) }
  out.close()

  const result = {
    machine: { node: process.version, cpus: cpus().length },
    connectMs: { median: median(connect), trials: connect.map(x => Math.round(x * 10) / 10) },
    messagesPerSecond: messages,
    rawFramesPerSecond: raw
  }
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true })
  writeFileSync(new URL('../results/webrtc-node.json', import.meta.url), JSON.stringify(result, null, 2) + '\n')
  console.log(JSON.stringify(result, null, 2))
} finally {
  await Promise.all(nodes.map(async n => { await n.stop() }))
}
