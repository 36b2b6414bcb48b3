/**
 * Two-node link measurements: the secure hearsay link over ws and tcp against raw `ws` and raw
 * `node:net` in the same run, so that the figures are ratios that hold on a noisy shared machine.
 * One-way messages/s (sender paced by backpressure) and the Node-to-Node connect + handshake
 * time. Used by `pnpm bench:link` (link-bench.ts) and `pnpm bench` (compare-cli.ts).
 */
import * as nodeCrypto from 'node:crypto'
import { createServer, connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, WebSocket } from 'ws'
import { aes256Gcm, createNode, secureChannel, xsalsa20Poly1305 } from '@hearsay/core'
const MAX_BATCH_BYTES = 64 * 1024 // the secure channel's largest batch over ws and tcp (docs/protocol.md, "Batches")
import type { HearsayNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { tcp } from '@hearsay/transport-tcp'

export type LinkTransport = 'ws' | 'tcp'

export interface LinkRow {
  name: string
  transport: LinkTransport
  payload: number
  /** Median of the repeats. */
  msgsPerSec: number
  msgsPerSecMin: number
  msgsPerSecMax: number
  /** Payload megabytes (10^6 B) per second, median of the repeats. */
  mbPerSec: number
  /** CPU time (both ends: one process) per message, µs, median of the repeats. */
  cpuUsPerMsg: number
  /** msgs/s ÷ the raw row's, computed per repeat (the two ran side by side): median, min, max. Absent on raw rows. */
  vsRaw?: Spread
}

export interface Spread { median: number, min: number, max: number }

export interface LinkResult {
  durationMs: number
  repeats: number
  rows: LinkRow[]
  /** hearsay msgs/s ÷ raw, per transport and payload, median of the per-repeat ratios: `ws64`, `ws1024`, `tcp64`, `tcp1024`, …, `…Uncoalesced` for coalescing off, `…Xsalsa` for XSalsa20-Poly1305. */
  ratios: Record<string, number>
  /** The same for CPU cost: raw's CPU µs per message ÷ hearsay's (the share of raw's efficiency; load elsewhere disturbs it less). */
  cpuRatios: Record<string, number>
  connectAndHandshakeMs: { wsMedian: number, tcpMedian: number }
}

export interface LinkBenchOptions {
  /** Window per measurement, ms. @default 3000 */
  durationMs?: number
  /** @default [64, 1024] */
  payloads?: number[]
  /** Measurements of each row; the report gives the median, min and max, and each repeat's ratio to raw. @default 3 */
  repeats?: number
  /** Extra fresh ws pairs dialled for the handshake median. @default 8 */
  handshakeSamples?: number
  /** Also measure the secure link with frame coalescing off (one secretbox per frame: before/after in one run). @default true */
  uncoalesced?: boolean
  /** Also measure the secure link with XSalsa20-Poly1305 (what browsers use) beside the default AES-256-GCM. @default false */
  xsalsa20?: boolean
  /** Progress lines. @default none */
  log?: (line: string) => void
}

const HIGH_WATER = 1 << 20

export const RAW_NAME: Record<LinkTransport, string> = { ws: 'raw ws', tcp: 'raw net' }
export const HEARSAY_NAME = 'hearsay secure link'
export const UNCOALESCED_NAME = 'hearsay secure link, coalescing off'
export const XSALSA_NAME = 'hearsay secure link, XSalsa20-Poly1305'
/** The suites `hearsay`'s Node entries offer: native AES-256-GCM, then XSalsa20-Poly1305. */
const NODE_SUITES = [aes256Gcm(nodeCrypto), xsalsa20Poly1305]

/** Raw `ws`: one binary message per send, counted on arrival. */
export async function rawWs (payload: number, durationMs: number): Promise<PumpResult> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise(resolve => wss.once('listening', resolve))
  let received = 0
  wss.on('connection', (s) => { s.on('message', () => { received++ }) })
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
  await new Promise(resolve => ws.once('open', resolve))
  const buf = Buffer.alloc(payload, 7)
  const r = await pump(durationMs, () => ws.bufferedAmount, () => { ws.send(buf) }, () => received)
  ws.close(); wss.close()
  return r
}

/** Raw `node:net` with a 4-byte length prefix per message, counted by framing arithmetic. */
export async function rawTcp (payload: number, durationMs: number): Promise<PumpResult> {
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
  const r = await pump(durationMs, () => sock.writableLength, () => { sock.write(frame) }, () => received)
  sock.destroy(); server.close()
  return r
}

