import type { PeerId } from '@hearsay/core'
import { DEFAULT_CONFIG, mean, MODES, peakRssBytes, quantile, round, Sim, summarize } from './sim.js'
import type { BroadcastResult, BroadcastSummary, Mode, ScenarioName, SimConfig, SimNode } from './sim.js'
import { kv } from './scenario-kv.js'
import { members } from './scenario-members.js'
import type { Row, ScenarioOptions } from './scenario-types.js'
export type { Row, ScenarioOptions } from './scenario-types.js'

/** Fields that depend on the machine, not on the seed: left out of determinism checks. */
export const TIMING_FIELDS = ['eventsPerSecond', 'peakRssBytes', 'wallSeconds'] as const

type Runner = (o: ScenarioOptions) => Promise<Row[]>

export const RUNNERS: Record<ScenarioName, Runner> = {
  steady,
  'mass-failure': massFailure,
  churn,
  partition,
  'failure-detector': failureDetector,
  kv,
  members
}

export async function runScenario (name: ScenarioName, o: ScenarioOptions): Promise<Row[]> {
  return await RUNNERS[name](o)
}

function makeSim (o: ScenarioOptions, mode: Mode, extra: Partial<SimConfig> = {}): Sim {
  return new Sim({ ...DEFAULT_CONFIG, log: o.log ?? (() => {}), ...o.config, ...extra, nodes: o.nodes, seed: o.seed, mode })
}

function baseRow (scenario: ScenarioName, sim: Sim, s: BroadcastSummary | undefined): Row {
  return {
    scenario,
    nodes: sim.cfg.nodes,
    mode: sim.cfg.mode,
    seed: sim.cfg.seed,
    hopLimit: sim.cfg.limit,
    shuffleInterval: sim.cfg.shuffleInterval,
    heartbeatInterval: sim.cfg.heartbeatInterval,
    settleRounds: sim.cfg.settleRounds,
    services: sim.cfg.services.map(x => x.name),
    // heap and young-generation caps change peak RSS, not results
    v8Flags: process.execArgv.filter(a => /^--max[-_](old|semi)[-_]/.test(a)),
    ...(s ?? {}),
    deliveryRatio: s?.deliveryRatio ?? 0,
    rmr: s?.rmr ?? null,
    lastDeliveryHop: s?.lastDeliveryHop ?? 0,
    virtualSeconds: round(sim.now / 1000, 3),
    eventsPerSecond: sim.eventsPerSecond,
    peakRssBytes: peakRssBytes(),
    wallSeconds: round(sim.wallSeconds, 2)
  }
}

/** Control frames of the broadcast layer (not payload), for the window's counter deltas. */
function controlCounts (sim: Sim): Record<string, number> {
  const c = sim.counter
  return { ihave: c.get('pt.ihave'), graft: c.get('pt.graft'), prune: c.get('pt.prune'), heartbeat: c.get('hs.hb'), total: c.frames }
}

function delta (a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map(k => [k, b[k]! - (a[k] ?? 0)]))
}

/** Sends `count` broadcasts from random live nodes at once, waits `drainMs`, measures them. */
async function burst (sim: Sim, prefix: string, count: number, pool?: SimNode[]): Promise<BroadcastResult[]> {
  const ids: string[] = []
  for (let k = 0; k < count; k++) {
    const id = `${prefix}-${k}`
    sim.broadcast(sim.randomLive(pool), id, k)
    ids.push(id)
  }
  await sim.runFor(sim.cfg.drainMs, prefix)
  return ids.map(id => sim.finish(id))
}

/**
 * Unmeasured broadcasts from random nodes, so that Plumtree has pruned its tree before the
 * measurement (a fresh Plumtree overlay floods: every link starts eager). Run for both modes.
 */
async function warmUp (sim: Sim, count = 20, spacingMs = 50): Promise<void> {
  const ids: string[] = []
  for (let k = 0; k < count; k++) {
    const id = `w${k}`
    ids.push(id)
    sim.clock.setTimeout(() => { sim.broadcast(sim.randomLive(), id, k) }, k * spacingMs)
  }
  await sim.runFor(count * spacingMs + sim.cfg.drainMs, 'warm-up')
  for (const id of ids) sim.finish(id)
}

