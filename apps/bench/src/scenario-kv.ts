/**
 * The `kv` scenario: replicated state (scuttlebutt anti-entropy, `node.state`) on the
 * simulated overlay, with every node's state options at core's defaults (gossip every
 * `STATE_DEFAULTS.gossipInterval` = 1 s to one random active peer, 16 KiB messages; the plain
 * channel makes ownership `trusted`: Merkle proofs are built and checked, signatures skipped).
 *
 * Three phases on one overlay:
 * 1. **initial**: at t0 every node sets `keys` keys at once (N × keys updates). Every gossip
 *    round (1 s) the simulator checks which updates are everywhere (every other live node has
 *    that version or a later one of the key). `roundsTo99` is the first round at which 99 % of
 *    the updates are everywhere (target: ≤ 2·log2 N), `roundsTo100` the round for all of them.
 * 2. **steady**: each node updates one of its keys every `updateEveryMs` (default one per
 *    gossip round), for `steadyMs`; per-update latency (rounds until everywhere) is recorded.
 * 3. **burst**: the same at twice that rate for `burstMs`, then back to the steady rate;
 *    `burstDrainMs` is the virtual time from the end of the burst until every update made
 *    during the burst is everywhere (target ≤ 30 s).
 *
 * Register it with `RUNNERS.kv = kv` and `'kv'` in `SCENARIOS` (see the hand-off notes at the
 * bottom of this file); `kvMarkdown` and `kvPlot` render its rows for report.ts.
 */
import { STATE_DEFAULTS, stateService } from '@hearsay/core'
import type { HearsayNode, PeerId } from '@hearsay/core'
import type { Row, ScenarioOptions } from './scenario-types.js'
import { DEFAULT_CONFIG, peakRssBytes, quantile, round, Sim } from './sim.js'
import type { Mode, ScenarioName, SimNode } from './sim.js'

export interface KvOptions extends ScenarioOptions {
  /** Keys each node sets in the initial phase. @default 64 up to 256 nodes, 2 above (memory and time: every node holds N × keys entries, N² × keys in one process; 1k × 2 peaks at ~4.3 GB RSS) */
  keys?: number
  /** Steady phase: one update per node every this many virtual ms. @default the gossip interval (1000) */
  updateEveryMs?: number
  /** @default 20000 up to 256 nodes, 10000 above (at 1k nodes one virtual second of steady load costs ~10–25 s wall) */
  steadyMs?: number
  /** Burst phase at twice the steady rate. @default 10000 */
  burstMs?: number
  /** Give up on a phase after this many virtual ms. @default 120000 */
  capMs?: number
  /** Value size in bytes (a string of this length). @default 32 */
  valueBytes?: number
}

interface Pending { owner: SimNode, key: string, version: number, at: number }

/** What the scenario measures on a built overlay (`measureKv`). */
export interface KvMeasurement {
  keys: number
  updates: number
  gossipIntervalMs: number
  /** 2 · log2(N): the target for roundsTo99. */
  targetRounds: number
  roundsTo99: number | null
  roundsTo100: number | null
  /** Fraction of the initial updates everywhere, per round (index = round). */
  initialCurve: number[]
  steadyUpdates: number
  /** Rounds from an update to "everywhere", over the steady phase. */
  steadyLatencyRoundsP50: number
  steadyLatencyRoundsP99: number
  steadyLatencyRoundsMax: number
  burstUpdates: number
  updateRatePerNodePerSecond: number
  burstRatePerNodePerSecond: number
  /** Virtual ms from the end of the burst until all its updates are everywhere; null if not within capMs. */
  burstDrainMs: number | null
  burstDrained: boolean
  /** Fraction of all tracked updates everywhere at the end. */
  deliveryRatio: number
  /** `kv.*` frames per node per second over the measured phases, by type, and all frames. */
  kvSynPerNodePerSecond: number
  kvAckPerNodePerSecond: number
  kvDeltaPerNodePerSecond: number
  framesPerNodePerSecond: number
  bytesPerNodePerSecond: number
  /** Drops counted by the nodes' state layer (should all be benign: stale, own-echo). */
  kvDrops: Record<string, number>
}

/**
 * Measures replicated state on `nodes` (running, joined) driven by `clock` (the simulator's
 * virtual clock, advanced with `run(ms)`). Only uses the public `node.state` API.
 */
