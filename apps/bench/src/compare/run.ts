import type { LinkResult, LinkTransport, Spread } from '../link.js'
import { HEARSAY_NAME, RAW_NAME, spread } from '../link.js'
import type { DriverConfig, SystemRun } from './driver.js'
import type { MachineInfo } from './machine.js'
import { randomTopology } from './topology.js'
import type { WorkerJob, WorkerReply } from './worker.js'

/** What one `pnpm bench` run measures. */
export interface CompareConfig {
  quick: boolean
  seed: number
  /** Node counts of the broadcast comparison. */
  sizes: number[]
  /** System ids (systems/index.ts), in run order within each size. */
  systems: string[]
  /**
   * Runs of the whole broadcast comparison. Each run measures every size and system once, in
   * the same order, so a burst of load elsewhere hits neighbours in time alike; the ratios are
   * computed per run and reported as median, min and max.
   */
  repeats: number
  driver: DriverConfig
  /** Two-node link: window per measurement, ms (0 skips the link part). */
  linkMs: number
  /** Two-node link: measurements of each row (median, min, max; ratios per repeat). */
  linkRepeats: number
  linkPayloads: number[]
}

export const FULL: CompareConfig = {
  quick: false,
  seed: 1,
  sizes: [10, 20],
  systems: ['hearsay-plumtree', 'hearsay-flood', 'gossipsub', 'gossipsub-signed', 'ws-flood'],
  repeats: 3,
  driver: {
    payloadBytes: 256,
    pacedRate: 20,
    pacedMs: 6000,
    saturatedMs: 6000,
    window: 400,
    highWaterBytes: 1 << 20,
    warmupPerNode: 3,
    lossAfterMs: 5000,
    setupTimeoutMs: 60_000
  },
  linkMs: 2000,
  linkRepeats: 3,
  linkPayloads: [64, 1024, 65536]
}

export const QUICK: CompareConfig = {
  ...FULL,
  quick: true,
  repeats: 1,
  driver: { ...FULL.driver, pacedMs: 1500, saturatedMs: 1500 },
  linkMs: 500,
  linkRepeats: 1,
  linkPayloads: [64, 1024]
}

export interface RunError { system: string, nodes: number, repeat: number, error: string }

/** One system measured once; `repeat` counts the runs of the comparison from 0. */
export type RepeatedRun = SystemRun & { repeat: number }

/** Per node count, per hearsay mode: a ratio computed in each run (median, min, max), or null when a side is missing. */
export type RatioTable = Record<string, Record<string, Spread | null>>

export interface Target {
  id: string
  description: string
  /** The measured figure the target is about (the median over the runs where it is a ratio). */
  value: number | null
  threshold: number
  met: boolean | null
  detail: string
}

export interface CompareResult {
  generatedAt: string
  config: CompareConfig
  machine: { start: MachineInfo, loadAverageEnd: number[] }
  versions: Record<string, string | null>
  topologies: Record<string, { edges: number, degreeMin: number, degreeMax: number, degreeMean: number, diameter: number }>
  /** Every measurement of every run, in the order they ran. */
  runs: RepeatedRun[]
  errors: RunError[]
  /** Per node count, per hearsay mode: its saturated deliveries/s ÷ gossipsub's (unsigned), same nodes, topology and run. */
  ratioVsGossipsub: RatioTable
  /** The same against gossipsub with its default signing. */
  ratioVsGossipsubSigned: RatioTable
  /** The same against the naive ws flood. */
  ratioVsWsFlood: RatioTable
  /** Deliveries per CPU-second ÷ gossipsub's (unsigned): the ratio a loaded machine disturbs least. */
  cpuEfficiencyVsGossipsub: RatioTable
  /** Paced p99 latency ÷ gossipsub's (unsigned), per run: at most 1 in every run is the target. */
  pacedP99VsGossipsub: RatioTable
  /** Paced p99 latency ÷ hearsay flood's, per run (Plumtree's tail against the eager push it replaces). */
  pacedP99VsFlood: RatioTable
  link: LinkResult | null
  /** Two-node secure link msgs/s ÷ raw ws (and ÷ raw net for tcp), per payload; `…Uncoalesced`: coalescing off. */
  ratioVsRawWs: Record<string, number> | null
  /** The same as CPU efficiency: raw's CPU per message ÷ hearsay's. */
  cpuEfficiencyVsRawWs: Record<string, number> | null
  targets: Target[]
  wallSeconds: number
}

