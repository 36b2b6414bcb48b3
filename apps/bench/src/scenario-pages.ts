/**
 * The `pages` scenario (issue 19): browser pages that reach each other only through WebRTC dials
 * signalled over the overlay, joining through 1, 2 or 4 relays, the only listeners. For each
 * relay count one overlay goes through four phases, one row each:
 * 1. **wave**: relays start, then pages at `joinRate` per second; components of the active
 *    views (running nodes) every virtual second until the overlay has been one component for
 *    5 s, or 60 s after the last page started;
 * 2. **steady**: `broadcasts` announces from random pages, `spacingMs` apart, each measured
 *    `drainMs` later (long enough for every GRAFT retry);
 * 3. **reloads**: pages reloaded at `reloadRate` per minute (killed; a new page starts 1 s
 *    later) for `reloadMinutes`, one broadcast every 2 s;
 * 4. **relay-killed**: relay 0 (with one relay: the Plumtree root) killed; from the kill on,
 *    one broadcast every 2 s for `killMs` while components and Plumtree roots are sampled every
 *    virtual second: the time to one component, and to one live root that every linked node
 *    follows again.
 * Delivery counts the nodes (pages and relays) that were running with a neighbour when the
 * broadcast left and are still alive when it is measured.
 */
import type { Mode, SimNode } from './sim.js'
import { mean, peakRssBytes, quantile, round } from './sim.js'
import type { PagesConfig, PageInfo } from './pages-sim.js'
import { PAGES_DEFAULTS, PagesSim } from './pages-sim.js'

export interface PagesOptions {
  pages: number
  seed: number
  relays: number[]
  mode: Mode
  /** A label for the core build measured (e.g. `before` / `after` a fix). @default 'current' */
  variant: string
  broadcasts: number
  spacingMs: number
  drainMs: number
  reloadRate: number
  reloadMinutes: number
  /**
   * Probability that a frame is lost, from the end of the wave on (0: none). A stress lever, not
   * a model of WebRTC (whose channels are reliable): it stands for the frames that die with a
   * link torn down under them or behind a stalled page, which is what makes a GRAFT go
   * unanswered. @default 0
   */
  loss: number
  /**
   * Hop limit of the measured broadcasts. `node.broadcast()` uses the node's `broadcastLimit`,
   * 32 by default, and that is what an application gets (rows at 6 were measured before that
   * default existed). @default 32
   */
  limit: number
  /**
   * More hop limits measured in the steady phase, each broadcast sent once per limit from the
   * same origin (one steady row per limit). @default []
   */
  extraLimits: number[]
  /** Virtual ms the relay-killed phase watches and broadcasts after the kill. @default 90000 */
  killMs: number
  /** Phases after the wave to run. @default all: steady, reloads, relay-killed */
  phases: string[]
  config: Partial<Omit<PagesConfig, 'pages' | 'relays' | 'seed' | 'mode' | 'log'>>
  log: (line: string) => void
}

export const PAGES_SCENARIO_DEFAULTS = { relays: [1, 2, 4], mode: 'plumtree' as Mode, variant: 'current', broadcasts: 30, spacingMs: 500, drainMs: 10_000, reloadRate: 0.05, reloadMinutes: 2, killMs: 90_000, loss: 0, limit: 32, extraLimits: [] as number[], phases: ['steady', 'reloads', 'relay-killed'] }

export type PagesRow = Record<string, unknown> & { scenario: 'pages', phase: string, pages: number, relays: number, seed: number, mode: Mode, variant: string }

interface Sample { t: number, components: number, largest: number, running: number, relayActive: number[], relayLinks: number[], directPages: number, roots: number, rootIsRelay: boolean, unrooted: number, rootDead: boolean, pageViewMean: number, pagesBelowMinPeers: number, pagesOnlyRelay: number }

export async function pagesScenario (o: PagesOptions): Promise<PagesRow[]> {
  const rows: PagesRow[] = []
  for (const relays of o.relays) rows.push(...await runOverlay(o, relays))
  return rows
}

