/**
 * The abuse bench (issue 18): the relay CLI with a network key, honest nodes without listen
 * addresses (like pages) broadcasting through it, and attackers in another process
 * (abuse-attacker.ts) on 127.0.1.x addresses so that the relay's per-address limits apply:
 * half-open TCP floods, garbage and wrong-key hellos over ws, one authenticated peer
 * broadcasting flat out, a JOIN/NEIGHBOR storm of fresh identities and WebRTC signal spam
 * (abuse-attacker.ts). Three phases of equal length: before, during and after the attack. It
 * reports honest delivery, latency p50/p99 per phase (by send time), the time a new honest node
 * takes to join in each phase, `/healthz` response times, the relay's CPU and RSS, and the
 * relay's counters. `abuse-cli.ts` runs it from the command line; a short run is a CI test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { createNode } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import type { AttackerCommand, AttackerEvent, AttackPlan, AttackReport } from './abuse-attacker.js'
import { emptyReport } from './abuse-report.js'
import { forkChild, MiB, quantileOf, round, sleep, spawnRelay, within } from './procs.js'
import type { MemorySample, RelayProcess } from './procs.js'

export interface AbuseBenchOptions {
  /** Length of each phase (before, during, after), ms. */
  phaseMs: number
  /** Honest nodes (no listen address) broadcasting through the relay. */
  honest: number
  /** Broadcasts per second per honest node. */
  rate: number
  /** Which attacks run during the attack phase. */
  attack: Omit<AttackPlan, 'relayWs' | 'relayTcp' | 'relayId' | 'networkKey' | 'honestIds'>
  /** Extra relay flags (e.g. `--peer-frames-per-second 1000000` for the old defaults). */
  relayArgs?: string[]
  /** Node flags for the relay process (e.g. `--max-semi-space-size=4`). */
  relayNodeArgs?: string[]
  /**
   * The attacker process's niceness (0: the bench's own). An attacker is on another machine: at
   * 19 its CPU weighs as little as the OS allows on the relay's cores (what it got done is in the
   * report).
   */
  attackerNice?: number
  /** A new honest node that has not joined within this long counts as failed, ms. */
  joinTimeoutMs?: number
  /** A `/healthz` probe not answered within this long counts as failed, ms (default 3000). */
  healthzTimeoutMs?: number
  /** After the last phase, how long to wait for the honest broadcasts still in flight, ms (default 1500; it ends as soon as all have arrived). */
  drainMs?: number
  log?: (line: string) => void
}

type Phase = 'before' | 'during' | 'after'
const PHASES: Phase[] = ['before', 'during', 'after']

export interface PhaseResult {
  sent: number
  receiptsExpected: number
  receipts: number
  delivered: number
  latencyMs: { p50: number, p99: number, max: number }
  /** ms a new honest node took to link to the relay (null: not within joinTimeoutMs). */
  joinMs: number | null
  healthz: { probes: number, p50Ms: number, maxMs: number, over500ms: number, failed: number }
  relay: { cpuPercent: number, rssMiB: number, peakRssMiB: number, heapUsedMiB: number, loopDelayP99Ms: number, loopDelayMaxMs: number }
  /** CPU of the bench process (the honest nodes, the probes) during the phase, % of one core. */
  honestCpuPercent: number
  /**
   * The honest nodes' links to the relay lost during the phase, by cause: `suspected` (their own
   * failure detector, `peer:down`: a loaded machine's stalls), else the relay's bye reason or the
   * close error's code. What an honest node misses while away from its only neighbour is lost.
   */
  honestLinksLost: Record<string, number>
}