export type JobRunner = (job: WorkerJob) => Promise<WorkerReply>

export const HEARSAY_MODES = ['hearsay-plumtree', 'hearsay-flood'] as const

/**
 * Runs every measurement of the comparison through `runJob` (a fresh process each in
 * `pnpm bench`, in-process in the smoke test) and derives the ratios and targets.
 */
export async function runCompare (cfg: CompareConfig, deps: {
  runJob: JobRunner
  machine: () => MachineInfo
  versions: () => Record<string, string | null>
  log?: (line: string) => void
}): Promise<CompareResult> {
  const t0 = performance.now()
  const log = deps.log ?? (() => {})
  const start = deps.machine()
  const runs: RepeatedRun[] = []
  const errors: RunError[] = []
  let link: LinkResult | null = null
  if (cfg.linkMs > 0) {
    log(`link: two nodes, ${cfg.linkPayloads.join(', ')} B, ${cfg.linkMs} ms per measurement, ${cfg.linkRepeats} runs`)
    const r = await deps.runJob({ kind: 'link', link: { durationMs: cfg.linkMs, repeats: cfg.linkRepeats, payloads: cfg.linkPayloads, handshakeSamples: cfg.quick ? 2 : 8 } })
    if (r.ok && r.kind === 'link') link = r.link
    else errors.push({ system: 'link', nodes: 2, repeat: 0, error: r.ok ? 'unexpected reply' : r.error })
  }
  const topologies: CompareResult['topologies'] = {}
  for (const nodes of cfg.sizes) {
    const t = randomTopology(nodes, cfg.seed)
    topologies[String(nodes)] = { edges: t.edges.length, degreeMin: t.degreeMin, degreeMax: t.degreeMax, degreeMean: t.degreeMean, diameter: t.diameter }
  }
  for (let repeat = 0; repeat < cfg.repeats; repeat++) {
    for (const nodes of cfg.sizes) {
      for (const system of cfg.systems) {
        const tag = `${system}, ${nodes} nodes, run ${repeat + 1}/${cfg.repeats}`
        log(`${tag} …`)
        const r = await deps.runJob({ kind: 'system', system, nodes, seed: cfg.seed, driver: cfg.driver })
        if (r.ok && r.kind === 'system') {
          runs.push({ ...r.run, repeat })
          log(`${tag}: ${Math.round(r.run.saturated.deliveriesPerSec)} deliveries/s, paced p99 ${r.run.paced.latency.p99Ms.toFixed(1)} ms`)
        } else {
          const error = r.ok ? 'unexpected reply' : r.error
          errors.push({ system, nodes, repeat, error })
          log(`${tag} FAILED: ${error.split('\n')[0] ?? ''}`)
        }
      }
    }
  }
  const saturated = (r: SystemRun): number => r.saturated.deliveriesPerSec
  const p99 = (r: SystemRun): number => r.paced.latency.p99Ms
  const ratioVsGossipsub = ratios(cfg, runs, 'gossipsub', saturated)
  const ratioVsGossipsubSigned = ratios(cfg, runs, 'gossipsub-signed', saturated)
  const ratioVsWsFlood = ratios(cfg, runs, 'ws-flood', saturated)
  const cpuEfficiencyVsGossipsub = ratios(cfg, runs, 'gossipsub', r => 1000 / r.saturated.cpuSecPer1000)
  const pacedP99VsGossipsub = ratios(cfg, runs, 'gossipsub', p99)
  const pacedP99VsFlood = ratios(cfg, runs, 'hearsay-flood', p99)
  const ratioVsRawWs = link === null ? null : { ...link.ratios }
  const cpuEfficiencyVsRawWs = link === null ? null : { ...link.cpuRatios }
  return {
    generatedAt: new Date().toISOString(),
    config: cfg,
    machine: { start, loadAverageEnd: deps.machine().loadAverage },
    versions: deps.versions(),
    topologies,
    runs,
    errors,
    ratioVsGossipsub,
    ratioVsGossipsubSigned,
    ratioVsWsFlood,
    cpuEfficiencyVsGossipsub,
    pacedP99VsGossipsub,
    pacedP99VsFlood,
    link,
    ratioVsRawWs,
    cpuEfficiencyVsRawWs,
    targets: targets(cfg, runs, link, { ratioVsGossipsub, cpuEfficiencyVsGossipsub, pacedP99VsGossipsub, pacedP99VsFlood }),
    wallSeconds: (performance.now() - t0) / 1000
  }
}

