/**
 * One worker process of the mesh run (mesh-run.ts): hosts several `hearsay` nodes that behave
 * like pages. Each has no listen address but `webrtc:*` (node-datachannel), a ws client to the
 * relay as its only seed, a memory store, and the full SDK's defaults (overlay, Plumtree, every
 * service, signalling over the overlay). Spoken to over IPC (structured clone):
 *
 *   worker → { ev: 'ready' }                              (modules loaded: the wave can start)
 *   parent → { cmd: 'start', at: [ms after the parent's go, per node] }   (a join wave)
 *   worker → { ev: 'peer', i, id }                        (a node started)
 *   worker → { ev: 'state', nodes: [{ i, id, active, firstDirectMs }] }  (on link changes, batched)
 *   parent → { cmd: 'broadcast', i, bid }  → worker → { ev: 'sent', bid }
 *   worker → { ev: 'received', bids: [[i, bid], …] }     (batched)
 *   parent → { cmd: 'metrics' } → worker → { ev: 'metrics', sum: { name: total } }
 *   parent → { cmd: 'inspect', i } → worker → { ev: 'inspect', i, status, links, counters }  (one node)
 *   parent → { cmd: 'stop' } → the nodes stop, the process exits
 */
import { createNode, memoryStore } from 'hearsay'
import type { HearsayNode } from 'hearsay'
import { webSockets } from '@hearsay/transport-ws'
import { webRTC } from '@hearsay/transport-webrtc'
import { monitorEventLoopDelay } from 'node:perf_hooks'

export type MeshWorkerCommand =
  | { cmd: 'start', at: number[] }
  | { cmd: 'broadcast', i: number, bid: string }
  | { cmd: 'metrics' }
  | { cmd: 'inspect', i: number }
  | { cmd: 'stop' }

export interface MeshPeerState {
  i: number
  id: string
  /** HyParView's active view (peer ids). */
  active: string[]
  /** ms from this node's `start()` call to its first link over `webrtc:`, null until then. */
  firstDirectMs: number | null
}

export type MeshWorkerEvent =
  | { ev: 'ready' }
  | { ev: 'peer', i: number, id: string }
  | { ev: 'state', nodes: MeshPeerState[] }
  | { ev: 'sent', bid: string }
  | { ev: 'received', bids: Array<[number, string]> }
  | { ev: 'metrics', sum: Record<string, number> }
  | { ev: 'inspect', i: number, status: string, links: string[], counters: Record<string, number> }
  | { ev: 'error', message: string }

/** The application message type of the measured broadcasts. */
export const MESH_TYPE = 'mesh'

const relay = process.argv[2]!
const send = (e: MeshWorkerEvent): void => { if (process.connected) process.send!(e) }

interface Hosted { node: HearsayNode, startedAt: number, firstDirectMs: number | null }
const hosted: Hosted[] = []
const dirty = new Set<number>()
let received: Array<[number, string]> = []
let flushTimer: ReturnType<typeof setTimeout> | undefined
const startTimers: Array<ReturnType<typeof setTimeout>> = []

/** Reports batched at most every 100 ms: one IPC message per batch, not per event. */
function scheduleFlush (): void {
  if (flushTimer !== undefined) return
  flushTimer = setTimeout(flush, 100)
}

function flush (): void {
  flushTimer = undefined
  if (dirty.size > 0) {
    const nodes: MeshPeerState[] = []
    for (const i of dirty) {
      const h = hosted[i]!
      nodes.push({ i, id: h.node.id, active: [...(h.node.overlay?.active ?? [])], firstDirectMs: h.firstDirectMs })
    }
    dirty.clear()
    send({ ev: 'state', nodes })
  }
  if (received.length > 0) { send({ ev: 'received', bids: received }); received = [] }
}

// MESH_DIAG=1: the reasons of failed WebRTC dials and of logged failures, counted as `diag.<…>`
const diag: Record<string, number> = {}
const DIAG = process.env.MESH_DIAG === '1'
const reason = (err: unknown): string => {
  const e = err as { name?: string, message?: string, cause?: unknown }
  const own = `${e?.name ?? '?'}: ${(e?.message ?? String(err)).replace(/[a-z2-7]{52}/g, '<id>').replace(/\d+/g, 'N').slice(0, 90)}`
  return e?.cause === undefined ? own : `${own} <- ${reason(e.cause)}`
}
const count = (k: string): void => { diag[`diag.${k}`] = (diag[`diag.${k}`] ?? 0) + 1 }
// a failure's log line carries `err`, a closed link's `reason`
const line = (msg: string, f?: Record<string, unknown>): string => { const err = f?.err ?? f?.reason; return `${msg}${err === undefined ? '' : ` ${reason(err)}`}` }
const diagLogger = {
  debug: (msg: string, f?: Record<string, unknown>) => { count(`log ${line(msg, f)}`) },
  info: () => {},
  warn: (msg: string, f?: Record<string, unknown>) => { count(`warn ${line(msg, f)}`) },
  error: (msg: string, f?: Record<string, unknown>) => { count(`error ${line(msg, f)}`) }
}
// MESH_DIAG=1: how late this process's event loop ran (CPU starvation shows here first), and its CPU time
const loop = DIAG ? monitorEventLoopDelay({ resolution: 10 }) : undefined
loop?.enable()
const cpu0 = process.cpuUsage()
const wall0 = performance.now()
const firstAttempt: number[] = []
const firstLink: number[] = []
const dialMs: number[] = []
function rtc (i: number): ReturnType<typeof webRTC> {
  const t = webRTC()
  if (!DIAG) return t
  const dial = t.dial.bind(t)
  t.dial = async (address, options) => {
    if (firstAttempt[i] === undefined) firstAttempt[i] = performance.now() - hosted[i]!.startedAt
    const t0 = performance.now()
    try {
      const c = await dial(address, options)
      dialMs.push(performance.now() - t0)
      return c
    } catch (err) { count(`rtc dial ${reason(err)}`); throw err }
  }
  return t
}

