import type { LinkResult } from '../link.js'
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
  linkRepeats: 2,
  linkPayloads: [64, 1024]
}

export const QUICK: CompareConfig = {
  ...FULL,
  quick: true,
  driver: { ...FULL.driver, pacedMs: 1500, saturatedMs: 1500 },
  linkMs: 500,
  linkRepeats: 1
}

export interface RunError { system: string, nodes: number, error: string }

export interface Target {
  id: string
  description: string
  /** The measured figure the target is about. */
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
  runs: SystemRun[]
  errors: RunError[]
  /** Per node count, per hearsay mode: its saturated deliveries/s ÷ gossipsub's (unsigned), same nodes and topology. */
  ratioVsGossipsub: Record<string, Record<string, number | null>>
  /** The same against gossipsub with its default signing. */
  ratioVsGossipsubSigned: Record<string, Record<string, number | null>>
  /** The same against the naive ws flood. */
  ratioVsWsFlood: Record<string, Record<string, number | null>>
  /** Deliveries per CPU-second ÷ gossipsub's (unsigned): the ratio a loaded machine disturbs least. */
  cpuEfficiencyVsGossipsub: Record<string, Record<string, number | null>>
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
  const runs: SystemRun[] = []
  const errors: RunError[] = []
  let link: LinkResult | null = null
  if (cfg.linkMs > 0) {
    log(`link: two nodes, ${cfg.linkPayloads.join(' and ')} B, ${cfg.linkMs} ms per measurement`)
    const r = await deps.runJob({ kind: 'link', link: { durationMs: cfg.linkMs, repeats: cfg.linkRepeats, payloads: cfg.linkPayloads, handshakeSamples: cfg.quick ? 2 : 8 } })
    if (r.ok && r.kind === 'link') link = r.link
    else errors.push({ system: 'link', nodes: 2, error: r.ok ? 'unexpected reply' : r.error })
  }
  const topologies: CompareResult['topologies'] = {}
  for (const nodes of cfg.sizes) {
    const t = randomTopology(nodes, cfg.seed)
    topologies[String(nodes)] = { edges: t.edges.length, degreeMin: t.degreeMin, degreeMax: t.degreeMax, degreeMean: t.degreeMean, diameter: t.diameter }
    for (const system of cfg.systems) {
      log(`${system}, ${nodes} nodes …`)
      const r = await deps.runJob({ kind: 'system', system, nodes, seed: cfg.seed, driver: cfg.driver })
      if (r.ok && r.kind === 'system') {
        runs.push(r.run)
        log(`${system}, ${nodes} nodes: ${Math.round(r.run.saturated.deliveriesPerSec)} deliveries/s, paced p99 ${r.run.paced.latency.p99Ms.toFixed(1)} ms`)
      } else {
        const error = r.ok ? 'unexpected reply' : r.error
        errors.push({ system, nodes, error })
        log(`${system}, ${nodes} nodes FAILED: ${error.split('\n')[0] ?? ''}`)
      }
    }
  }
  const ratioVsGossipsub = ratios(cfg, runs, 'gossipsub', r => r.saturated.deliveriesPerSec)
  const ratioVsGossipsubSigned = ratios(cfg, runs, 'gossipsub-signed', r => r.saturated.deliveriesPerSec)
  const ratioVsWsFlood = ratios(cfg, runs, 'ws-flood', r => r.saturated.deliveriesPerSec)
  const cpuEfficiencyVsGossipsub = ratios(cfg, runs, 'gossipsub', r => 1000 / r.saturated.cpuSecPer1000)
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
    link,
    ratioVsRawWs,
    cpuEfficiencyVsRawWs,
    targets: targets(cfg, runs, link),
    wallSeconds: (performance.now() - t0) / 1000
  }
}

export function findRun (runs: SystemRun[], system: string, nodes: number): SystemRun | undefined {
  return runs.find(r => r.system === system && r.nodes === nodes)
}

function ratios (cfg: CompareConfig, runs: SystemRun[], baseline: string, metric: (r: SystemRun) => number): Record<string, Record<string, number | null>> {
  const out: Record<string, Record<string, number | null>> = {}
  for (const nodes of cfg.sizes) {
    const base = findRun(runs, baseline, nodes)
    const row: Record<string, number | null> = {}
    for (const mode of HEARSAY_MODES) {
      const h = findRun(runs, mode, nodes)
      row[mode] = h === undefined || base === undefined || !(metric(base) > 0) ? null : metric(h) / metric(base)
    }
    out[String(nodes)] = row
  }
  return out
}

/**
 * The targets at every size and payload, for each hearsay broadcast mode: Plumtree is
 * the default, flood the alternative (docs/decisions.md).
 */
function targets (cfg: CompareConfig, runs: SystemRun[], link: LinkResult | null): Target[] {
  const out: Target[] = []
  for (const nodes of cfg.sizes) {
    for (const mode of HEARSAY_MODES) {
      const h = findRun(runs, mode, nodes)
      const g = findRun(runs, 'gossipsub', nodes)
      if (h === undefined) continue
      const name = mode === 'hearsay-plumtree' ? 'Plumtree, the default' : 'flood'
      const ratio = g !== undefined ? h.saturated.deliveriesPerSec / g.saturated.deliveriesPerSec : null
      out.push({
        id: `throughput-${nodes}-${mode}`,
        description: `${nodes} nodes (${name}): saturated deliveries/s ≥ 10 × gossipsub's (unsigned), same topology`,
        value: ratio,
        threshold: 10,
        met: ratio === null ? null : ratio >= 10,
        detail: g !== undefined ? `${fmt(h.saturated.deliveriesPerSec)} vs ${fmt(g.saturated.deliveriesPerSec)} deliveries/s, ${(h.saturated.deliveryRatio * 100).toFixed(1)} % delivered` : 'not measured'
      })
      const hp = h.paced.latency.p99Ms
      const gp = g?.paced.latency.p99Ms
      out.push({
        id: `latency-${nodes}-${mode}`,
        description: `${nodes} nodes (${name}): p99 delivery latency at ${cfg.driver.pacedRate} msg/s ≤ gossipsub's`,
        value: hp ?? null,
        threshold: gp ?? NaN,
        met: hp === undefined || gp === undefined ? null : hp <= gp,
        detail: hp === undefined || gp === undefined ? 'not measured' : `${hp.toFixed(1)} ms vs ${gp.toFixed(1)} ms`
      })
    }
  }
  for (const payload of cfg.linkPayloads) {
    const ratio = link?.ratios[`ws${payload}`]
    const cpu = link?.cpuRatios[`ws${payload}`]
    out.push({
      id: `link-ws-${payload}`,
      description: `two nodes, ${payload} B: secure link msgs/s ≥ 35 % of raw ws`,
      value: ratio ?? null,
      threshold: 0.35,
      met: ratio === undefined ? null : ratio >= 0.35,
      detail: ratio === undefined ? 'not measured' : `${(ratio * 100).toFixed(0)} % of raw ws (CPU efficiency: ${((cpu ?? NaN) * 100).toFixed(0)} % of raw ws's)`
    })
  }
  return out
}

function fmt (x: number): string { return Math.round(x).toLocaleString('en') }
