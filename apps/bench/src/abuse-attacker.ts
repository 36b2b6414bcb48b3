/**
 * The attackers of the abuse bench (abuse-bench.ts), in their own process so that their CPU is
 * not the honest nodes': from 127.0.1.x source addresses (all loopback on Linux, so the relay's
 * per-address limits apply to each) they hold half-open TCP connections (connect, say nothing,
 * reconnect when cut), send garbage hellos and hellos under a wrong network key over ws; one
 * authenticated hearsay node (right key) broadcasts flat out through the relay; a JOIN/NEIGHBOR
 * storm of fresh identities (each joins through the relay, repeats its JOIN and NEIGHBOR, and
 * leaves a second later); and one authenticated node spams WebRTC signals (`rtc.signal`) at the
 * honest nodes and at ids nobody has. Obeys the parent over IPC: start, stop (answering with
 * what it did).
 */
import net from 'node:net'
import { createNode, generateIdentity, initiator, toNetworkKey } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { WebSocket } from 'ws'
import { emptyReport } from './abuse-report.js'
import type { AttackReport } from './abuse-report.js'

export type { AttackReport }

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
  /** Fresh identities per second that join through the relay, each repeating `hv.join` and `hv.nbr` STORM_REPEATS times, gone a second later (from 127.0.0.1: the ws transport picks no source address). */
  joinsPerSecond?: number
  /** `rtc.signal` frames per second from one authenticated node: half to the honest nodes (`honestIds`), half to ids nobody has. */
  signalsPerSecond?: number
  /** The honest nodes' ids, the signal spam's targets (set by the bench). */
  honestIds?: string[]
}

export type AttackerCommand = { cmd: 'start', plan: AttackPlan } | { cmd: 'stop' }


export type AttackerEvent = { ev: 'started' } | { ev: 'stopped', report: AttackReport } | { ev: 'error', message: string }

const send = (e: AttackerEvent): void => { process.send!(e) }
const report: AttackReport = emptyReport()
let running = false
const sockets = new Set<net.Socket>()
const timers = new Set<NodeJS.Timeout>()
/** Every attacking node still running (the flooder, the signal spammer, storm identities). */
const attackers = new Set<HearsayNode>()
/** How many times a storm identity repeats its JOIN and its NEIGHBOR request. */
const STORM_REPEATS = 20
/** The hops a signal starts with (core's SIGNAL_HOPS, docs/protocol.md). */
const SIGNAL_HOPS = 7

/** An attacking node with the right network key, seeded with the relay; resolves once linked to it. */
async function attackerNode (plan: AttackPlan, opts: { overlay: boolean }): Promise<HearsayNode> {
  const node = createNode({
    transports: [webSockets()],
    seeds: [plan.relayWs],
    ...(plan.networkKey === undefined ? {} : { networkKey: plan.networkKey }),
    minPeers: 1,
    maxPeers: 4,
    healInterval: 0,
    ...(opts.overlay ? {} : { overlay: false })
  })
  attackers.add(node)
  const linked = new Promise<void>((resolve) => { node.on('peer:connect', (p) => { if (p.id === plan.relayId) resolve() }) })
  await node.start()
  if (!opts.overlay) await dialRelay(node, plan)
  await linked
  return node
}

/**
 * Dials the relay until a link is up: the half-open flood, started first, cuts handshakes whose
 * hello has not arrived yet, the attackers' own included (a bench run failed on it).
 */
async function dialRelay (node: HearsayNode, plan: AttackPlan): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await node.dial(plan.relayWs)
      return
    } catch (err) {
      if (!running || attempt >= 50 || (err as { code?: string }).code === 'ERR_BANNED') throw err
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
}

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
  const node = await attackerNode(plan, { overlay: true })
  const started = performance.now()
  node.on('peer:disconnect', ({ peer, reason }) => {
    if (!running || peer.id !== plan.relayId || report.floodCutOffMs !== null) return
    const bye = peer.link.byeReason
    if (bye === 'banned') {
      report.floodCutOffMs = Math.round(performance.now() - started)
      report.floodByeReason = bye
      return
    }
    // not the relay's doing as a defence (a bench run saw the flooder's link go after 206 ms,
    // with no bye, while a JOIN storm went on): an attacker links again and goes on flooding
    const cause = bye ?? (reason as { code?: string } | undefined)?.code ?? 'closed'
    report.floodRelinks[cause] = (report.floodRelinks[cause] ?? 0) + 1
    dialRelay(node, plan).then(() => { loop() }, () => { /* refused (banned, say): the flood is over */ })
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

/** One storm identity: joins, repeats its JOIN and NEIGHBOR request, leaves after a second. */
function stormOnce (plan: AttackPlan): void {
  if (!running) return
  report.stormJoins++
  let node: HearsayNode | undefined
  attackerNode(plan, { overlay: true }).then((n) => {
    node = n
    report.stormLinked++
    const relay = n.getPeer(plan.relayId)
    for (let i = 0; relay !== undefined && i < STORM_REPEATS; i++) {
      if (n.sendProtocol(relay, 'hv.join', { addrs: [] })) report.stormFrames++
      if (n.sendProtocol(relay, 'hv.nbr', { priority: 'high', addrs: [] })) report.stormFrames++
    }
  }, () => { /* refused or cut: counted as not linked */ })
  const t = setTimeout(() => {
    timers.delete(t)
    if (node !== undefined) { attackers.delete(node); void node.stop() }
  }, 1000)
  timers.add(t)
}

async function startSignalSpam (plan: AttackPlan, perSecond: number): Promise<void> {
  const node = await attackerNode(plan, { overlay: false })
  node.on('peer:disconnect', () => {})
  const honest = plan.honestIds ?? []
  let n = 0
  // the answers (rtc.error: unreachable, refused) come back to this node's signalling
  const errorsBefore = (): number => node.metrics.get('rtc.errors.in')
  const base = errorsBefore()
  every(perSecond, (i) => {
    const relay = node.getPeer(plan.relayId)
    if (relay === undefined) return
    const to = i % 2 === 0 && honest.length > 0 ? honest[i % honest.length]! : generateIdentity().id
    const frame = { from: node.id, to, sid: `spam-${String(i)}`, n: n++, hops: SIGNAL_HOPS, data: { type: 'offer', sdp: 'v=0'.padEnd(200, 'x') } }
    if (node.sendProtocol(relay, 'rtc.signal', frame)) report.signalsSent++
    report.signalErrors = errorsBefore() - base
  })
}

let startedAt = { t: 0, cpu: process.cpuUsage() }

async function start (plan: AttackPlan): Promise<void> {
  running = true
  startedAt = { t: performance.now(), cpu: process.cpuUsage() }
  // the authenticated attackers link first, like peers that were there before the flood began
  // (behind the half-open flood they also had their handshakes cut: a loaded bench run waited
  // over 30 s for them)
  await Promise.all([
    (plan.signalsPerSecond ?? 0) > 0 ? startSignalSpam(plan, plan.signalsPerSecond!) : undefined,
    plan.flood ? startFlood(plan) : undefined
  ])
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
  every(plan.joinsPerSecond ?? 0, () => { stormOnce(plan) })
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
  const cpu = process.cpuUsage(startedAt.cpu)
  report.cpuPercent = Math.round(100 * (cpu.user + cpu.system) / 1000 / (performance.now() - startedAt.t))
  for (const t of timers) { clearTimeout(t); clearInterval(t) }
  timers.clear()
  for (const s of sockets) s.destroy()
  sockets.clear()
  await Promise.all([...attackers].map(async n => { await n.stop() }))
  attackers.clear()
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