/**
 * Runs one overlay's measurements in a frame of their own. A suspended async function keeps its
 * stale registers, so a scenario looping over overlays kept the finished one reachable while it
 * built the next: at 10k nodes, mass-failure's second build ran out of a 1.6 GB heap holding
 * ~0.9 GB of the first.
 */
async function inFrame (body: () => Promise<void>): Promise<void> { await body() }

// ---- steady ----

async function steady (o: ScenarioOptions): Promise<Row[]> {
  const rows: Row[] = []
  for (const mode of o.modes ?? MODES) await inFrame(async () => {
    const sim = makeSim(o, mode)
    const log = sim.cfg.log
    log(`steady ${mode}: building ${o.nodes} nodes`)
    await sim.build()
    await warmUp(sim)
    const views = sim.viewStats()
    const conn = sim.connectivity()
    const count = mode === 'flood' ? (o.floodBroadcasts ?? o.broadcasts ?? 1000) : (o.broadcasts ?? 1000)
    const spacing = o.spacingMs ?? 10
    const before = controlCounts(sim)
    const t0 = sim.now
    const ids: string[] = []
    const publishers = o.publishers ?? 0
    const pool: SimNode[] | undefined = publishers > 0 ? [] : undefined
    while (pool !== undefined && pool.length < Math.min(publishers, o.nodes)) {
      const n = sim.randomLive()
      if (!pool.includes(n)) pool.push(n)
    }
    for (let k = 0; k < count; k++) {
      const id = `b${k}`
      ids.push(id)
      sim.clock.setTimeout(() => { sim.broadcast(sim.randomLive(pool), id, k) }, k * spacing)
    }
    await sim.runUntil(t0 + (count - 1) * spacing + sim.cfg.drainMs, `steady ${count} broadcasts`)
    const results = ids.map(id => sim.finish(id))
    const d = delta(before, controlCounts(sim))
    const s = summarize(results)
    // Plumtree's per-origin trees need a few dozen messages per origin to settle: the last
    // fifth of the run shows the settled cost next to the whole run's mean
    const tail = summarize(results.slice(-Math.ceil(results.length / 5)))
    const window = (sim.now - t0) / 1000
    rows.push({
      ...baseRow('steady', sim, s),
      spacingMs: spacing,
      publishers,
      rmrLastFifth: tail.rmr,
      lastDeliveryHopLastFifth: tail.lastDeliveryHop,
      meanLastHopLastFifth: tail.meanLastHop,
      deliveryRatioLastFifth: tail.deliveryRatio,
      activeViewMean: round(views.mean, 3),
      activeViewMin: views.min,
      activeViewMax: views.max,
      connected: conn.connected,
      controlMsgsPerBroadcast: round((d.ihave! + d.graft! + d.prune!) / Math.max(1, count), 2),
      ihavePerBroadcast: round(d.ihave! / Math.max(1, count), 2),
      graftPerBroadcast: round(d.graft! / Math.max(1, count), 3),
      prunePerBroadcast: round(d.prune! / Math.max(1, count), 3),
      heartbeatsPerNodePerSecond: round(d.heartbeat! / o.nodes / window, 3),
      framesPerNodePerSecond: round(d.total! / o.nodes / window, 3),
      announceFailures: sim.announceFailures,
      timerErrors: sim.clock.errors
    })
    log(`steady ${mode}: delivery ${s.deliveryRatio}, RMR ${s.rmr}, last hop ${s.lastDeliveryHop}; last fifth: RMR ${tail.rmr}, last hop ${tail.lastDeliveryHop}; ${sim.wallSeconds.toFixed(1)} s wall`)
  })
  return rows
}

// ---- mass failure ----

