/**
 * `pnpm bench:relay-load`: the relay under 1,000 concurrent clients on loopback. Spawns the
 * relay CLI (port 0, in-memory store, the per-address cap lifted: every client is 127.0.0.1),
 * starts the clients in a few processes (each client a hearsay node with its own identity and ws
 * link), then measures:
 *   - connect rate: clients linked (handshake done) per second, and the time each link took;
 *   - memory per connection: the relay's RSS and heap (after GC) with the clients, minus before,
 *     divided by the clients (read in the relay process by a preloaded probe);
 *   - broadcast latency: every client broadcasts once (paced), the relay floods it to all others;
 *     p50/p99 from send to each receipt, and the share of receipts that arrived.
 * `--soak <s>` then keeps the clients up for that long with churn (clients leaving and joining
 * every 10 s) and a trickle of broadcasts, sampling the relay's heap (after GC) and RSS every
 * 10 s; the report gives the slope of each (flat = pass). Results: results/relay-load.{json,md}.
 *
 * Flags: --clients 1000 --procs 2 --concurrency 32 (handshakes in flight per process) --rate 10
 * (broadcasts/s in all) --soak 0 --churn 0.02 (share of clients replaced every 10 s).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import type { ChildProcess } from 'node:child_process'
import { parseArgs } from 'node:util'
import { machineInfo } from './compare/machine.js'
import type { ClientCommand, ClientEvent } from './relay-load-client.js'
import { forkChild, MiB, quantileOf, round, sleep, slope, spawnRelay, within } from './procs.js'
import type { MemorySample, RelayProcess } from './procs.js'

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    procs: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '32' },
    rate: { type: 'string', default: '10' },
    soak: { type: 'string', default: '0' },
    churn: { type: 'string', default: '0.02' },
    out: { type: 'string', default: 'relay-load' }
  }
})
const CLIENTS = Number(values.clients)
const PROCS = Number(values.procs)
const CONCURRENCY = Number(values.concurrency)
const RATE = Number(values.rate)
const SOAK_S = Number(values.soak)
const CHURN = Number(values.churn)
const SAMPLE_MS = 10_000
const log = (line: string): void => { console.error(`relay-load: ${line}`) }

/** Sends `cmd` to a client process and resolves with its answer `ev`. */
async function ask<E extends ClientEvent['ev']> (child: ChildProcess, cmd: ClientCommand, ev: E, timeoutMs: number): Promise<Extract<ClientEvent, { ev: E }>> {
  const answer = new Promise<Extract<ClientEvent, { ev: E }>>((resolve, reject) => {
    const done = (): void => { child.off('message', on); child.off('exit', onExit) }
    const on = (m: ClientEvent): void => {
      if (m.ev === 'error') { done(); reject(new Error(`client process: ${m.message}`)); return }
      if (m.ev !== ev) return
      done()
      resolve(m as Extract<ClientEvent, { ev: E }>)
    }
    const onExit = (code: number | null): void => { done(); reject(new Error(`a client process exited (${String(code)})`)) }
    child.on('message', on)
    child.on('exit', onExit)
  })
  child.send(cmd)
  return await within(answer, timeoutMs, `${cmd.cmd} in a client process`)
}

interface Soak {
  seconds: number
  churnPer10s: number
  clientsReplaced: number
  rejoinsFailed: number
  heapSlopeMiBPerMin: number
  rssSlopeMiBPerMin: number
  flat: { heap: boolean, rss: boolean }
  pass: boolean
  samples: Array<{ s: number, heapUsedMiB: number, rssMiB: number, connected: number }>
}

interface LoadResult {
  machine: ReturnType<typeof machineInfo>
  relayWarnings: number
  wallSeconds: number
  config: { clients: number, clientProcesses: number, handshakeConcurrencyPerProcess: number, broadcastRate: number, soakSeconds: number, churn: number }
  connect: { clients: number, connected: number, failed: number, seconds: number, handshakesPerSecond: number, linkMs: { p50: number, p99: number, max: number }, relayCpuSeconds: number }
  memory: { idle: { rssMiB: number, heapUsedMiB: number }, loaded: { rssMiB: number, heapUsedMiB: number }, perConnectionKiB: { rss: number, heap: number } }
  broadcast: { perSecond: number, seconds: number, sent: number, receiptsExpected: number, receipts: number, delivered: number, latencyMs: { p50: number, p90: number, p99: number, max: number }, relayCpuSeconds: number, clientsLinkedAtEnd: number, clientProcessRssMiB: number[] }
  soak?: Soak
  /** Relay counters (GET /metrics) at the end of each phase. */
  relayCounters: Record<string, Record<string, number>>
}

