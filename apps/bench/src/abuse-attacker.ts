/**
 * The attackers of the abuse bench (abuse-bench.ts), in their own process so that their CPU is
 * not the honest nodes': from 127.0.1.x source addresses (all loopback on Linux, so the relay's
 * per-address limits apply to each) they hold half-open TCP connections (connect, say nothing,
 * reconnect when cut), send garbage hellos and hellos under a wrong network key over ws; and one
 * authenticated hearsay node (right key) broadcasts flat out through the relay. Obeys the parent
 * over IPC: start, stop (answering with what it did).
 */
import net from 'node:net'
import { createNode, generateIdentity, initiator, toNetworkKey } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { WebSocket } from 'ws'

export interface AttackPlan {
  relayWs: string
  relayTcp: string
  relayId: string
  networkKey?: string
  /** Half-open TCP connections held at once, each from its own address 127.0.1.1… */
  halfOpen: number
  /** Garbage hellos (64 random bytes over ws) per second, from 127.0.1.201–220. */
  garbagePerSecond: number
  /** Hellos under a wrong network key per second, from 127.0.1.221–240. */
  wrongKeyPerSecond: number
  /** One authenticated node broadcasting as fast as its link takes it. */
  flood: boolean
  /** A control, not an attack: burn one core without a byte to the relay (what the flooder's own CPU costs the machine). */
  spin?: boolean
}

export type AttackerCommand = { cmd: 'start', plan: AttackPlan } | { cmd: 'stop' }

export interface AttackReport {
  halfOpenConnects: number
  halfOpenCutByRelay: number
  garbageSent: number
  wrongKeySent: number
  floodSent: number
  /** ms from the start of the flood to the relay cutting the flooder off, or null. */
  floodCutOffMs: number | null
  floodByeReason: string | null
}

export type AttackerEvent = { ev: 'started' } | { ev: 'stopped', report: AttackReport } | { ev: 'error', message: string }

const send = (e: AttackerEvent): void => { process.send!(e) }
const report: AttackReport = { halfOpenConnects: 0, halfOpenCutByRelay: 0, garbageSent: 0, wrongKeySent: 0, floodSent: 0, floodCutOffMs: null, floodByeReason: null }
let running = false
const sockets = new Set<net.Socket>()
const timers = new Set<NodeJS.Timeout>()
let flooder: HearsayNode | undefined

function holdHalfOpen (host: string, port: number, localAddress: string): void {
  if (!running) return
  const s = net.connect({ host, port, localAddress })
  sockets.add(s)
  report.halfOpenConnects++
  let opened = false
  s.on('connect', () => { opened = true })
  s.on('error', () => {})
  s.on('close', () => {
    sockets.delete(s)
    if (!running) return
    if (opened) report.halfOpenCutByRelay++
    // keep the pressure on: a cut slot is taken again at once (a little later if refused)
    const t = setTimeout(() => { timers.delete(t); holdHalfOpen(host, port, localAddress) }, opened ? 0 : 50)
    timers.add(t)
  })
}

function every (perSecond: number, fn: (i: number) => void): void {
  if (perSecond <= 0) return
  let i = 0
  const t = setInterval(() => { fn(i++) }, 1000 / perSecond)
  timers.add(t as unknown as NodeJS.Timeout)
}

/** Opens a ws from `localAddress`, sends `bytes`, and lets the relay close it (or gives up after 3 s). */
function wsHello (url: string, localAddress: string, bytes: Uint8Array): void {
  const ws = new WebSocket(url, { localAddress })
  ws.on('error', () => {})
  ws.on('open', () => { ws.send(bytes) })
  const t = setTimeout(() => { timers.delete(t); ws.terminate() }, 3000)
  timers.add(t)
  ws.on('close', () => { clearTimeout(t); timers.delete(t) })
}

async function startFlood (plan: AttackPlan): Promise<void> {
  const node = createNode({
    transports: [webSockets()],
    seeds: [plan.relayWs],
    ...(plan.networkKey === undefined ? {} : { networkKey: plan.networkKey }),
    minPeers: 1,
    maxPeers: 4,
    healInterval: 0
  })
  flooder = node
  const linked = new Promise<void>((resolve) => { node.on('peer:connect', (p) => { if (p.id === plan.relayId) resolve() }) })
  await node.start()
  await linked
  const started = performance.now()
  node.on('peer:disconnect', ({ peer }) => {
    if (!running || peer.id !== plan.relayId || report.floodCutOffMs !== null) return
    report.floodCutOffMs = Math.round(performance.now() - started)
    report.floodByeReason = peer.link.byeReason ?? null
  })
  const payload = { junk: 'x'.repeat(64) }
  const loop = (): void => {
    if (!running || node.status !== 'running') return
    const relay = node.getPeer(plan.relayId)
    if (relay === undefined) return // cut off: an attacker would come back with a new identity; this one counts the cut
    // flat out: as much as the link takes, without letting this process's own buffer grow unbounded
    if (relay.link.conn.bufferedAmount < 4 * 1024 * 1024) {
      for (let i = 0; i < 200; i++) { try { node.broadcast('flood', payload); report.floodSent++ } catch { break } }
      setImmediate(loop)
    } else {
      relay.link.conn.drained({ signal: AbortSignal.timeout(5000) }).then(loop, loop)
    }
  }
  loop()
}

async function start (plan: AttackPlan): Promise<void> {
  running = true
  const tcp = new URL(plan.relayTcp)
  const ws = plan.relayWs
  for (let i = 0; i < plan.halfOpen; i++) holdHalfOpen(tcp.hostname, Number(tcp.port), `127.0.1.${1 + (i % 200)}`)
  every(plan.garbagePerSecond, (i) => {
    report.garbageSent++
    wsHello(ws, `127.0.1.${201 + (i % 20)}`, crypto.getRandomValues(new Uint8Array(64)))
  })
  const wrongKey = toNetworkKey('not the network key')
  every(plan.wrongKeyPerSecond, (i) => {
    report.wrongKeySent++
    void initiator({ identity: generateIdentity(), networkKey: wrongKey }).hello().then((hello) => { wsHello(ws, `127.0.1.${221 + (i % 20)}`, hello) })
  })
  if (plan.flood) await startFlood(plan)
  if (plan.spin === true) spin()
}

function spin (): void {
  if (!running) return
  const until = performance.now() + 50
  while (performance.now() < until) { /* burn */ }
  setImmediate(spin)
}

async function stop (): Promise<void> {
  running = false
  for (const t of timers) { clearTimeout(t); clearInterval(t) }
  timers.clear()
  for (const s of sockets) s.destroy()
  sockets.clear()
  await flooder?.stop()
}

process.on('message', (m: AttackerCommand) => {
  const run = async (): Promise<void> => {
    if (m.cmd === 'start') { await start(m.plan); send({ ev: 'started' }); return }
    await stop()
    send({ ev: 'stopped', report })
    process.exit(0)
  }
  run().catch((err: unknown) => { send({ ev: 'error', message: String(err) }) })
})
process.on('disconnect', () => { process.exit(0) })