/** The first run's measurement of `system` at `nodes`. */
export function findRun (runs: RepeatedRun[], system: string, nodes: number): RepeatedRun | undefined {
  return runs.find(r => r.system === system && r.nodes === nodes)
}

/** Every run's measurement of `system` at `nodes`, in run order. */
export function findRuns (runs: RepeatedRun[], system: string, nodes: number): RepeatedRun[] {
  return runs.filter(r => r.system === system && r.nodes === nodes)
}

/** `metric(mode) ÷ metric(baseline)` within each run that measured both, as median, min and max. */
function ratios (cfg: CompareConfig, runs: RepeatedRun[], baseline: string, metric: (r: SystemRun) => number): RatioTable {
  const out: RatioTable = {}
  for (const nodes of cfg.sizes) {
    const row: Record<string, Spread | null> = {}
    for (const mode of HEARSAY_MODES) {
      const perRun: number[] = []
      for (const h of findRuns(runs, mode, nodes)) {
        const base = runs.find(r => r.system === baseline && r.nodes === nodes && r.repeat === h.repeat)
        if (base !== undefined && metric(base) > 0) perRun.push(metric(h) / metric(base))
      }
      row[mode] = mode === baseline || perRun.length === 0 ? null : spread(perRun)
    }
    out[String(nodes)] = row
  }
  return out
}

const TARGET_VS_GOSSIPSUB = 15
/** Plumtree's paced p99 at most this many times flood's (issue 17, item 3). */
const TARGET_P99_VS_FLOOD = 1.2

/**
 * The targets at every size and payload, for each hearsay broadcast mode: Plumtree is the
 * default, flood the alternative (docs/decisions.md). Throughput targets are met by the median
 * of the per-run ratios; the latency target against gossipsub must hold in every run.
 */