async function runOverlay (o: PagesOptions, relays: number): Promise<PagesRow[]> {
  const ps = new PagesSim({ ...PAGES_DEFAULTS, seedsPerPage: relays, nodeOptions: {}, ...o.config, pages: o.pages, relays, seed: o.seed, mode: o.mode, log: o.log })
  const sim = ps.sim
  const wallStart = performance.now()
  const base = (phase: string): PagesRow => ({
    scenario: 'pages', phase, pages: o.pages, relays, seed: o.seed, mode: o.mode, variant: o.variant,
    joinRate: ps.cfg.joinRate, relayMaxPeers: ps.cfg.relayMaxPeers, relayStepBack: ps.cfg.relayStepBack, relayForwardJoins: ps.cfg.relayForwardJoins, seedsPerPage: ps.cfg.seedsPerPage,
    gatherMs: ps.cfg.gatherMs, connectMs: ps.cfg.connectMs, candidates: ps.cfg.candidates, loss: o.loss, hopLimit: o.limit
  })
  const rows: PagesRow[] = []

  // ---- 1. join wave ----
  for (let r = 0; r < relays; r++) sim.startAt(ps.addRelay(), r)
  const step = 1000 / ps.cfg.joinRate
  let waveEnd = 0
  for (let k = 0; k < o.pages; k++) {
    waveEnd = 1000 + Math.floor(k * step)
    ps.startPage(ps.addPage(), waveEnd)
  }
  const before0 = counters(ps)
  const series: Sample[] = []
  let oneSince: number | undefined
  let firstOne: number | undefined
  for (let t = 1000; t <= waveEnd + 60_000; t += 1000) {
    await sim.runUntil(t, `pages ${relays}r wave`)
    const s = sample(ps)
    series.push(s)
    if (s.components === 1 && s.running === relays + o.pages) {
      oneSince ??= t
      if (t >= waveEnd) firstOne ??= t
    } else oneSince = undefined
    if (t >= waveEnd && oneSince !== undefined && t - oneSince >= 5000) break
  }
  const waveRow = base('wave')
  const links = firstDirectLinks(ps)
  Object.assign(waveRow, {
    waveEndMs: waveEnd,
    firstOneComponentAfterWaveMs: firstOne === undefined ? null : firstOne - waveEnd,
    oneComponentSinceAfterWaveMs: oneSince === undefined ? null : oneSince - waveEnd,
    componentsAt: componentsAt(series, waveEnd),
    ...links,
    ...delta(before0, counters(ps)),
    series
  })
  o.log(`pages ${relays} relay(s): wave ends at ${waveEnd / 1000} s; one component ${oneSince === undefined ? 'never' : `from +${(oneSince - waveEnd) / 1000} s`}; first direct link p50 ${links.firstDirectLinkP50Ms} ms`)
  rows.push(finishRow(waveRow, ps, wallStart))

  // ---- 2. steady broadcasting ----
  if (o.loss > 0) sim.network.setLoss(o.loss)
  if (o.phases.includes('steady')) {
    const c0 = counters(ps)
    const limits = [o.limit, ...o.extraLimits]
    const perLimit = await broadcasts(ps, o.broadcasts, o.spacingMs, o.drainMs, limits, 'steady')
    const sent = perLimit.reduce((a, r) => a + r.length, 0)
    const shared = { ...delta(c0, counters(ps)), ...relayState(ps), ...perPageMessage(ps, c0, sent) }
    // counters and relay bytes are the whole phase's, all limits together
    limits.forEach((limit, i) => { rows.push(finishRow(Object.assign(base('steady'), { hopLimit: limit }, summarise(perLimit[i]!), shared), ps, wallStart)) })
  }

  // ---- 3. reloads ----
  if (o.phases.includes('reloads')) {
    const c0 = counters(ps)
    const every = 60_000 / (o.reloadRate * o.pages)
    const end = sim.now + o.reloadMinutes * 60_000
    let reloaded = 0
    for (let t = sim.now + every; t < end; t += every) {
      sim.clock.setTimeout(() => {
        const victim = pickRunningPage(ps)
        if (victim === undefined) return
        sim.kill(victim.sn)
        reloaded++
        ps.startPage(ps.addPage(), sim.now + 1000)
      }, t - sim.now)
    }
    const [results] = await broadcasts(ps, Math.floor((end - sim.now) / 2000), 2000, o.drainMs, [o.limit], 'reloads')
    await sim.settleStops()
    rows.push(finishRow(Object.assign(base('reloads'), { reloaded, reloadRate: o.reloadRate }, summarise(results!), delta(c0, counters(ps)), relayState(ps)), ps, wallStart))
  }

  // ---- 4. a relay killed ----
  if (o.phases.includes('relay-killed')) {
    const c0 = counters(ps)
    // the root relay when one is (so that the kill takes the root away), else relay 0
    const rootId = sample(ps).rootIsRelay ? running(ps).map(n => n.node.tree?.root).find(r => ps.relays.some(x => x.node.id === r)) : undefined
    const victim = ps.relays.find(r => r.node.id === rootId) ?? ps.relays[0]!
    const victimWasRoot = victim.node.id === rootId
    const killedAt = sim.now
    sim.kill(victim)
    const after: Sample[] = []
    const seconds = Math.ceil(o.killMs / 1000)
    for (let i = 1; i <= seconds; i++) sim.clock.setTimeout(() => { after.push(sample(ps)) }, i * 1000)
    // broadcasts from the kill on, through the failover; each measured drainMs after it left
    const [results] = await broadcasts(ps, Math.floor(o.killMs / 2000), 2000, o.drainMs, [o.limit], 'relay-killed')
    await sim.settleStops()
    const settled = (x: Sample): boolean => x.roots === 1 && x.unrooted === 0 && !x.rootDead
    const oneRoot = after.findIndex((x, i) => settled(x) && after.slice(i).every(settled))
    const oneComponent = after.findIndex((x, i) => after.slice(i).every(y => y.components === 1))
    rows.push(finishRow(Object.assign(base('relay-killed'), {
      victimWasRoot,
      componentsAfterKill: after.map(x => x.components),
      largestAfterKill: after.map(x => x.largest),
      rootsAfterKill: after.map(x => x.rootDead ? -x.roots : x.roots),
      unrootedAfterKill: after.map(x => x.unrooted),
      // from the kill to the first sample from which on every linked node follows one live root
      oneRootAfterKillMs: oneRoot < 0 ? null : after[oneRoot]!.t - killedAt,
      oneComponentAfterKillMs: oneComponent < 0 ? null : after[oneComponent]!.t - killedAt,
      rootIsRelayAtEnd: after.at(-1)?.rootIsRelay ?? null
    }, summarise(results!), delta(c0, counters(ps)), relayState(ps)), ps, wallStart))
    o.log(`pages ${relays} relay(s): relay killed (root: ${String(victimWasRoot)}); one live root after ${oneRoot < 0 ? 'never' : `${(after[oneRoot]!.t - killedAt) / 1000} s`}; delivery ${String(rows.at(-1)!.deliveryRatio)}`)
  }
  for (const sn of sim.live()) sim.kill(sn)
  await sim.settleStops()
  return rows
}