export async function measureKv (
  nodes: SimNode[],
  clock: { now: () => number, setTimeout: (fn: () => void, ms: number) => unknown },
  run: (untilMs: number, label: string) => Promise<void>,
  o: { keys: number, updateEveryMs: number, steadyMs: number, burstMs: number, capMs: number, valueBytes: number, rng: () => number, log: (l: string) => void, counter?: { get: (t: string) => number, frames: number, bytes: number } }
): Promise<KvMeasurement> {
  const live = (): SimNode[] => nodes.filter(n => n.alive && !n.dead && n.node.status === 'running')
  const interval = STATE_DEFAULTS.gossipInterval
  const n = live().length
  const pad = 'v'.repeat(Math.max(0, o.valueBytes - 12))
  let seq = 0
  const setOne = (sn: SimNode, key: string): Pending => {
    sn.node.state.set(key, `${seq++}:${pad}`)
    return { owner: sn, key, version: sn.node.state.versionOf(sn.node.id, key)!, at: clock.now() }
  }
  /** Everywhere: every other live node has this version of the key or a later one. */
  const everywhere = (p: Pending, pool: HearsayNode[]): boolean => {
    const id: PeerId = p.owner.node.id
    for (const m of pool) {
      if (m === p.owner.node) continue
      const v = m.state.versionOf(id, p.key)
      if (v === undefined || v < p.version) return false
    }
    return true
  }
  const c0 = snapshot(o.counter)
  const t0 = clock.now()

  // ---- 1. initial: everyone sets `keys` keys at once ----
  const initial: Pending[] = []
  for (const sn of live()) for (let k = 0; k < o.keys; k++) initial.push(setOne(sn, `k${k}`))
  let pending = initial
  const curve: number[] = [0]
  let roundsTo99: number | null = null
  let roundsTo100: number | null = null
  for (let r = 1; r * interval <= o.capMs; r++) {
    await run(t0 + r * interval, `kv initial round ${r}`)
    const pool = live().map(s => s.node)
    pending = pending.filter(p => !everywhere(p, pool))
    const done = 1 - pending.length / initial.length
    curve.push(round(done, 6))
    if (roundsTo99 === null && done >= 0.99) roundsTo99 = r
    if (pending.length === 0) { roundsTo100 = r; break }
  }
  o.log(`kv: ${initial.length} initial updates, 99 % everywhere after ${String(roundsTo99)} rounds, all after ${String(roundsTo100)} (target ${round(2 * Math.log2(n), 1)})`)

  // ---- 2. steady, 3. burst, then steady again while the burst drains ----
  const steadyLat: number[] = []
  const track: Array<Pending & { burst: boolean }> = []
  let burstUpdates = 0
  let steadyUpdates = 0
  let every = o.updateEveryMs
  let phase: 'steady' | 'burst' | 'after' = 'steady'
  const owners = live()
  // each node on its own schedule, staggered over one period
  let stopped = false
  let later = 0
  for (const sn of owners) {
    const tick = (): void => {
      if (stopped || !sn.alive || sn.node.status !== 'running') return
      const p = setOne(sn, `k${Math.floor(o.rng() * o.keys)}`)
      track.push({ ...p, burst: phase === 'burst' })
      if (phase === 'burst') burstUpdates++
      else if (phase === 'steady') steadyUpdates++
      else later++
      clock.setTimeout(tick, every)
    }
    clock.setTimeout(tick, Math.floor(o.rng() * every))
  }
  const tSteady = clock.now()
  const check = (): void => {
    const pool = live().map(s => s.node)
    const now = clock.now()
    for (let i = track.length - 1; i >= 0; i--) {
      const p = track[i]!
      if (!everywhere(p, pool)) continue
      if (!p.burst && p.at < tSteady + o.steadyMs) steadyLat.push((now - p.at) / interval)
      track.splice(i, 1)
    }
  }
  for (let t = tSteady + interval; t <= tSteady + o.steadyMs; t += interval) { await run(t, 'kv steady'); check() }
  phase = 'burst'
  every = o.updateEveryMs / 2
  const tBurst = clock.now()
  for (let t = tBurst + interval; t <= tBurst + o.burstMs; t += interval) { await run(t, 'kv burst'); check() }
  phase = 'after'
  every = o.updateEveryMs
  const tEnd = clock.now()
  let burstDrainMs: number | null = null
  for (let t = tEnd + interval; t <= tEnd + o.capMs; t += interval) {
    await run(t, 'kv drain')
    check()
    if (!track.some(p => p.burst)) { burstDrainMs = clock.now() - tEnd; break }
  }
  stopped = true
  // let the updates still in flight finish (10 rounds at most), for the delivery ratio
  const tTail = clock.now()
  for (let t = tTail + interval; t <= tTail + 10 * interval && track.length > 0; t += interval) { await run(t, 'kv tail'); check() }
  const c1 = snapshot(o.counter)
  const seconds = (clock.now() - t0) / 1000
  const perNode = (x: number): number => round(x / Math.max(1, n) / Math.max(1e-9, seconds), 3)
  const total = initial.length + steadyUpdates + burstUpdates + later
  const drops: Record<string, number> = {}
  for (const sn of nodes) {
    for (const [k, v] of Object.entries(sn.node.metrics.snapshot())) if (k.startsWith('drops.kv-')) drops[k.slice(6)] = (drops[k.slice(6)] ?? 0) + v
  }
  const sorted = [...steadyLat].sort((a, b) => a - b)
  o.log(`kv: steady latency p50 ${quantile(sorted, 0.5)} p99 ${quantile(sorted, 0.99)} rounds; burst of ${burstUpdates} updates drained ${String(burstDrainMs)} ms after it ended`)
  return {
    keys: o.keys,
    updates: initial.length,
    gossipIntervalMs: interval,
    targetRounds: round(2 * Math.log2(n), 2),
    roundsTo99,
    roundsTo100,
    initialCurve: curve,
    steadyUpdates,
    steadyLatencyRoundsP50: round(quantile(sorted, 0.5), 2),
    steadyLatencyRoundsP99: round(quantile(sorted, 0.99), 2),
    steadyLatencyRoundsMax: round(sorted.length === 0 ? 0 : sorted[sorted.length - 1]!, 2),
    burstUpdates,
    updateRatePerNodePerSecond: round(1000 / o.updateEveryMs, 3),
    burstRatePerNodePerSecond: round(2000 / o.updateEveryMs, 3),
    burstDrainMs,
    burstDrained: burstDrainMs !== null && burstDrainMs <= 30_000,
    deliveryRatio: round(1 - (pending.length + track.length) / Math.max(1, total), 6),
    kvSynPerNodePerSecond: perNode(c1.syn - c0.syn),
    kvAckPerNodePerSecond: perNode(c1.ack - c0.ack),
    kvDeltaPerNodePerSecond: perNode(c1.delta - c0.delta),
    framesPerNodePerSecond: perNode(c1.frames - c0.frames),
    bytesPerNodePerSecond: perNode(c1.bytes - c0.bytes),
    kvDrops: drops
  }
}