function host (i: number): Hosted {
  const node = createNode({
    ...(DIAG ? { logger: diagLogger } : {}),
    transports: [webSockets(), rtc(i)],
    listen: ['webrtc:*'],
    seeds: [relay],
    store: memoryStore()
  })
  const h: Hosted = { node, startedAt: 0, firstDirectMs: null }
  const changed = (): void => { dirty.add(i); scheduleFlush() }
  node.on('peer:connect', (p) => {
    if (DIAG && firstLink[i] === undefined) firstLink[i] = performance.now() - h.startedAt
    if (h.firstDirectMs === null && p.address.startsWith('webrtc:')) h.firstDirectMs = performance.now() - h.startedAt
    changed()
  })
  node.on('peer:disconnect', changed)
  node.route(MESH_TYPE, (msg) => {
    received.push([i, (msg.data as { bid: string }).bid])
    scheduleFlush()
  })
  return h
}

async function startOne (i: number): Promise<void> {
  const h = hosted[i]!
  h.startedAt = performance.now()
  try {
    await h.node.start()
    send({ ev: 'peer', i, id: h.node.id })
  } catch (err) {
    send({ ev: 'error', message: `node ${i} did not start: ${String(err)}` })
  }
}

// a view can change without a link event (a link kept outside the active view, a swap): every
// node's state is also sent once a second
const periodic = setInterval(() => { for (let i = 0; i < hosted.length; i++) if (hosted[i]!.node.status === 'running') dirty.add(i); scheduleFlush() }, 1000)

function metricsSum (): Record<string, number> {
  const sum: Record<string, number> = { ...diag }
  if (DIAG) {
    const med = (xs: number[]): number => { const a = xs.filter(x => Number.isFinite(x)).sort((x, y) => x - y); return Math.round(a[Math.floor(a.length / 2)] ?? -1) }
    sum['diag.median ms to the first link'] = med(firstLink)
    sum['diag.median ms of a webrtc transport dial'] = med(dialMs)
    sum['diag.p90 ms of a webrtc transport dial'] = Math.round(dialMs.sort((a, b) => a - b)[Math.floor(dialMs.length * 0.9)] ?? -1)
    sum['diag.median ms to the first webrtc dial'] = med(firstAttempt)
    sum['diag.median ms to the first direct link'] = med(hosted.map(h => h.firstDirectMs ?? Number.NaN))
    // per worker (the run sums counters): event-loop delay and the share of a core it got
    const c = process.cpuUsage(cpu0)
    const w = `w${String(process.pid)}`
    sum[`diag.loop delay p50 ms ${w}`] = Math.round((loop?.percentile(50) ?? 0) / 1e6)
    sum[`diag.loop delay p99 ms ${w}`] = Math.round((loop?.percentile(99) ?? 0) / 1e6)
    sum[`diag.loop delay max ms ${w}`] = Math.round((loop?.max ?? 0) / 1e6)
    sum[`diag.cpu % of a core ${w}`] = Math.round(100 * (c.user + c.system) / 1000 / (performance.now() - wall0))
  }
  for (const { node } of hosted) {
    for (const [k, v] of Object.entries(node.metrics.snapshot())) sum[k] = (sum[k] ?? 0) + v
    for (const [k, v] of Object.entries(node.overlay?.drops ?? {})) sum[`overlay.${k}`] = (sum[`overlay.${k}`] ?? 0) + v
  }
  return sum
}

async function stopAll (): Promise<void> {
  clearInterval(periodic)
  for (const t of startTimers) clearTimeout(t)
  if (flushTimer !== undefined) clearTimeout(flushTimer)
  await Promise.all(hosted.map(async h => { await h.node.stop().catch(() => {}) }))
}

process.on('message', (m: MeshWorkerCommand) => {
  if (m.cmd === 'start') {
    for (let i = 0; i < m.at.length; i++) hosted.push(host(i))
    m.at.forEach((ms, i) => { startTimers.push(setTimeout(() => { void startOne(i) }, ms)) })
  } else if (m.cmd === 'broadcast') {
    try {
      hosted[m.i]!.node.broadcast(MESH_TYPE, { bid: m.bid })
      send({ ev: 'sent', bid: m.bid })
    } catch (err) { send({ ev: 'error', message: `broadcast ${m.bid}: ${String(err)}` }) }
  } else if (m.cmd === 'metrics') {
    send({ ev: 'metrics', sum: metricsSum() })
  } else if (m.cmd === 'inspect') {
    const n = hosted[m.i]?.node
    const counters: Record<string, number> = {}
    for (const [k, v] of Object.entries(n?.metrics.snapshot() ?? {})) if (v !== 0) counters[k] = v
    for (const [k, v] of Object.entries(n?.overlay?.drops ?? {})) counters[`overlay.${k}`] = v
    send({ ev: 'inspect', i: m.i, status: n?.status ?? 'none', links: n === undefined ? [] : n.peers().map(p => p.address.slice(0, 24)), counters })
  } else if (m.cmd === 'stop') {
    void stopAll().finally(() => { process.exit(0) })
  }
})
process.on('disconnect', () => { void stopAll().finally(() => { process.exit(0) }) })
send({ ev: 'ready' })