// ---- measurements ----

function running (ps: PagesSim): SimNode[] { return ps.sim.nodes.filter(n => n.alive && n.node.status === 'running') }

function sample (ps: PagesSim): Sample {
  const pool = running(ps)
  const c = ps.sim.connectivity(pool)
  const relays = ps.liveRelays()
  let direct = 0
  let onlyRelay = 0
  const views: number[] = []
  const relayIds = new Set(relays.map(r => r.node.id))
  const alive = new Set(pool.map(n => n.node.id))
  const followed = pool.filter(n => (n.node.overlay?.active.length ?? 0) > 0).map(n => n.node.tree?.root)
  for (const p of ps.livePages()) {
    if (p.sn.node.status !== 'running') continue
    if (p.sn.node.peers().some(peer => peer.address?.startsWith('webrtc:') === true)) direct++
    const active = p.sn.node.overlay?.active ?? []
    views.push(active.length)
    if (active.length > 0 && active.every(id => relayIds.has(id))) onlyRelay++
  }
  return {
    t: ps.now,
    components: c.components,
    largest: c.largest,
    running: pool.length,
    relayActive: relays.map(r => r.node.overlay?.active.length ?? 0),
    relayLinks: relays.map(r => r.node.peers().length),
    directPages: direct,
    // Plumtree roots followed by the running nodes: more than one is rival trees
    roots: new Set(pool.map(n => n.node.tree?.root).filter(r => r !== undefined)).size,
    // whether any node follows a relay as its root (relays are the long-lived nodes)
    rootIsRelay: pool.some(n => relays.some(r => r.node.id === n.node.tree?.root)),
    // linked nodes that follow no root, and whether any follows a root that is gone
    unrooted: followed.filter(r => r === undefined).length,
    rootDead: followed.some(r => r !== undefined && !alive.has(r)),
    // a thin overlay (few direct links per page) is a long one: graph distances past the hop limit
    pageViewMean: round(mean(views), 2),
    pagesBelowMinPeers: views.filter(v => v < 3).length,
    pagesOnlyRelay: onlyRelay
  }
}

function componentsAt (series: Sample[], waveEnd: number): Record<string, number | null> {
  const out: Record<string, number | null> = {}
  for (const dt of [-5000, 0, 5000, 10_000, 15_000, 30_000, 60_000]) {
    const s = series.find(x => x.t >= waveEnd + dt)
    out[dt >= 0 ? `+${dt / 1000}s` : `${dt / 1000}s`] = s?.components ?? (series.at(-1)?.components === 1 ? 1 : null)
  }
  return out
}