export interface AbuseResult {
  config: { phaseMs: number, honest: number, rate: number, attack: AbuseBenchOptions['attack'], relayArgs: string[], relayNodeArgs?: string[], attackerNice?: number }
  phases: Record<Phase, PhaseResult>
  attack: AttackReport
  /** Relay RSS after the attack relative to before (1 = back to baseline); `afterGc` after two full collections. */
  memory: {
    beforeMiB: number
    afterMiB: number
    afterGcMiB: number
    ratio: number
    ratioAfterGc: number
    /** V8 heap used, heap reserved, and memory outside the heap (Buffers), before and after (after GC). */
    heap: { beforeUsedMiB: number, afterGcUsedMiB: number, beforeTotalMiB: number, afterGcTotalMiB: number, beforeExternalMiB: number, afterGcExternalMiB: number }
    /** The relay's RSS after the attack stopped, every half second: [ms, MiB]. */
    afterTimeline: Array<[number, number]>
    /** MiB reserved by each V8 heap space before the attack and after it (after GC): the ones that grew. */
    spaces: Record<string, { beforeMiB: number, afterGcMiB: number }>
    /**
     * What the RSS was made of at the end of the before and after phases (no forced collection):
     * the V8 heap reserved (of it the young generation, new_space), Buffers outside it, and the
     * rest (code, native memory such as sockets, the allocator's free lists).
     */
    split: Record<'before' | 'after', RssSplit>
  }
  /** Relay counters (GET /metrics) at the end, the abuse-related ones. */
  counters: Record<string, number>
  /** What reached the honest nodes of the storm and the signal spam: their counters, summed, the abuse-related ones. */
  honestCounters: Record<string, number>
}

const now = (): number => performance.timeOrigin + performance.now()

export interface RssSplit { rssMiB: number, heapTotalMiB: number, newSpaceMiB: number, externalMiB: number, otherMiB: number }

function rssSplit (m: MemorySample): RssSplit {
  const newSpace = (m as MemorySample & { spaces?: Record<string, number> }).spaces?.new_space ?? 0
  return { rssMiB: round(m.rss / MiB), heapTotalMiB: round(m.heapTotal / MiB), newSpaceMiB: round(newSpace / MiB), externalMiB: round(m.external / MiB), otherMiB: round((m.rss - m.heapTotal - m.external) / MiB) }
}

/** The V8 heap spaces (relay-probe.ts) that grew by more than 1 MiB between two samples. */
function spaceGrowth (a: MemorySample, b: MemorySample): Record<string, { beforeMiB: number, afterGcMiB: number }> {
  const sa = (a as MemorySample & { spaces?: Record<string, number> }).spaces ?? {}
  const sb = (b as MemorySample & { spaces?: Record<string, number> }).spaces ?? {}
  const out: Record<string, { beforeMiB: number, afterGcMiB: number }> = {}
  for (const [k, v] of Object.entries(sb)) {
    const before = sa[k] ?? 0
    if (v - before > MiB) out[k] = { beforeMiB: round(before / MiB), afterGcMiB: round(v / MiB) }
  }
  return out
}

/** The relay's counters worth a look in an abuse report. */
function abuseCounters (all: Record<string, number>): Record<string, number> {
  const keep = /^(refused_|bans_|throttle_|handshake_failures|connections_inbound|peers_connected|peers_disconnected|rtc_|drops\.(rate-limit|invalid-frame|rtc-|hv-))/
  return Object.fromEntries(Object.entries(all).filter(([k, v]) => keep.test(k) && v !== 0))
}

/** The honest nodes' counters that show what the storm and the spam made them do, summed. */
function honestSums (nodes: HearsayNode[]): Record<string, number> {
  const keep = /^(rtc\.|drops\.(rtc-|hv-|rate-limit))/
  const out: Record<string, number> = {}
  for (const n of nodes) {
    for (const [k, v] of Object.entries(n.metrics.snapshot())) if (keep.test(k) && v !== 0) out[k] = (out[k] ?? 0) + v
  }
  return out
}

async function askAttacker<E extends AttackerEvent['ev']> (child: ChildProcess, cmd: AttackerCommand, ev: E, timeoutMs: number): Promise<Extract<AttackerEvent, { ev: E }>> {
  const answer = new Promise<Extract<AttackerEvent, { ev: E }>>((resolve, reject) => {
    const done = (): void => { child.off('message', on); child.off('exit', onExit) }
    const on = (m: AttackerEvent): void => {
      if (m.ev === 'error') { done(); reject(new Error(`attacker: ${m.message}`)); return }
      if (m.ev !== ev) return
      done()
      resolve(m as Extract<AttackerEvent, { ev: E }>)
    }
    const onExit = (code: number | null): void => { done(); reject(new Error(`the attacker exited (${String(code)})`)) }
    child.on('message', on)
    child.on('exit', onExit)
  })
  child.send(cmd)
  return await within(answer, timeoutMs, `${cmd.cmd} in the attacker`)
}