function snapshot (c: { get: (t: string) => number, frames: number, bytes: number } | undefined): { syn: number, ack: number, delta: number, frames: number, bytes: number } {
  if (c === undefined) return { syn: 0, ack: 0, delta: 0, frames: 0, bytes: 0 }
  return { syn: c.get('kv.syn'), ack: c.get('kv.ack'), delta: c.get('kv.delta'), frames: c.frames, bytes: c.bytes }
}

/**
 * The `kv` runner, with the same signature as the other scenarios: builds one overlay (the
 * broadcast mode does not matter to state; the first of `modes`, default flood, names the row),
 * runs `measureKv` and returns one row with the common fields plus `roundsTo99`.
 */
export async function kv (o: KvOptions): Promise<Row[]> {
  const mode: Mode = o.modes?.[0] ?? 'flood'
  const sim = new Sim({ ...DEFAULT_CONFIG, services: [stateService()], log: o.log ?? (() => {}), ...o.config, nodes: o.nodes, seed: o.seed, mode })
  const log = sim.cfg.log
  const keys = o.keys ?? (o.nodes <= 256 ? 64 : 2)
  log(`kv: building ${o.nodes} nodes`)
  await sim.build()
  const views = sim.viewStats()
  const conn = sim.connectivity()
  const m = await measureKv(sim.nodes, sim.clock, async (t, label) => { await sim.runUntil(t, label) }, {
    keys,
    updateEveryMs: o.updateEveryMs ?? STATE_DEFAULTS.gossipInterval,
    steadyMs: o.steadyMs ?? (o.nodes <= 256 ? 20_000 : 10_000),
    burstMs: o.burstMs ?? 10_000,
    capMs: o.capMs ?? 120_000,
    valueBytes: o.valueBytes ?? 32,
    rng: () => sim.rng.float(),
    log,
    counter: { get: (t) => sim.counter.get(t), get frames () { return sim.counter.frames }, get bytes () { return sim.counter.bytes } }
  })
  const row: Row = {
    scenario: 'kv' as ScenarioName,
    nodes: sim.cfg.nodes,
    mode: sim.cfg.mode,
    seed: sim.cfg.seed,
    hopLimit: sim.cfg.limit,
    shuffleInterval: sim.cfg.shuffleInterval,
    heartbeatInterval: sim.cfg.heartbeatInterval,
    services: sim.cfg.services.map(x => x.name),
    rmr: null,
    lastDeliveryHop: 0,
    virtualSeconds: round(sim.now / 1000, 3),
    eventsPerSecond: sim.eventsPerSecond,
    peakRssBytes: peakRssBytes(),
    wallSeconds: round(sim.wallSeconds, 2),
    activeViewMean: round(views.mean, 3),
    connected: conn.connected,
    ...m,
    timerErrors: sim.clock.errors
  }
  log(`kv: roundsTo99 ${String(m.roundsTo99)} (target ≤ ${m.targetRounds}), burst drained in ${String(m.burstDrainMs)} ms, ${sim.wallSeconds.toFixed(1)} s wall`)
  return [row]
}