/**
 * Two hearsay nodes (no overlay): `peer.send` one way, counted by the receiver's `message`
 * event. The frames are sealed with AES-256-GCM (node:crypto) as `hearsay`'s Node entries do,
 * or with XSalsa20-Poly1305 (`xsalsa20: true`, what browsers use). `coalesce: false` gives both
 * nodes a secure channel that seals every frame on its own.
 */
export async function hearsayLink (kind: LinkTransport, payload: number, durationMs: number, opts: { coalesce?: boolean, xsalsa20?: boolean } = {}): Promise<PumpResult & { connectMs: number }> {
  const make = (): HearsayNode => createNode({
    transports: [kind === 'ws' ? webSockets() : tcp()],
    listen: [`${kind}://127.0.0.1:0`],
    overlay: false,
    channel: secureChannel({ coalesce: opts.coalesce ?? true, cipherSuites: opts.xsalsa20 === true ? [xsalsa20Poly1305] : NODE_SUITES })
  })
  const a = make(); const b = make()
  await a.start(); await b.start()
  let received = 0
  a.on('message', () => { received++ })
  // the pump starts once both ends hold the link: frames that reach a responder still verifying
  // the handshake wait in a bounded queue (1 MiB), which a full-speed sender overruns on a loaded machine
  const accepted = new Promise<void>(resolve => { a.once('peer:connect', () => { resolve() }) })
  const t0 = performance.now()
  const peer = await b.dial(a.addresses[0]!)
  const connectMs = performance.now() - t0
  await accepted
  const data = new Uint8Array(payload).fill(7)
  const r = durationMs > 0 ? await pump(durationMs, () => peer.link.conn.bufferedAmount, () => { peer.send('b', data) }, () => received) : { rate: 0, cpuUsPerMsg: NaN }
  await b.stop(); await a.stop()
  return { ...r, connectMs }
}

export interface PumpResult {
  /** Messages received per second over the window (plus a 100 ms drain). */
  rate: number
  /** Process CPU time per message received, µs. */
  cpuUsPerMsg: number
}

/** Sends as fast as backpressure allows for `durationMs`; returns messages received per second and their CPU cost. */
export async function pump (durationMs: number, buffered: () => number, send: () => void, received: () => number): Promise<PumpResult> {
  const start = performance.now()
  const cpu0 = process.cpuUsage()
  const startCount = received()
  while (performance.now() - start < durationMs) {
    for (let i = 0; i < 256 && buffered() < HIGH_WATER; i++) send()
    await new Promise(resolve => setImmediate(resolve))
  }
  const sent = performance.now()
  // count only what arrived within the window, plus a short drain
  await new Promise(resolve => setTimeout(resolve, 100))
  const got = received() - startCount
  const cpu = process.cpuUsage(cpu0)
  return { rate: got / ((sent - start + 100) / 1000), cpuUsPerMsg: got === 0 ? NaN : (cpu.user + cpu.system) / got }
}

export function median (xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}

export function spread (xs: number[]): Spread {
  const s = xs.filter(Number.isFinite)
  return { median: median(s), min: s.length === 0 ? NaN : Math.min(...s), max: s.length === 0 ? NaN : Math.max(...s) }
}

