/**
 * One client process of the relay load bench (relay-load.ts): it runs many hearsay nodes, each
 * dialling the relay over ws with its own identity and link, and obeys the parent over IPC:
 * start nodes (a bounded number of handshakes at once), broadcast at a given rate, churn (stop
 * some nodes and start new ones), report, stop. Latencies are measured at the receivers from the
 * send time carried in each message (one machine, one clock).
 */
import { createNode } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'

export type ClientCommand =
  | { cmd: 'start', count: number, concurrency: number }
  | { cmd: 'broadcast', perSecond: number, durationMs: number }
  | { cmd: 'churn', replace: number, concurrency: number }
  | { cmd: 'report' }
  | { cmd: 'stop' }

export type ClientEvent =
  | { ev: 'started', connected: number, failed: number, connectTimes: number[] }
  | { ev: 'broadcast-done', sent: number }
  | { ev: 'churned', stopped: number, connected: number, failed: number }
  | { ev: 'report', nodes: number, connected: number, received: number, latencies: Float64Array, rss: number, heapUsed: number }
  | { ev: 'stopped' }
  | { ev: 'error', message: string }

const relay = process.argv[2]!
const relayId = process.argv[3]!
const proc = Number(process.argv[4] ?? 0)
const send = (e: ClientEvent): void => { process.send!(e) }

interface Client { node: HearsayNode, linked: boolean }
const clients: Client[] = []
let received = 0
let latencies = new Float64Array(1 << 16)
let nLat = 0
let seq = 0

const now = (): number => performance.timeOrigin + performance.now()

function recordLatency (ms: number): void {
  if (nLat === latencies.length) { const grown = new Float64Array(latencies.length * 2); grown.set(latencies); latencies = grown }
  latencies[nLat++] = ms
}

/** Starts one node and resolves with the ms its link to the relay took (handshake included), or -1. */
async function startOne (): Promise<number> {
  const node = createNode({
    transports: [webSockets()],
    seeds: [relay],
    // a client has no listen address: its one overlay neighbour is the relay
    minPeers: 1,
    maxPeers: 4,
    healInterval: 0,
    rttInterval: 0,
    purgeInterval: 0
  })
  const client: Client = { node, linked: false }
  node.route('load', (msg) => {
    received++
    const t = (msg.data as { t?: unknown }).t
    if (typeof t === 'number') recordLatency(now() - t)
  })
  const t0 = performance.now()
  const linked = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { resolve(false) }, 60_000)
    node.on('peer:connect', (p) => { if (p.id === relayId) { clearTimeout(timer); resolve(true) } })
  })
  await node.start()
  client.linked = await linked
  node.on('peer:disconnect', ({ peer }) => { if (peer.id === relayId) client.linked = false })
  node.on('peer:connect', (p) => { if (p.id === relayId) client.linked = true })
  clients.push(client)
  return client.linked ? performance.now() - t0 : -1
}

/** Starts `count` nodes, at most `concurrency` handshaking at once. */
async function startMany (count: number, concurrency: number): Promise<{ connected: number, failed: number, connectTimes: number[] }> {
  const connectTimes: number[] = []
  let failed = 0
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++
      const ms = await startOne().catch(() => -1)
      if (ms < 0) failed++
      else connectTimes.push(ms)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return { connected: connectTimes.length, failed, connectTimes }
}

/** Each linked node broadcasts in turn, `perSecond` in all, for `durationMs`. */
async function broadcast (perSecond: number, durationMs: number): Promise<number> {
  const total = Math.round(perSecond * durationMs / 1000)
  const started = performance.now()
  let sent = 0
  for (let k = 0; k < total; k++) {
    const at = started + k * 1000 / perSecond
    const wait = at - performance.now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    const c = clients[(seq++) % clients.length]
    if (c === undefined || !c.linked || c.node.status !== 'running') continue
    try {
      c.node.broadcast('load', { t: now(), p: proc })
      sent++
    } catch { /* the link went away under churn */ }
  }
  return sent
}

/** Stops `replace` random nodes and starts as many new ones. */
async function churn (replace: number, concurrency: number): Promise<{ stopped: number, connected: number, failed: number }> {
  const gone: Client[] = []
  for (let i = 0; i < replace && clients.length > 0; i++) gone.push(...clients.splice(Math.floor(Math.random() * clients.length), 1))
  await Promise.all(gone.map(async c => { await c.node.stop() }))
  const r = await startMany(gone.length, concurrency)
  return { stopped: gone.length, connected: r.connected, failed: r.failed }
}

process.on('message', (m: ClientCommand) => {
  const run = async (): Promise<void> => {
    switch (m.cmd) {
      case 'start': send({ ev: 'started', ...await startMany(m.count, m.concurrency) }); break
      case 'broadcast': send({ ev: 'broadcast-done', sent: await broadcast(m.perSecond, m.durationMs) }); break
      case 'churn': send({ ev: 'churned', ...await churn(m.replace, m.concurrency) }); break
      case 'report': {
        const mem = process.memoryUsage()
        send({ ev: 'report', nodes: clients.length, connected: clients.filter(c => c.linked).length, received, latencies: latencies.slice(0, nLat), rss: mem.rss, heapUsed: mem.heapUsed })
        received = 0
        nLat = 0
        break
      }
      case 'stop':
        await Promise.all(clients.map(async c => { await c.node.stop() }))
        send({ ev: 'stopped' })
        process.exit(0)
    }
  }
  run().catch((err: unknown) => { send({ ev: 'error', message: String(err) }) })
})
// the parent going away ends this process too
process.on('disconnect', () => { process.exit(0) })