/** The relay's counters worth a look in a load report: links, frames, drops. */
function counters (all: Record<string, number>): Record<string, number> {
  const keep = /^(peers_connected|peers_disconnected|peers_down|frames_in|frames_out|bytes_out|handshake_failures|connections_inbound|refused_|bans_|drops\.)/
  return Object.fromEntries(Object.entries(all).filter(([k, v]) => keep.test(k) && v !== 0))
}

const mem = (m: MemorySample): { rssMiB: number, heapUsedMiB: number } => ({ rssMiB: round(m.rss / MiB), heapUsedMiB: round(m.heapUsed / MiB) })
const cpuSeconds = (a: MemorySample, b: MemorySample): number => round((b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1e6, 2)

async function main (): Promise<void> {
  const started = Date.now()
  const relay: RelayProcess = await spawnRelay([
    '--host', '127.0.0.1', '--port', '0', '--data', ':memory:', '--log-level', 'warn',
    // every client is 127.0.0.1: the relay's per-address caps are lifted
    '--max-conns-per-ip', '0', '--max-pending-handshakes-per-ip', '0',
    // every client keeps its link to the relay in the relay's active view
    '--max-peers', String(CLIENTS + 64)
  ])
  log(`relay ${relay.id.slice(0, 8)} at ${relay.ws} (pid ${relay.pid})`)
  const procs: ChildProcess[] = []
  try {
    await sleep(1000)
    const idle = await relay.memory(true)
    for (let i = 0; i < PROCS; i++) procs.push(forkChild('relay-load-client.js', [relay.ws, relay.id, String(i)]))

    // ---- connect ----
    const t0 = performance.now()
    const cpu0 = await relay.memory()
    const per = procs.map((_, i) => Math.floor(CLIENTS / PROCS) + (i < CLIENTS % PROCS ? 1 : 0))
    const starts = await Promise.all(procs.map(async (c, i) => await ask(c, { cmd: 'start', count: per[i]!, concurrency: CONCURRENCY }, 'started', 600_000)))
    const connectSeconds = (performance.now() - t0) / 1000
    const cpu1 = await relay.memory()
    const relayCounters: Record<string, Record<string, number>> = { afterConnect: counters(await relay.metrics()) }
    const connected = starts.reduce((n, s) => n + s.connected, 0)
    const failed = starts.reduce((n, s) => n + s.failed, 0)
    const times = Float64Array.from(starts.flatMap(s => s.connectTimes)).sort()
    const connect = {
      clients: CLIENTS,
      connected,
      failed,
      seconds: round(connectSeconds, 2),
      handshakesPerSecond: round(connected / connectSeconds),
      linkMs: { p50: round(quantileOf(times, 0.5)), p99: round(quantileOf(times, 0.99)), max: round(quantileOf(times, 1)) },
      relayCpuSeconds: cpuSeconds(cpu0, cpu1)
    }
    log(`connect: ${connected}/${CLIENTS} in ${connect.seconds} s = ${connect.handshakesPerSecond} handshakes/s (link p50 ${connect.linkMs.p50} ms, p99 ${connect.linkMs.p99} ms), ${failed} failed`)

    // ---- memory per connection (after the join traffic settles) ----
    await sleep(5000)
    const loaded = await relay.memory(true)
    const memory = {
      idle: mem(idle),
      loaded: mem(loaded),
      perConnectionKiB: {
        rss: round((loaded.rss - idle.rss) / connected / 1024),
        heap: round((loaded.heapUsed - idle.heapUsed) / connected / 1024)
      }
    }
    log(`memory: idle ${JSON.stringify(memory.idle)}, loaded ${JSON.stringify(memory.loaded)}: ${memory.perConnectionKiB.rss} KiB RSS, ${memory.perConnectionKiB.heap} KiB heap per connection`)

    // ---- broadcast: every client once, RATE per second in all ----
    await Promise.all(procs.map(async c => await ask(c, { cmd: 'report' }, 'report', 60_000)))
    const durationMs = Math.ceil(connected / RATE) * 1000
    const b0 = await relay.memory()
    const sent = (await Promise.all(procs.map(async c => await ask(c, { cmd: 'broadcast', perSecond: RATE / PROCS, durationMs }, 'broadcast-done', durationMs + 120_000)))).reduce((n, r) => n + r.sent, 0)
    await sleep(3000)
    const b1 = await relay.memory()
    relayCounters.afterBroadcast = counters(await relay.metrics())
    const reports = await Promise.all(procs.map(async c => await ask(c, { cmd: 'report' }, 'report', 60_000)))
    const received = reports.reduce((n, r) => n + r.received, 0)
    const lat = new Float64Array(reports.reduce((n, r) => n + r.latencies.length, 0))
    let o = 0
    for (const r of reports) { lat.set(r.latencies, o); o += r.latencies.length }
    lat.sort()
    const expected = sent * (connected - 1)
    const broadcast = {
      perSecond: RATE,
      seconds: durationMs / 1000,
      sent,
      receiptsExpected: expected,
      receipts: received,
      delivered: round(received / expected, 4),
      latencyMs: { p50: round(quantileOf(lat, 0.5), 2), p90: round(quantileOf(lat, 0.9), 2), p99: round(quantileOf(lat, 0.99), 2), max: round(quantileOf(lat, 1), 2) },
      relayCpuSeconds: cpuSeconds(b0, b1),
      clientsLinkedAtEnd: reports.reduce((n, r) => n + r.connected, 0),
      clientProcessRssMiB: reports.map(r => round(r.rss / MiB))
    }
    log(`broadcast: ${sent} messages, ${received}/${expected} receipts (${round(100 * broadcast.delivered, 2)} %), latency p50 ${broadcast.latencyMs.p50} ms, p99 ${broadcast.latencyMs.p99} ms, relay CPU ${broadcast.relayCpuSeconds} s`)

    // ---- soak ----
    let soak: Soak | undefined
    if (SOAK_S > 0) {
      const samples: Array<{ s: number, heapUsedMiB: number, rssMiB: number, connected: number }> = []
      const soakStart = performance.now()
      const trickle = Promise.all(procs.map(async c => await ask(c, { cmd: 'broadcast', perSecond: 2 / PROCS, durationMs: SOAK_S * 1000 }, 'broadcast-done', SOAK_S * 1000 + 120_000)))
      let churned = 0
      let churnFailed = 0
      while (performance.now() - soakStart < SOAK_S * 1000) {
        const next = soakStart + (samples.length + 1) * SAMPLE_MS
        const replace = Math.max(1, Math.round(CHURN * CLIENTS / PROCS))
        const churn = Promise.all(procs.map(async c => await ask(c, { cmd: 'churn', replace, concurrency: CONCURRENCY }, 'churned', 120_000)))
        for (const r of await churn) { churned += r.stopped; churnFailed += r.failed }
        await sleep(Math.max(0, next - performance.now()))
        const m = await relay.memory(true)
        const s = round((performance.now() - soakStart) / 1000)
        const counts = await Promise.all(procs.map(async c => await ask(c, { cmd: 'report' }, 'report', 60_000)))
        const linked = counts.reduce((n, r) => n + r.connected, 0)
        samples.push({ s, heapUsedMiB: round(m.heapUsed / MiB, 2), rssMiB: round(m.rss / MiB, 2), connected: linked })
        log(`soak ${s} s: heap ${samples.at(-1)!.heapUsedMiB} MiB, RSS ${samples.at(-1)!.rssMiB} MiB, ${linked} clients linked, ${churned} replaced so far`)
      }
      await trickle
      relayCounters.afterSoak = counters(await relay.metrics())
      // the first minute is warm-up (caches filling); the slope is fitted over the rest
      const fit = samples.filter(x => x.s >= Math.min(60, SOAK_S / 3))
      const heapSlope = slope(fit.map(x => x.s / 60), fit.map(x => x.heapUsedMiB))
      const rssSlope = slope(fit.map(x => x.s / 60), fit.map(x => x.rssMiB))
      const heapFlat = Math.abs(heapSlope) * (SOAK_S / 60) < Math.max(8, 0.05 * loaded.heapUsed / MiB)
      const rssFlat = Math.abs(rssSlope) * (SOAK_S / 60) < Math.max(32, 0.1 * loaded.rss / MiB)
      soak = {
        seconds: SOAK_S,
        churnPer10s: Math.max(1, Math.round(CHURN * CLIENTS / PROCS)) * PROCS,
        clientsReplaced: churned,
        rejoinsFailed: churnFailed,
        heapSlopeMiBPerMin: round(heapSlope, 3),
        rssSlopeMiBPerMin: round(rssSlope, 3),
        flat: { heap: heapFlat, rss: rssFlat },
        pass: heapFlat && rssFlat,
        samples
      }
      log(`soak: heap ${round(heapSlope, 3)} MiB/min, RSS ${round(rssSlope, 3)} MiB/min: ${heapFlat && rssFlat ? 'flat' : 'GROWING'}`)
    }

    await Promise.all(procs.map(async c => await ask(c, { cmd: 'stop' }, 'stopped', 120_000).catch(() => { c.kill('SIGKILL') })))
    await relay.stop()
    const result: LoadResult = {
      machine: machineInfo(),
      relayWarnings: relay.warnings.length,
      wallSeconds: round((Date.now() - started) / 1000),
      config: { clients: CLIENTS, clientProcesses: PROCS, handshakeConcurrencyPerProcess: CONCURRENCY, broadcastRate: RATE, soakSeconds: SOAK_S, churn: CHURN },
      connect,
      memory,
      broadcast,
      ...(soak === undefined ? {} : { soak }),
      relayCounters
    }
    const dir = new URL('../results/', import.meta.url)
    mkdirSync(dir, { recursive: true })
    writeFileSync(new URL(`${values.out}.json`, dir), JSON.stringify(result, null, 2) + '\n')
    const md = markdown(result)
    writeFileSync(new URL(`${values.out}.md`, dir), md)
    console.log(md)
  } finally {
    for (const c of procs) if (c.exitCode === null) c.kill('SIGKILL')
    if (relay.child.exitCode === null) await relay.kill9()
  }
}

function markdown (r: LoadResult): string {
  const lines = [
    '# Relay load and soak',
    '',
    `\`pnpm bench:relay-load${r.config.soakSeconds > 0 ? ` --soak ${String(r.config.soakSeconds)}` : ''}\`: ${String(r.config.clients)} hearsay clients (ws, each its own identity and link) in ${String(r.config.clientProcesses)} processes against the relay CLI on loopback, same machine. ` +
    `${String(r.machine.cores)} × ${String(r.machine.cpuModel)}, Node ${String(r.machine.node)}, load average ${String(r.machine.loadAverage.join(' / '))}.`,
    '',
    '| measure | value |',
    '|---|---|',
    `| clients linked | ${String(r.connect.connected)} / ${String(r.connect.clients)} (${String(r.connect.failed)} failed) |`,
    `| connect rate | ${String(r.connect.handshakesPerSecond)} handshakes/s (${String(r.connect.seconds)} s for all, ≤ ${String(r.config.handshakeConcurrencyPerProcess * r.config.clientProcesses)} in flight) |`,
    `| time to link one client | p50 ${String(r.connect.linkMs.p50)} ms, p99 ${String(r.connect.linkMs.p99)} ms |`,
    `| relay CPU for the connects | ${String(r.connect.relayCpuSeconds)} s |`,
    `| relay memory idle → loaded (after GC) | RSS ${String(r.memory.idle.rssMiB)} → ${String(r.memory.loaded.rssMiB)} MiB, heap ${String(r.memory.idle.heapUsedMiB)} → ${String(r.memory.loaded.heapUsedMiB)} MiB |`,
    `| memory per connection | ${String(r.memory.perConnectionKiB.rss)} KiB RSS, ${String(r.memory.perConnectionKiB.heap)} KiB heap |`,
    `| broadcasts | ${String(r.broadcast.sent)} (${String(r.broadcast.perSecond)}/s, each client once) |`,
    `| receipts | ${String(r.broadcast.receipts)} / ${String(r.broadcast.receiptsExpected)} (${String(round(100 * r.broadcast.delivered, 2))} %) |`,
    `| broadcast latency (send → each receipt) | p50 ${String(r.broadcast.latencyMs.p50)} ms, p90 ${String(r.broadcast.latencyMs.p90)} ms, p99 ${String(r.broadcast.latencyMs.p99)} ms, max ${String(r.broadcast.latencyMs.max)} ms |`,
    `| relay CPU for the broadcasts | ${String(r.broadcast.relayCpuSeconds)} s (clients still linked at the end: ${String(r.broadcast.clientsLinkedAtEnd)}) |`
  ]
  if (r.soak !== undefined) {
    const s = r.soak
    lines.push(
      `| soak | ${String(s.seconds)} s, ${String(s.churnPer10s)} clients replaced every 10 s (${String(s.clientsReplaced)} in all, ${String(s.rejoinsFailed)} failed to link) |`,
      `| heap slope (after GC, fitted after warm-up) | ${String(s.heapSlopeMiBPerMin)} MiB/min: ${s.flat.heap ? 'flat' : 'growing'} |`,
      `| RSS slope | ${String(s.rssSlopeMiBPerMin)} MiB/min: ${s.flat.rss ? 'flat' : 'growing'} |`,
      '',
      '| t (s) | heap MiB | RSS MiB | clients linked |',
      '|---|---|---|---|',
      ...s.samples.map(x => `| ${String(x.s)} | ${String(x.heapUsedMiB)} | ${String(x.rssMiB)} | ${String(x.connected)} |`)
    )
  }
  lines.push('', 'Memory per connection is the relay process\'s own (RSS and V8 heap after two full collections, read by a probe preloaded into it), loaded minus idle, divided by the clients linked. ' +
    'Latency is measured at each receiving client from the send time carried in the message (one machine, one clock); the clients share the 2 cores with the relay.', '')
  return lines.join('\n')
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1 })