async function massFailure (o: ScenarioOptions): Promise<Row[]> {
  const rows: Row[] = []
  const fractions = o.fractions ?? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
  const rounds = o.rounds ?? [0, 1, 2, 4]
  const perPoint = o.broadcasts ?? 10
  for (const mode of o.modes ?? MODES) {
    for (const f of fractions) await inFrame(async () => {
      const sim = makeSim(o, mode)
      const log = sim.cfg.log
      log(`mass-failure ${mode} ${Math.round(f * 100)} %: building ${o.nodes} nodes`)
      await sim.build()
      await warmUp(sim)
      const victims = sampleNodes(sim, sim.live(), Math.round(f * o.nodes))
      const t0 = sim.now
      // all at once: every victim's host vanishes, then every victim stops
      for (const v of victims) sim.kill(v)
      const survivors = sim.live()
      for (const r of rounds) {
        await sim.runUntil(t0 + r * sim.cfg.shuffleInterval, `mass-failure ${Math.round(f * 100)} %`)
        const conn = sim.connectivity()
        const views = sim.viewStats()
        // at r = 0 the broadcasts leave in the same virtual instant as the kill: before any repair
        const results = await burst(sim, `m${r}`, perPoint)
        const s = summarize(results)
        rows.push({
          ...baseRow('mass-failure', sim, s),
          failedFraction: f,
          roundsAfterFailure: r,
          survivors: survivors.length,
          componentsAtSend: conn.components,
          largestComponentAtSend: conn.largest,
          activeViewMeanAtSend: round(views.mean, 3),
          isolatedAtSend: survivors.filter(n => (n.node.overlay?.active.length ?? 0) === 0).length
        })
        log(`mass-failure ${mode} ${Math.round(f * 100)} % after ${r} round(s): delivery ${s.deliveryRatio} (min ${s.minDeliveryRatio}), RMR ${s.rmr}, ${conn.components} component(s)`)
      }
      await sim.settleStops()
    })
  }
  return rows
}

// ---- churn ----

async function churn (o: ScenarioOptions): Promise<Row[]> {
  const rows: Row[] = []
  const rounds = o.churnRounds ?? 100
  const rate = o.churnRate ?? 0.05
  for (const mode of o.modes ?? MODES) await inFrame(async () => {
    const sim = makeSim(o, mode)
    const log = sim.cfg.log
    log(`churn ${mode}: building ${o.nodes} nodes`)
    await sim.build()
    await warmUp(sim)
    const round0 = sim.now
    const every = sim.cfg.shuffleInterval
    const results: BroadcastResult[] = []
    const series: Array<{ round: number, deliveryRatio: number, rmr: number | null, lastHop: number, components: number }> = []
    let replaced = 0
    for (let r = 1; r <= rounds; r++) {
      const start = round0 + (r - 1) * every
      await sim.runUntil(start, `churn round ${r}`)
      // seeds stay: they are the stable relays newcomers join through
      const candidates = sim.live().filter(n => !n.isSeed)
      const victims = sampleNodes(sim, candidates, Math.round(rate * sim.live().length))
      for (const v of victims) sim.kill(v)
      // the replacements join over the first second of the round
      victims.forEach((_v, k) => { sim.startAt(sim.addNode(), start + Math.floor(k * 1000 / victims.length)) })
      replaced += victims.length
      await sim.runUntil(start + every / 2, `churn round ${r}`)
      const conn = sim.connectivity()
      const [res] = await burst(sim, `c${r}`, 1)
      results.push(res!)
      series.push({ round: r, deliveryRatio: res!.deliveryRatio, rmr: res!.rmr, lastHop: res!.lastHop, components: conn.components })
      await sim.settleStops()
    }
    const s = summarize(results)
    rows.push({
      ...baseRow('churn', sim, s),
      rounds,
      churnRate: rate,
      replaced,
      series
    })
    log(`churn ${mode}: mean delivery ${s.deliveryRatio} (min ${s.minDeliveryRatio}), RMR ${s.rmr}`)
  })
  return rows
}

// ---- partition ----