/** Raw and hearsay, each payload, each transport, in alternation; then the handshake samples. */
export async function runLinkBench (opts: LinkBenchOptions = {}): Promise<LinkResult> {
  const durationMs = opts.durationMs ?? 3000
  const repeats = Math.max(1, opts.repeats ?? 3)
  const rows: LinkRow[] = []
  const handshakes: Record<LinkTransport, number[]> = { ws: [], tcp: [] }
  const ratios: Record<string, number> = {}
  const cpuRatios: Record<string, number> = {}
  interface Variant { name: (t: LinkTransport) => string, key?: string, run: (t: LinkTransport, p: number) => Promise<PumpResult> }
  const raw: Variant = { name: t => RAW_NAME[t], run: async (t, p) => t === 'ws' ? await rawWs(p, durationMs) : await rawTcp(p, durationMs) }
  const allVariants: Variant[] = [
    raw,
    {
      name: () => HEARSAY_NAME,
      key: '',
      run: async (t, p) => {
        const h = await hearsayLink(t, p, durationMs)
        handshakes[t].push(h.connectMs)
        return h
      }
    },
    ...(opts.xsalsa20 ?? false ? [{ name: () => XSALSA_NAME, key: 'Xsalsa', run: async (t: LinkTransport, p: number) => await hearsayLink(t, p, durationMs, { xsalsa20: true }) }] : []),
    ...(opts.uncoalesced ?? true ? [{ name: () => UNCOALESCED_NAME, key: 'Uncoalesced', run: async (t: LinkTransport, p: number) => await hearsayLink(t, p, durationMs, { coalesce: false }) }] : [])
  ]
  for (const payload of opts.payloads ?? [64, 1024]) {
    // past one batch (64 KiB) every message is sealed alone: coalescing off changes nothing there
    const variants = allVariants.filter(v => v.key !== 'Uncoalesced' || payload < MAX_BATCH_BYTES)
    for (const transport of ['ws', 'tcp'] as const) {
      // the variants alternate within each repeat, so a burst of load elsewhere hits them alike,
      // and each repeat's ratio to raw compares two measurements taken side by side
      const results = variants.map(() => [] as PumpResult[])
      for (let k = 0; k < repeats; k++) {
        for (const [i, v] of variants.entries()) results[i]!.push(await v.run(transport, payload))
      }
      const rawRuns = results[0]!
      for (const [i, v] of variants.entries()) {
        const runs = results[i]!
        const rates = spread(runs.map(r => r.rate))
        const perRun = i === 0 ? undefined : spread(runs.map((r, k) => r.rate / rawRuns[k]!.rate))
        const cpu = median(runs.map(r => r.cpuUsPerMsg))
        rows.push({ name: v.name(transport), transport, payload, msgsPerSec: rates.median, msgsPerSecMin: rates.min, msgsPerSecMax: rates.max, mbPerSec: rates.median * payload / 1e6, cpuUsPerMsg: cpu, ...(perRun === undefined ? {} : { vsRaw: perRun }) })
        if (v.key !== undefined && perRun !== undefined) {
          ratios[`${transport}${payload}${v.key}`] = perRun.median
          cpuRatios[`${transport}${payload}${v.key}`] = median(rawRuns.map(r => r.cpuUsPerMsg)) / cpu
        }
      }
    }
    opts.log?.(`link: payload ${payload} B done`)
  }
  // connect + handshake alone, over several fresh pairs
  for (let i = 0; i < (opts.handshakeSamples ?? 8); i++) {
    handshakes.ws.push((await hearsayLink('ws', 64, 0).catch(() => ({ connectMs: NaN }))).connectMs)
  }
  return { durationMs, repeats, rows, ratios, cpuRatios, connectAndHandshakeMs: { wsMedian: median(handshakes.ws), tcpMedian: median(handshakes.tcp) } }
}

export function linkRate (rows: LinkRow[], name: string, transport: LinkTransport, payload: number): number {
  return rows.find(r => r.name === name && r.transport === transport && r.payload === payload)?.msgsPerSec ?? NaN
}

const fmtSize = (b: number): string => b >= 1024 ? `${b / 1024} KiB` : `${b} B`
const fmtRate = (x: number): string => Math.round(x).toLocaleString('en')

export function linkMarkdown (result: LinkResult): string {
  const lines = [`Median of ${result.repeats} runs (min–max); "vs raw" is each run's ratio to the raw row measured beside it: median (min–max).`, '',
    '| link | transport | payload | msgs/s | MB/s | vs raw | CPU µs / msg | CPU efficiency vs raw |', '|---|---|---|---|---|---|---|---|',
    ...result.rows.map(r => {
      const raw = result.rows.find(x => x.name === RAW_NAME[r.transport] && x.transport === r.transport && x.payload === r.payload)
      const vs = r.vsRaw === undefined ? '1.00' : `${r.vsRaw.median.toFixed(2)} (${r.vsRaw.min.toFixed(2)}–${r.vsRaw.max.toFixed(2)})`
      return `| ${r.name} | ${r.transport} | ${fmtSize(r.payload)} | ${fmtRate(r.msgsPerSec)} (${fmtRate(r.msgsPerSecMin)}–${fmtRate(r.msgsPerSecMax)}) | ${r.mbPerSec.toFixed(1)} | ${vs} | ${r.cpuUsPerMsg.toFixed(2)} | ${((raw?.cpuUsPerMsg ?? NaN) / r.cpuUsPerMsg).toFixed(2)} |`
    }),
    '', `connect + handshake, median: ws ${result.connectAndHandshakeMs.wsMedian.toFixed(1)} ms, tcp ${result.connectAndHandshakeMs.tcpMedian.toFixed(1)} ms`]
  return lines.join('\n') + '\n'
}