function targets (cfg: CompareConfig, runs: RepeatedRun[], link: LinkResult | null, t: Pick<CompareResult, 'ratioVsGossipsub' | 'cpuEfficiencyVsGossipsub' | 'pacedP99VsGossipsub' | 'pacedP99VsFlood'>): Target[] {
  const out: Target[] = []
  const runsOf = cfg.repeats === 1 ? 'one run' : `median of ${cfg.repeats} runs`
  for (const nodes of cfg.sizes) {
    for (const mode of HEARSAY_MODES) {
      if (findRun(runs, mode, nodes) === undefined) continue
      const name = mode === 'hearsay-plumtree' ? 'Plumtree, the default' : 'flood'
      const key = String(nodes)
      const atLeast = (id: string, what: string, s: Spread | null | undefined): void => {
        out.push({
          id: `${id}-${nodes}-${mode}`,
          description: `${nodes} nodes (${name}): saturated ${what} ≥ ${TARGET_VS_GOSSIPSUB} × gossipsub's (unsigned), same topology`,
          value: s?.median ?? null,
          threshold: TARGET_VS_GOSSIPSUB,
          met: s == null ? null : s.median >= TARGET_VS_GOSSIPSUB,
          detail: s == null ? 'not measured' : `${fmtSpread(s)} × (${runsOf})`
        })
      }
      atLeast('throughput', 'deliveries/s', t.ratioVsGossipsub[key]?.[mode])
      atLeast('cpu', 'deliveries per CPU-second', t.cpuEfficiencyVsGossipsub[key]?.[mode])
      const vsG = t.pacedP99VsGossipsub[key]?.[mode]
      const h = findRuns(runs, mode, nodes).map(r => r.paced.latency.p99Ms)
      const g = findRuns(runs, 'gossipsub', nodes).map(r => r.paced.latency.p99Ms)
      out.push({
        id: `latency-${nodes}-${mode}`,
        description: `${nodes} nodes (${name}): p99 delivery latency at ${cfg.driver.pacedRate} msg/s ≤ gossipsub's, in every run`,
        value: vsG?.max ?? null,
        threshold: 1,
        met: vsG == null ? null : vsG.max <= 1,
        detail: vsG == null ? 'not measured' : `${fmtSpread(spread(h), 1)} ms vs ${fmtSpread(spread(g), 1)} ms; ratio per run ${fmtSpread(vsG)}`
      })
      if (mode === 'hearsay-plumtree') {
        const vsF = t.pacedP99VsFlood[key]?.[mode]
        out.push({
          id: `latency-vs-flood-${nodes}`,
          description: `${nodes} nodes (Plumtree): p99 delivery latency at ${cfg.driver.pacedRate} msg/s ≤ ${TARGET_P99_VS_FLOOD} × flood's`,
          value: vsF?.median ?? null,
          threshold: TARGET_P99_VS_FLOOD,
          met: vsF == null ? null : vsF.median <= TARGET_P99_VS_FLOOD,
          detail: vsF == null ? 'not measured' : `${fmtSpread(vsF)} × (${runsOf})`
        })
      }
    }
  }
  // issue 17: 1 KiB ≥ 0.7 × raw ws and ≥ 0.4 × raw net; 64 KiB ≥ 0.5 × both; 64 B kept above the old 35 % floor
  const linkTargets: Array<[LinkTransport, number, number]> = [['ws', 64, 0.35], ['ws', 1024, 0.7], ['tcp', 1024, 0.4], ['ws', 65536, 0.5], ['tcp', 65536, 0.5]]
  for (const [transport, payload, threshold] of linkTargets) {
    if (!cfg.linkPayloads.includes(payload) || cfg.linkMs === 0) continue
    const row = link?.rows.find(r => r.name === HEARSAY_NAME && r.transport === transport && r.payload === payload)
    const s = row?.vsRaw
    const rawName = RAW_NAME[transport]
    out.push({
      id: `link-${transport}-${payload}`,
      description: `two nodes, ${payload >= 1024 ? `${payload / 1024} KiB` : `${payload} B`}: secure link msgs/s ≥ ${threshold} × ${rawName}`,
      value: s?.median ?? null,
      threshold,
      met: s === undefined ? null : s.median >= threshold,
      detail: s === undefined ? 'not measured' : `${fmtSpread(s)} × ${rawName} (${link!.repeats === 1 ? 'one run' : `median of ${link!.repeats}`}; CPU efficiency ${f2((link?.cpuRatios[`${transport}${payload}`]) ?? NaN)} × ${rawName}'s)`
    })
  }
  return out
}

const f2 = (x: number, d = 2): string => Number.isFinite(x) ? x.toFixed(d) : '–'
/** "median (min–max)". */
export function fmtSpread (s: Spread, digits = 2): string {
  return s.min === s.max ? f2(s.median, digits) : `${f2(s.median, digits)} (${f2(s.min, digits)}–${f2(s.max, digits)})`
}