async function partition (o: ScenarioOptions): Promise<Row[]> {
  const rows: Row[] = []
  const perPoint = o.broadcasts ?? 10
  const maxHealMs = 60 * (o.config?.shuffleInterval ?? DEFAULT_CONFIG.shuffleInterval)
  for (const mode of o.modes ?? MODES) await inFrame(async () => {
    const sim = makeSim(o, mode)
    const log = sim.cfg.log
    log(`partition ${mode}: building ${o.nodes} nodes`)
    await sim.build()
    await warmUp(sim)
    const before = sim.connectivity()
    const shuffled = sampleNodes(sim, sim.live(), o.nodes)
    const left = shuffled.slice(0, Math.floor(o.nodes / 2))
    const right = shuffled.slice(Math.floor(o.nodes / 2))
    const side = new Map<SimNode, 0 | 1>([...left.map(n => [n, 0] as const), ...right.map(n => [n, 1] as const)])
    const crossLinks = (): number => {
      let c = 0
      for (const n of sim.live()) {
        for (const id of n.node.overlay?.active ?? []) {
          const m = sim.byId.get(id)
          if (m !== undefined && side.get(m) !== side.get(n)) c++
        }
      }
      return c
    }
    const tSplit = sim.now
    sim.network.partition(left.map(n => n.host), right.map(n => n.host))
    let splitDetectMs: number | null = null
    while (sim.now - tSplit < 120_000) {
      await sim.runFor(1000, 'split')
      if (crossLinks() === 0) { splitDetectMs = sim.now - tSplit; break }
    }
    // hold the split for a few rounds so that both halves settle on their own
    await sim.runUntil(tSplit + Math.max(30_000, (splitDetectMs ?? 0) + 2 * sim.cfg.shuffleInterval), 'split')
    const leftConn = sim.connectivity(left)
    const rightConn = sim.connectivity(right)
    const during = await burst(sim, 'split', Math.min(perPoint, 5))
    const crossLinksBeforeHeal = crossLinks()
    const tHeal = sim.now
    sim.network.heal()
    let healMs: number | null = null
    const timeline: Array<{ ms: number, components: number, largestFraction: number }> = []
    while (sim.now - tHeal < maxHealMs) {
      await sim.runFor(1000, 'heal')
      const c = sim.connectivity()
      timeline.push({ ms: sim.now - tHeal, components: c.components, largestFraction: round(c.largest / o.nodes, 4) })
      if (c.connected) { healMs = sim.now - tHeal; break }
    }
    const results = await burst(sim, 'healed', perPoint)
    const s = summarize(results)
    rows.push({
      ...baseRow('partition', sim, s),
      connectedBefore: before.connected,
      splitDetectMs,
      crossLinksBeforeHeal,
      leftComponents: leftConn.components,
      rightComponents: rightConn.components,
      deliveryDuringSplit: summarize(during).deliveryRatio,
      healMs,
      healRounds: healMs === null ? null : round(healMs / sim.cfg.shuffleInterval, 2),
      heals: sum(sim.live().map(n => n.node.metrics.get('membership.heals'))),
      seedProbes: sum(sim.live().map(n => n.node.metrics.get('membership.seed-probes'))),
      timeline
    })
    log(`partition ${mode}: split detected after ${splitDetectMs} ms, one overlay ${healMs} ms after heal, delivery then ${s.deliveryRatio}`)
  })
  return rows
}

// ---- failure detector ----