function firstDirectLinks (ps: PagesSim): Record<string, number> {
  const times: number[] = []
  let without = 0
  for (const p of ps.pages.values()) {
    if (p.firstDirectAt === undefined) without++
    else times.push(p.firstDirectAt - p.startedAt)
  }
  times.sort((a, b) => a - b)
  return { firstDirectLinkP50Ms: quantile(times, 0.5), firstDirectLinkP95Ms: quantile(times, 0.95), pagesWithoutDirectLink: without }
}

interface Counters { dialTargets: PagesSim['dialTargets'], metrics: Record<string, number>, rtc: ReturnType<PagesSim['rtcStats']>, relayBytes: number, relayFrames: number, relayByType: Record<string, number>, frames: Record<string, number> }

function counters (ps: PagesSim): Counters {
  let relayBytes = 0
  let relayFrames = 0
  const relayByType: Record<string, number> = {}
  for (const c of ps.relayCounters.values()) {
    relayBytes += c.bytes
    relayFrames += c.frames
    for (const [k, v] of c.byType) relayByType[k] = (relayByType[k] ?? 0) + v
  }
  return {
    dialTargets: { ...ps.dialTargets },
    metrics: ps.metricSum(k => k.startsWith('drops.') || k.startsWith('rtc.') || k.startsWith('peers.') || k.startsWith('membership.')),
    rtc: ps.rtcStats(),
    relayBytes,
    relayFrames,
    relayByType,
    frames: ps.sim.counter.snapshot()
  }
}

/** What happened between two counter snapshots: drops, signals, links made and their failures. */
function delta (a: Counters, b: Counters): Record<string, unknown> {
  const diff = (x: Record<string, number>, y: Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const [k, v] of Object.entries(y)) { const d = v - (x[k] ?? 0); if (d !== 0) out[k] = d }
    return out
  }
  const m = diff(a.metrics, b.metrics)
  const opened = b.rtc.opened - a.rtc.opened
  const signalsOut = m['rtc.signals.out'] ?? 0
  const failed = diff(a.rtc.failed, b.rtc.failed)
  return {
    rtcDials: b.rtc.dials - a.rtc.dials,
    dialTargets: diff(a.dialTargets, b.dialTargets),
    rtcLinksMade: opened,
    rtcDialFailures: failed,
    rtcDialFailuresAt: diff(a.rtc.failedAt, b.rtc.failedAt),
    rtcTimeouts: diff(a.rtc.timeouts, b.rtc.timeouts),
    rtcInboundFailures: diff(a.rtc.inFailed, b.rtc.inFailed),
    signalsPerLinkMade: opened === 0 ? null : round(signalsOut / opened, 2),
    rtcDrops: Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('drops.rtc-'))),
    broadcastDrops: Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('drops.broadcast-'))),
    hvDrops: Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('drops.hv-'))),
    membershipCounters: Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('membership.') || k.startsWith('peers.'))),
    rtcCounters: Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('rtc.'))),
    peersDown: m['peers.down'] ?? 0,
    relayBytes: b.relayBytes - a.relayBytes,
    relayFramesByType: diff(a.relayByType, b.relayByType),
    framesByType: diff(a.frames, b.frames)
  }
}

function relayState (ps: PagesSim): Record<string, unknown> {
  const s = sample(ps)
  return { relayActive: s.relayActive, relayLinks: s.relayLinks, components: s.components, directPages: s.directPages, roots: s.roots, rootIsRelay: s.rootIsRelay, pageViewMean: s.pageViewMean, pagesBelowMinPeers: s.pagesBelowMinPeers, pagesOnlyRelay: s.pagesOnlyRelay }
}

function perPageMessage (ps: PagesSim, c0: Counters, n: number): Record<string, unknown> {
  const c1 = counters(ps)
  const pages = ps.livePages().length
  return { relayBytesPerPageMessage: n === 0 || pages === 0 ? null : round((c1.relayBytes - c0.relayBytes) / (n * pages), 2) }
}

function finishRow (row: PagesRow, ps: PagesSim, wallStart: number): PagesRow {
  return Object.assign(row, { virtualSeconds: round(ps.now / 1000, 3), peakRssBytes: peakRssBytes(), wallSeconds: round((performance.now() - wallStart) / 1000, 2) })
}

// ---- broadcasts ----

interface Measured { delivery: number, eligible: number, missed: number, missedInOriginComponent: number, missedBeyondLimit: number, rmr: number | null, lastHop: number, lastMs: number }

function pickRunningPage (ps: PagesSim): PageInfo | undefined {
  const pool = ps.livePages().filter(p => p.sn.node.status === 'running' && (p.sn.node.overlay?.active.length ?? 0) > 0)
  return pool[Math.floor(ps.sim.rng.float() * pool.length)]
}