export async function runAbuseBench (o: AbuseBenchOptions): Promise<AbuseResult> {
  const log = o.log ?? (() => {})
  const joinTimeoutMs = o.joinTimeoutMs ?? 10_000
  const healthzTimeoutMs = o.healthzTimeoutMs ?? 3000
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearsay-abuse-'))
  const networkKey = 'abuse bench network key'
  writeFileSync(path.join(dir, 'key'), networkKey)
  const relayArgs = o.relayArgs ?? []
  const relay: RelayProcess = await spawnRelay([
    '--host', '127.0.0.1', '--port', '0', '--data', ':memory:', '--log-level', 'error',
    '--network-key-file', path.join(dir, 'key'), ...relayArgs
  ], { nodeArgs: o.relayNodeArgs ?? [] })
  const nodes: HearsayNode[] = []
  let attacker: ChildProcess | undefined
  let phase: Phase = 'before'
  /** While the attack starts or stops, between two phases: nothing is measured. */
  let between = false
  let stopping = false
  try {
    const status = await (await fetch(`${relay.http}/status.json`, { signal: AbortSignal.timeout(10_000) })).json() as { addresses?: string[] }
    const tcpAddress = (status.addresses ?? []).find(a => a.startsWith('tcp://'))
    if (tcpAddress === undefined) throw new Error(`the relay has no tcp address: ${JSON.stringify(status.addresses)}`)
    log(`relay ${relay.id.slice(0, 8)} at ${relay.ws} and ${tcpAddress} (pid ${relay.pid})`)

    const newNode = (): HearsayNode => createNode({ transports: [webSockets()], seeds: [relay.ws], networkKey, minPeers: 1, maxPeers: 4 })
    // ---- honest nodes ----
    const latencies: Record<Phase, number[]> = { before: [], during: [], after: [] }
    const receipts: Record<Phase, number> = { before: 0, during: 0, after: 0 }
    const sent: Record<Phase, number> = { before: 0, during: 0, after: 0 }
    const linksLost: Record<Phase, Record<string, number>> = { before: {}, during: {}, after: {} }
    const lost = (cause: string): void => { linksLost[phase][cause] = (linksLost[phase][cause] ?? 0) + 1 }
    for (let i = 0; i < o.honest; i++) {
      const n = newNode()
      n.route('honest', (msg) => {
        const d = msg.data as { t: number, p: Phase }
        receipts[d.p]++
        latencies[d.p].push(now() - d.t)
      })
      let suspected = false
      n.on('peer:down', ({ id }) => { if (id === relay.id && !stopping) { suspected = true; lost('suspected') } })
      n.on('peer:disconnect', ({ peer, reason }) => {
        if (peer.id !== relay.id || stopping || n.status !== 'running') return
        if (suspected) { suspected = false; return }
        lost(peer.link.byeReason ?? (reason as { code?: string } | undefined)?.code ?? 'closed')
      })
      nodes.push(n)
    }
    const linked = nodes.map(async n => await new Promise<void>((resolve) => { n.on('peer:connect', (p) => { if (p.id === relay.id) resolve() }) }))
    await Promise.all(nodes.map(async n => { await n.start() }))
    await within(Promise.all(linked), 20_000, 'the honest nodes to link to the relay')
    await sleep(1000)

    // ---- probes: /healthz, relay memory and CPU ----
    const health: Record<Phase, number[]> = { before: [], during: [], after: [] }
    const healthFailed: Record<Phase, number> = { before: 0, during: 0, after: 0 }
    const peakRss: Record<Phase, number> = { before: 0, during: 0, after: 0 }
    /** The relay's RSS after the attack, every half second: [ms since the attack stopped, MiB]. */
    const rssTimeline: Array<[number, number]> = []
    let stoppedAt = 0
    const probeHealth = (async () => {
      while (!stopping) {
        if (between) { await sleep(50); continue }
        const p = phase
        const t0 = performance.now()
        try {
          const res = await fetch(`${relay.http}/healthz`, { signal: AbortSignal.timeout(healthzTimeoutMs) })
          await res.arrayBuffer()
          if (res.status !== 200) healthFailed[p]++
          health[p].push(performance.now() - t0)
        } catch {
          healthFailed[p]++
          health[p].push(performance.now() - t0)
        }
        await sleep(200)
      }
    })()
    const probeMemory = (async () => {
      while (!stopping) {
        const m = await relay.memory().catch(() => undefined)
        if (m !== undefined && !between) peakRss[phase] = Math.max(peakRss[phase], m.rss)
        if (m !== undefined && (phase as Phase) === 'after' && stoppedAt > 0) rssTimeline.push([Math.round(performance.now() - stoppedAt), round(m.rss / MiB)])
        await sleep(500)
      }
    })()

    // ---- the honest traffic: each node `rate` broadcasts per second, all through the relay ----
    const talk = setInterval(() => {
      for (const n of nodes) {
        if (n.status !== 'running' || between) continue
        try { n.broadcast('honest', { t: now(), p: phase }); sent[phase]++ } catch { /* counted as not delivered */ }
      }
    }, 1000 / o.rate)

    const join = async (): Promise<number | null> => {
      const n = newNode()
      const t0 = performance.now()
      const linkedNow = new Promise<number>((resolve) => { n.on('peer:connect', (p) => { if (p.id === relay.id) resolve(performance.now() - t0) }) })
      try {
        await n.start()
        return round(await within(linkedNow, joinTimeoutMs, 'join'))
      } catch {
        return null
      } finally {
        await n.stop()
      }
    }

    const samples: Partial<Record<Phase, { start: MemorySample, end: MemorySample, joinMs: number | null, t0: number, t1: number, cpu: NodeJS.CpuUsage }>> = {}
    // the heap after two full collections with the honest nodes linked, before any attack
    const baseline = await relay.memory(true)
    let attackReport: AttackReport | undefined
    for (const p of PHASES) {
      // The attack starts (and stops) between two phases, and the clock of the phase after runs
      // from there: on a loaded machine the attacker process took most of a 15 s phase to load
      // and link its nodes, and the attack then ran for less than a second of "during". Nothing
      // is measured meanwhile (no honest broadcasts, no probes).
      if (p === 'during') {
        between = true
        attacker = forkChild('abuse-attacker.js')
        if ((o.attackerNice ?? 0) !== 0) os.setPriority(attacker.pid!, Math.min(19, os.getPriority() + o.attackerNice!))
        const plan: AttackPlan = { ...o.attack, relayWs: relay.ws, relayTcp: tcpAddress, relayId: relay.id, networkKey, honestIds: nodes.map(n => n.id) }
        await askAttacker(attacker, { cmd: 'start', plan }, 'started', 60_000)
        log(`attack started: ${JSON.stringify(o.attack)}`)
      }
      if (p === 'after' && attacker !== undefined) {
        between = true
        attackReport = (await askAttacker(attacker, { cmd: 'stop' }, 'stopped', 60_000)).report
        stoppedAt = performance.now()
        log(`attack stopped: ${JSON.stringify(attackReport)}`)
      }
      phase = p
      between = false
      const t0 = performance.now()
      const start = await relay.memory(false, true)
      const cpu0 = process.cpuUsage()
      // a new honest node joins half way through the phase (the attack in full swing)
      await sleep(Math.max(0, t0 + o.phaseMs / 2 - performance.now()))
      const joinMs = await join()
      await sleep(Math.max(0, t0 + o.phaseMs - performance.now()))
      const end = await relay.memory(false, true)
      samples[p] = { start, end, joinMs, t0, t1: performance.now(), cpu: process.cpuUsage(cpu0) }
      log(`${p}: join ${String(joinMs)} ms, RSS ${round(end.rss / MiB)} MiB`)
    }
    clearInterval(talk)
    phase = 'after'
    // the last messages of the after phase still travel: wait for them (not for those lost)
    const allIn = (): boolean => PHASES.every(p => receipts[p] >= sent[p] * (o.honest - 1))
    const drainUntil = performance.now() + (o.drainMs ?? 1500)
    while (!allIn() && performance.now() < drainUntil) await sleep(20)
    stopping = true
    await Promise.all([probeHealth, probeMemory])
    const afterGc = await relay.memory(true)
    const counters = abuseCounters(await relay.metrics())
    const honestCounters = honestSums(nodes)

    const phases = {} as Record<Phase, PhaseResult>
    const receivers = o.honest - 1
    for (const p of PHASES) {
      const s = samples[p]!
      const lat = Float64Array.from(latencies[p]).sort()
      const h = Float64Array.from(health[p]).sort()
      const seconds = (s.t1 - s.t0) / 1000
      const cpu = (s.end.cpu.user + s.end.cpu.system - s.start.cpu.user - s.start.cpu.system) / 1e6
      phases[p] = {
        sent: sent[p],
        receiptsExpected: sent[p] * receivers,
        receipts: receipts[p],
        delivered: round(receipts[p] / Math.max(1, sent[p] * receivers), 4),
        latencyMs: { p50: round(quantileOf(lat, 0.5)), p99: round(quantileOf(lat, 0.99)), max: round(quantileOf(lat, 1)) },
        joinMs: s.joinMs,
        healthz: { probes: h.length, p50Ms: round(quantileOf(h, 0.5)), maxMs: round(quantileOf(h, 1)), over500ms: h.filter(x => x > 500).length, failed: healthFailed[p] },
        relay: {
          cpuPercent: round(100 * cpu / seconds),
          rssMiB: round(s.end.rss / MiB),
          peakRssMiB: round(Math.max(peakRss[p], s.end.rss) / MiB),
          heapUsedMiB: round(s.end.heapUsed / MiB),
          loopDelayP99Ms: round(s.end.loopDelayMs?.p99 ?? NaN),
          loopDelayMaxMs: round(s.end.loopDelayMs?.max ?? NaN)
        },
        honestCpuPercent: round(100 * (s.cpu.user + s.cpu.system) / 1e6 / seconds),
        honestLinksLost: linksLost[p]
      }
    }
    const beforeRss = samples.before!.end.rss
    const afterRss = samples.after!.end.rss
    return {
      config: { phaseMs: o.phaseMs, honest: o.honest, rate: o.rate, attack: o.attack, relayArgs, relayNodeArgs: o.relayNodeArgs ?? [], attackerNice: o.attackerNice ?? 0 },
      phases,
      attack: attackReport ?? emptyReport(),
      memory: {
        beforeMiB: round(beforeRss / MiB),
        afterMiB: round(afterRss / MiB),
        afterGcMiB: round(afterGc.rss / MiB),
        ratio: round(afterRss / beforeRss, 2),
        ratioAfterGc: round(afterGc.rss / beforeRss, 2),
        heap: {
          beforeUsedMiB: round(baseline.heapUsed / MiB),
          afterGcUsedMiB: round(afterGc.heapUsed / MiB),
          beforeTotalMiB: round(baseline.heapTotal / MiB),
          afterGcTotalMiB: round(afterGc.heapTotal / MiB),
          beforeExternalMiB: round(baseline.external / MiB),
          afterGcExternalMiB: round(afterGc.external / MiB)
        },
        spaces: spaceGrowth(baseline, afterGc),
        split: { before: rssSplit(samples.before!.end), after: rssSplit(samples.after!.end) },
        afterTimeline: rssTimeline
      },
      counters,
      honestCounters
    }
  } finally {
    stopping = true
    if (attacker !== undefined && attacker.exitCode === null) attacker.kill('SIGKILL')
    await Promise.all(nodes.map(async n => { await n.stop() }))
    await relay.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

export function abuseMarkdown (r: AbuseResult, title = 'Relay under attack'): string {
  const a = r.config.attack
  const lines = [
    `# ${title}`,
    '',
    `${String(r.config.honest)} honest nodes (ws, no listen address) × ${String(r.config.rate)} broadcasts/s through the relay CLI (network key${r.config.relayArgs.length > 0 ? `, ${r.config.relayArgs.join(' ')}` : ', default limits'}${(r.config.relayNodeArgs ?? []).length > 0 ? `; node ${r.config.relayNodeArgs!.join(' ')}` : ''}); ` +
    `phases of ${String(r.config.phaseMs / 1000)} s. Attack: ${String(a.halfOpen)} half-open TCP connections from as many 127.0.1.x addresses, ${String(a.garbagePerSecond)} garbage hellos/s, ${String(a.wrongKeyPerSecond)} wrong-key hellos/s${a.flood ? ', one authenticated peer broadcasting flat out' : ''}` +
    `${(a.joinsPerSecond ?? 0) > 0 ? `, a JOIN/NEIGHBOR storm of ${String(a.joinsPerSecond)} fresh identities/s` : ''}${(a.signalsPerSecond ?? 0) > 0 ? `, ${String(a.signalsPerSecond)} WebRTC signals/s of spam` : ''}` +
    `${a.spin === true ? ', a process burning one core (control)' : ''}${(r.config.attackerNice ?? 0) !== 0 ? ` (the attacker process at nice +${String(r.config.attackerNice)})` : ''}.`,
    '',
    '| | before | during | after |',
    '|---|---|---|---|',
    row('honest delivery', p => `${String(round(100 * p.delivered, 2))} % (${String(p.receipts)}/${String(p.receiptsExpected)})`),
    row('latency p50 / p99 ms', p => `${String(p.latencyMs.p50)} / ${String(p.latencyMs.p99)}`),
    row('new node joins in', p => (p.joinMs === null ? 'never' : `${String(p.joinMs)} ms`)),
    row('/healthz p50 / max ms (> 500 ms, failed)', p => `${String(p.healthz.p50Ms)} / ${String(p.healthz.maxMs)} (${String(p.healthz.over500ms)}, ${String(p.healthz.failed)})`),
    row('relay CPU', p => `${String(p.relay.cpuPercent)} %`),
    row('relay event-loop delay p99 / max ms', p => `${String(p.relay.loopDelayP99Ms)} / ${String(p.relay.loopDelayMaxMs)}`),
    row('honest nodes\' process CPU', p => `${String(p.honestCpuPercent)} %`),
    row('relay RSS end (peak) MiB', p => `${String(p.relay.rssMiB)} (${String(p.relay.peakRssMiB)})`),
    row('honest links to the relay lost', p => Object.entries(p.honestLinksLost ?? {}).map(([k, v]) => `${k} ${String(v)}`).join(', ') || 'none'),
    '',
    `Attack: ${String(r.attack.halfOpenConnects)} half-open connects (${String(r.attack.halfOpenCutByRelay)} cut by the relay), ${String(r.attack.garbageSent)} garbage and ${String(r.attack.wrongKeySent)} wrong-key hellos, ${String(r.attack.floodSent)} flood broadcasts` +
    (r.attack.floodCutOffMs === null ? ' (the flooder was not cut off)' : ` (cut off after ${String(r.attack.floodCutOffMs)} ms, bye "${String(r.attack.floodByeReason)}")`) +
    (Object.keys(r.attack.floodRelinks ?? {}).length > 0 ? `, its link lost and made again (${Object.entries(r.attack.floodRelinks).map(([k, v]) => `${k} ${String(v)}`).join(', ')})` : '') +
    `; the attacker process used ${String(r.attack.cpuPercent)} % of a core; storm: ${String(r.attack.stormJoins)} identities (${String(r.attack.stormLinked)} linked), ${String(r.attack.stormFrames)} JOIN/NEIGHBOR frames; ${String(r.attack.signalsSent)} spam signals (${String(r.attack.signalErrors)} answered with rtc.error).`,
    `Relay RSS ${String(r.memory.beforeMiB)} MiB before → ${String(r.memory.afterMiB)} MiB after (×${String(r.memory.ratio)}); after GC ${String(r.memory.afterGcMiB)} MiB (×${String(r.memory.ratioAfterGc)}). ` +
    `V8 heap used ${String(r.memory.heap.beforeUsedMiB)} → ${String(r.memory.heap.afterGcUsedMiB)} MiB (reserved ${String(r.memory.heap.beforeTotalMiB)} → ${String(r.memory.heap.afterGcTotalMiB)} MiB: ${Object.entries(r.memory.spaces).map(([k, v]) => `${k} ${String(v.beforeMiB)} → ${String(v.afterGcMiB)}`).join(', ') || 'no space grew'}), external ${String(r.memory.heap.beforeExternalMiB)} → ${String(r.memory.heap.afterGcExternalMiB)} MiB (both after GC).`,
    ...(r.memory.split === undefined
      ? []
      : [`RSS at the end of before → after (no forced GC), MiB: ${(['rssMiB', 'heapTotalMiB', 'newSpaceMiB', 'externalMiB', 'otherMiB'] as const).map(k => `${k.replace(/MiB$/, '')} ${String(r.memory.split.before[k])} → ${String(r.memory.split.after[k])}`).join(', ')} (other: RSS − V8 heap − external).`]),
    `Relay counters: ${Object.entries(r.counters).map(([k, v]) => `${k} ${String(v)}`).join(', ')}.`,
    `Honest nodes' counters (summed): ${Object.entries(r.honestCounters ?? {}).map(([k, v]) => `${k} ${String(v)}`).join(', ') || 'none'}.`,
    ''
  ]
  return lines.join('\n')

  function row (name: string, f: (p: PhaseResult) => string): string {
    return `| ${name} | ${PHASES.map(p => f(r.phases[p])).join(' | ')} |`
  }
}