async function failureDetector (o: ScenarioOptions): Promise<Row[]> {
  const rows: Row[] = []
  const loss = o.loss ?? 0.1
  const stallFraction = o.stallFraction ?? 0.05
  const deadFraction = o.deadFraction ?? 0.02
  const windowMs = o.windowMs ?? 60_000
  for (const mode of o.modes ?? MODES) await inFrame(async () => {
    const sim = makeSim(o, mode, { freezable: true })
    const log = sim.cfg.log
    log(`failure-detector ${mode}: building ${o.nodes} nodes`)
    await sim.build()
    await warmUp(sim)
    const all = sim.live()
    const chosen = sampleNodes(sim, all, Math.round((stallFraction + deadFraction) * o.nodes))
    const dead = chosen.slice(0, Math.round(deadFraction * o.nodes))
    const stalled = chosen.slice(dead.length)
    const t0 = sim.now
    const isolated = new Set<SimNode>()
    const repartition = (): void => {
      if (isolated.size === 0) { sim.network.heal(); return }
      const rest = all.filter(n => !isolated.has(n)).map(n => n.host)
      sim.network.partition(...[...isolated].map(n => [n.host]), rest)
    }
    const stallOf = new Map<SimNode, { from: number, to: number }>()
    const deathOf = new Map<SimNode, number>()
    /** observer → dead peer → virtual time of death, for links that existed when it died. */
    const expected = new Map<string, number>()
    const detections: number[] = []
    let fpLoss = 0
    let fpStall = 0
    let fromDead = 0
    let lateOrUnexpected = 0
    let ups = 0
    const graceMs = 2000
    const stalledAt = (n: SimNode, t: number): boolean => {
      const s = stallOf.get(n)
      return s !== undefined && t >= s.from && t <= s.to + graceMs
    }
    for (const obs of all) {
      obs.node.on('peer:up', () => { ups++ })
      obs.node.on('peer:down', ({ id }: { id: PeerId }) => {
        const t = sim.now
        const target = sim.byId.get(id)
        if (obs.dead) { fromDead++; return }
        if (target !== undefined && target.dead) {
          const key = `${obs.index}>${target.index}`
          const at = expected.get(key)
          if (at !== undefined) { detections.push(t - at); expected.delete(key) } else lateOrUnexpected++
          return
        }
        if (stalledAt(obs, t) || (target !== undefined && stalledAt(target, t))) fpStall++
        else fpLoss++
      })
    }
    for (const n of stalled) {
      const from = t0 + 5000 + Math.floor(sim.rng.float() * (windowMs - 15_000))
      const dur = 2000 + Math.floor(sim.rng.float() * 3001)
      stallOf.set(n, { from, to: from + dur })
      sim.clock.setTimeout(() => { isolated.add(n); repartition() }, from - sim.now)
      sim.clock.setTimeout(() => { if (!n.dead) { isolated.delete(n); repartition() } }, from + dur - sim.now)
    }
    let expectedPairs = 0
    for (const n of dead) {
      const at = t0 + 5000 + Math.floor(sim.rng.float() * (windowMs - 25_000))
      deathOf.set(n, at)
      sim.clock.setTimeout(() => {
        // silent death: frames vanish, timers stop, links stay open
        n.dead = true
        n.clock!.frozen = true
        isolated.add(n)
        repartition()
        for (const obs of all) {
          if (obs.dead || obs.node.getPeer(n.node.id) === undefined) continue
          if (!(obs.node.overlay?.active.includes(n.node.id) ?? false)) continue
          expected.set(`${obs.index}>${n.index}`, at)
          expectedPairs++
        }
      }, at - sim.now)
    }
    sim.network.setLoss(loss)
    const results: BroadcastResult[] = []
    for (let k = 0; (k + 1) * 1000 <= windowMs; k++) {
      await sim.runUntil(t0 + k * 1000, 'failure-detector')
      const pool = sim.live().filter(n => !isolated.has(n))
      const id = `f${k}`
      sim.broadcast(sim.randomLive(pool), id, k)
      sim.clock.setTimeout(() => { results.push(sim.finish(id)) }, sim.cfg.drainMs)
    }
    await sim.runUntil(t0 + windowMs + sim.cfg.drainMs, 'failure-detector')
    const missed = expected.size
    sim.network.setLoss(0)
    const s = summarize(results)
    const sorted = [...detections].sort((a, b) => a - b)
    const linkSeconds = sim.viewStats().mean * o.nodes * windowMs / 1000
    rows.push({
      ...baseRow('failure-detector', sim, s),
      loss,
      windowMs,
      stalledNodes: stalled.length,
      deadNodes: dead.length,
      expectedDetections: expectedPairs,
      detected: detections.length,
      missedDetections: missed,
      detectionMsMean: round(mean(sorted), 1),
      detectionMsP50: quantile(sorted, 0.5),
      detectionMsP95: quantile(sorted, 0.95),
      detectionMsMax: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
      falsePositivesLoss: fpLoss,
      falsePositivesStall: fpStall,
      falsePositivesLossPerLinkHour: round(fpLoss / Math.max(1, linkSeconds) * 3600, 3),
      downEventsFromDead: fromDead,
      downEventsOther: lateOrUnexpected,
      upEvents: ups,
      peersDownTotal: sum(all.map(n => n.node.metrics.get('peers.down'))),
      detectionSamples: sorted
    })
    log(`failure-detector ${mode}: detected ${detections.length}/${expectedPairs}, p50 ${quantile(sorted, 0.5)} ms, false positives: ${fpLoss} loss, ${fpStall} stall; delivery ${s.deliveryRatio}`)
  })
  return rows
}

function sampleNodes (sim: Sim, pool: SimNode[], k: number): SimNode[] {
  const a = [...pool]
  const n = Math.min(k, a.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(sim.rng.float() * (a.length - i))
    const t = a[i]!
    a[i] = a[j]!
    a[j] = t
  }
  a.length = n
  return a
}

function sum (xs: number[]): number { return xs.reduce((a, b) => a + b, 0) }