/** Markdown table of kv rows (for report.ts's `markdown`). */
export function kvMarkdown (rows: Row[]): string {
  const f = (x: unknown, d = 2): string => typeof x === 'number' ? x.toFixed(d) : x === null || x === undefined ? '–' : String(x)
  const head = ['nodes', 'keys/node', 'updates', 'rounds to 99 %', 'target 2·log2 N', 'rounds to 100 %', 'steady latency p50 / p99 (rounds)', 'burst drain ms', 'kv frames / node / s (syn, ack, delta)', 'bytes / node / s', 'peak RSS MB', 'wall s']
  const body = rows.map(r => [String(r.nodes), f(r.keys, 0), f(r.updates, 0), f(r.roundsTo99, 0), f(r.targetRounds, 1), f(r.roundsTo100, 0),
    `${f(r.steadyLatencyRoundsP50)} / ${f(r.steadyLatencyRoundsP99)}`, f(r.burstDrainMs, 0),
    `${f(r.kvSynPerNodePerSecond)}, ${f(r.kvAckPerNodePerSecond)}, ${f(r.kvDeltaPerNodePerSecond)}`, f(r.bytesPerNodePerSecond, 0),
    f(typeof r.peakRssBytes === 'number' ? r.peakRssBytes / 1048576 : null, 0), f(r.wallSeconds, 0)])
  return `# kv\n\nGenerated by \`pnpm bench:sim -- --scenario kv\`. One gossip round = ${STATE_DEFAULTS.gossipInterval} ms; see apps/bench/src/scenario-kv.ts for the phases.\n\n` +
    [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map(b => `| ${b.join(' | ')} |`)].join('\n') + '\n'
}

/** SVG: fraction of the initial updates everywhere per gossip round, one line per node count. */
export function kvPlot (rows: Row[]): string {
  const W = 640; const H = 360; const L = 50; const B = 40
  const curves = rows.map(r => ({ label: `${r.nodes} nodes × ${String(r.keys)} keys`, c: (r.initialCurve as number[] | undefined) ?? [] }))
  const maxR = Math.max(1, ...curves.map(c => c.c.length - 1))
  const x = (r: number): number => L + (W - L - 10) * r / maxR
  const y = (f: number): number => H - B - (H - B - 10) * f
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e']
  const lines = curves.map((c, i) => `<polyline fill="none" stroke="${colors[i % colors.length]!}" stroke-width="2" points="${c.c.map((f, r) => `${x(r).toFixed(1)},${y(f).toFixed(1)}`).join(' ')}"/>` +
    `<text x="${W - 220}" y="${20 + 16 * i}" fill="${colors[i % colors.length]!}" font-size="12">${c.label}</text>`).join('\n')
  const ticks = Array.from({ length: Math.min(maxR, 20) + 1 }, (_, k) => Math.round(k * maxR / Math.min(maxR, 20)))
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<line x1="${L}" y1="${H - B}" x2="${W - 10}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="10" x2="${L}" y2="${H - B}" stroke="black"/>
<line x1="${L}" y1="${y(0.99)}" x2="${W - 10}" y2="${y(0.99)}" stroke="#999" stroke-dasharray="4 3"/><text x="${L + 4}" y="${y(0.99) - 4}" font-size="11" fill="#666">99 %</text>
${ticks.map(r => `<text x="${x(r)}" y="${H - B + 16}" font-size="11" text-anchor="middle">${r}</text>`).join('')}
<text x="${(W + L) / 2}" y="${H - 6}" font-size="12" text-anchor="middle">gossip rounds after the writes</text>
<text x="14" y="${(H - B) / 2}" font-size="12" transform="rotate(-90 14 ${(H - B) / 2})" text-anchor="middle">updates everywhere</text>
${lines}
</svg>
`
}

/*
 * Hand-off to the owner of apps/bench (not done here, so as not to touch files in use):
 *   sim.ts:       add 'kv' to SCENARIOS.
 *   scenarios.ts: import kv from scenario-kv.js; add `kv` to RUNNERS (its options are a
 *                 superset of ScenarioOptions; the CLI needs no new flag, --nodes and --seed do).
 *   report.ts:    in markdown(): case 'kv': return kvMarkdown(rows); in plot(): case 'kv': return kvPlot(rows).
 *   sim-cli.ts:   mention kv in HELP.
 */