/**
 * `count` announces from random connected pages, `spacing` ms apart, each measured `drain` ms
 * after it left; one per hop limit from the same origin. Results per limit.
 */
async function broadcasts (ps: PagesSim, count: number, spacing: number, drain: number, limits: number[], label: string): Promise<Measured[][]> {
  const sim = ps.sim
  const results: Measured[][] = limits.map(() => [])
  const pending: Array<{ at: number, finish: () => void }> = []
  for (let i = 0; i < count; i++) {
    const origin = pickRunningPage(ps)
    if (origin !== undefined) limits.forEach((limit, k) => { pending.push(send(ps, origin.sn, `${label}-${ps.now}-${i}-${limit}`, drain, limit, results[k]!)) })
    await sim.runFor(spacing, `pages ${label}`)
    for (const p of pending.splice(0)) { if (p.at <= sim.now) p.finish(); else pending.push(p) }
  }
  while (pending.length > 0) {
    const next = Math.min(...pending.map(p => p.at))
    await sim.runUntil(next, `pages ${label}`)
    for (const p of pending.splice(0)) { if (p.at <= sim.now) p.finish(); else pending.push(p) }
  }
  return results
}

function send (ps: PagesSim, origin: SimNode, id: string, drain: number, limit: number, results: Measured[]): { at: number, finish: () => void } {
  const sim = ps.sim
  const pool = running(ps).filter(n => n !== origin && (n.node.overlay?.active.length ?? 0) > 0)
  // the origin's component when it sent: a node outside it cannot be reached by anything
  const dist = distancesFrom(ps, origin)
  const sentAt = sim.now
  const got = { nodes: new Set<SimNode>(), maxHops: 0, lastAt: sentAt }
  ps.received.set(id, got)
  origin.node.announce({ type: 'bench', id, data: null, limit, timeout: 1000 })
  return {
    at: sentAt + drain,
    finish: () => {
      ps.received.delete(id)
      const eligible = pool.filter(n => n.alive)
      const delivered = eligible.filter(n => got.nodes.has(n)).length
      const missed = eligible.filter(n => !got.nodes.has(n))
      const payload = sim.counter.take(id)
      results.push({
        delivery: eligible.length === 0 ? 1 : delivered / eligible.length,
        eligible: eligible.length,
        missed: missed.length,
        missedInOriginComponent: missed.filter(n => dist.has(n)).length,
        // farther than the hop limit in the overlay graph itself: no path, tree or not, is short enough
        missedBeyondLimit: missed.filter(n => (dist.get(n) ?? 0) > limit).length,
        rmr: got.nodes.size === 0 ? null : round(payload / got.nodes.size - 1, 4),
        lastHop: got.maxHops,
        lastMs: got.lastAt - sentAt
      })
    }
  }
}

/** Hops from `start` to every node of its component in the active views (breadth first). */
function distancesFrom (ps: PagesSim, start: SimNode): Map<SimNode, number> {
  const dist = new Map<SimNode, number>([[start, 0]])
  const queue = [start]
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i]!
    for (const id of n.node.overlay?.active ?? []) {
      const m = ps.sim.byId.get(id)
      if (m !== undefined && m.alive && !dist.has(m)) { dist.set(m, dist.get(n)! + 1); queue.push(m) }
    }
  }
  return dist
}

function summarise (rs: Measured[]): Record<string, unknown> {
  const d = rs.map(r => r.delivery)
  const rmrs = rs.map(r => r.rmr).filter((x): x is number => x !== null)
  return {
    broadcasts: rs.length,
    deliveryRatio: rs.length === 0 ? null : round(mean(d), 6),
    minDeliveryRatio: rs.length === 0 ? null : round(Math.min(...d), 6),
    fullDeliveryFraction: rs.length === 0 ? null : round(d.filter(x => x >= 1).length / rs.length, 4),
    missedDeliveries: rs.reduce((a, r) => a + r.missed, 0),
    missedInOriginComponent: rs.reduce((a, r) => a + r.missedInOriginComponent, 0),
    missedBeyondLimit: rs.reduce((a, r) => a + r.missedBeyondLimit, 0),
    rmr: rmrs.length === 0 ? null : round(mean(rmrs), 3),
    lastHopMax: rs.length === 0 ? 0 : Math.max(...rs.map(r => r.lastHop)),
    lastHopMean: round(mean(rs.map(r => r.lastHop)), 2),
    lastDeliveryMsMean: round(mean(rs.map(r => r.lastMs)), 1)
  }
}
