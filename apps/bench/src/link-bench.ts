/**
 * Link benchmark: the secure hearsay link over ws and tcp against raw `ws` and raw `node:net`
 * in the same run, so that the figures are ratios that hold on a noisy shared machine.
 * Measures one-way messages/s (64 B and 1 KiB payloads, sender paced by backpressure) and the
 * Node-to-Node connect + handshake time. Writes results/link.json and results/link.md.
 */
import { createServer, connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { writeFileSync, mkdirSync } from 'node:fs'
import { WebSocketServer, WebSocket } from 'ws'
import { createNode } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { tcp } from '@hearsay/transport-tcp'

const DURATION_MS = Number(process.env.LINK_BENCH_MS ?? 3000)
const HIGH_WATER = 1 << 20

interface Row { name: string, transport: 'ws' | 'tcp', payload: number, msgsPerSec: number }

async function rawWs (payload: number): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise(resolve => wss.once('listening', resolve))
  let received = 0
  wss.on('connection', (s) => { s.on('message', () => { received++ }) })
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
  await new Promise(resolve => ws.once('open', resolve))
  const buf = Buffer.alloc(payload, 7)
  const rate = await pump(() => ws.bufferedAmount, () => { ws.send(buf) }, () => received)
  ws.close(); wss.close()
  return rate
}

async function rawTcp (payload: number): Promise<number> {
  let received = 0
  let pending = 0
  const server = createServer((s) => {
    s.on('data', (chunk) => {
      // same framing work as a real protocol: 4-byte length prefix
      pending += chunk.length
      const frame = payload + 4
      received += Math.floor(pending / frame)
      pending %= frame
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const sock = connect((server.address() as AddressInfo).port, '127.0.0.1')
  await new Promise(resolve => sock.once('connect', resolve))
  const frame = Buffer.alloc(payload + 4, 7)
  frame.writeUInt32BE(payload, 0)
  const rate = await pump(() => sock.writableLength, () => { sock.write(frame) }, () => received)
  sock.destroy(); server.close()
  return rate
}

async function hearsay (kind: 'ws' | 'tcp', payload: number): Promise<{ rate: number, connectMs: number }> {
  const make = (): HearsayNode => createNode({ transports: [kind === 'ws' ? webSockets() : tcp()], listen: [`${kind}://127.0.0.1:0`], overlay: false })
  const a = make(); const b = make()
  await a.start(); await b.start()
  let received = 0
  a.on('message', () => { received++ })
  const t0 = performance.now()
  const peer = await b.dial(a.addresses[0]!)
  const connectMs = performance.now() - t0
  const data = new Uint8Array(payload).fill(7)
  const rate = await pump(() => peer.link.conn.bufferedAmount, () => { peer.send('b', data) }, () => received)
  await b.stop(); await a.stop()
  return { rate, connectMs }
}

/** Sends as fast as backpressure allows for DURATION_MS; returns messages received per second. */
async function pump (buffered: () => number, send: () => void, received: () => number): Promise<number> {
  const start = performance.now()
  const startCount = received()
  while (performance.now() - start < DURATION_MS) {
    for (let i = 0; i < 256 && buffered() < HIGH_WATER; i++) send()
    await new Promise(resolve => setImmediate(resolve))
  }
  const sent = performance.now()
  // count only what arrived within the window, plus a short drain
  await new Promise(resolve => setTimeout(resolve, 100))
  return (received() - startCount) / ((sent - start + 100) / 1000)
}

async function main (): Promise<void> {
  const rows: Row[] = []
  const handshakes: Record<string, number[]> = { ws: [], tcp: [] }
  for (const payload of [64, 1024]) {
    rows.push({ name: 'raw ws', transport: 'ws', payload, msgsPerSec: await rawWs(payload) })
    const hw = await hearsay('ws', payload)
    handshakes.ws!.push(hw.connectMs)
    rows.push({ name: 'hearsay secure link', transport: 'ws', payload, msgsPerSec: hw.rate })
    rows.push({ name: 'raw net', transport: 'tcp', payload, msgsPerSec: await rawTcp(payload) })
    const ht = await hearsay('tcp', payload)
    handshakes.tcp!.push(ht.connectMs)
    rows.push({ name: 'hearsay secure link', transport: 'tcp', payload, msgsPerSec: ht.rate })
    console.error(`payload ${payload} done`)
  }
  // connect + handshake alone, averaged over several fresh pairs
  for (let i = 0; i < 8; i++) {
    handshakes.ws!.push((await hearsay('ws', 64).catch(() => ({ connectMs: NaN }))).connectMs)
  }
  const ratio = (t: 'ws' | 'tcp', p: number): number => {
    const h = rows.find(r => r.transport === t && r.payload === p && r.name.startsWith('hearsay'))!.msgsPerSec
    const raw = rows.find(r => r.transport === t && r.payload === p && r.name.startsWith('raw'))!.msgsPerSec
    return h / raw
  }
  const median = (xs: number[]): number => { const s = xs.filter(Number.isFinite).sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN }
  const result = {
    machine: { node: process.version, cpus: (await import('node:os')).cpus().length, durationMs: DURATION_MS },
    rows,
    ratios: { ws64: ratio('ws', 64), ws1k: ratio('ws', 1024), tcp64: ratio('tcp', 64), tcp1k: ratio('tcp', 1024) },
    connectAndHandshakeMs: { wsMedian: median(handshakes.ws!), tcpMedian: median(handshakes.tcp!) }
  }
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true })
  writeFileSync(new URL('../results/link.json', import.meta.url), JSON.stringify(result, null, 2) + '\n')
  const md = ['| link | transport | payload | msgs/s | vs raw |', '|---|---|---|---|---|',
    ...rows.map(r => `| ${r.name} | ${r.transport} | ${r.payload} B | ${Math.round(r.msgsPerSec).toLocaleString('en')} | ${r.name.startsWith('hearsay') ? ratio(r.transport, r.payload).toFixed(2) : '1.00'} |`),
    '', `connect + handshake, median: ws ${result.connectAndHandshakeMs.wsMedian.toFixed(1)} ms, tcp ${result.connectAndHandshakeMs.tcpMedian.toFixed(1)} ms`]
  writeFileSync(new URL('../results/link.md', import.meta.url), md.join('\n') + '\n')
  console.log(md.join('\n'))
}

await main()
