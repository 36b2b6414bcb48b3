import { describe, expect, it } from 'vitest'
import { randomTopology } from '../src/compare/topology.js'
import { findRun, findRuns, FULL, runCompare } from '../src/compare/run.js'
import type { CompareConfig } from '../src/compare/run.js'
import { runJob } from '../src/compare/worker.js'
import { compareMarkdown, compareSvg } from '../src/compare/report.js'
import { machineInfo } from '../src/compare/machine.js'

describe('comparison topology', () => {
  it('is connected, within the degree range, the same for the same seed', () => {
    for (const n of [10, 20]) {
      const t = randomTopology(n, 1)
      expect(t.degreeMin).toBeGreaterThanOrEqual(4)
      expect(t.degreeMax).toBeLessThanOrEqual(6)
      expect(Number.isFinite(t.diameter)).toBe(true)
      expect(new Set(t.edges.map(([a, b]) => `${a}-${b}`)).size).toBe(t.edges.length)
      expect(t.edges.every(([a, b]) => a < b)).toBe(true)
      expect(randomTopology(n, 1)).toEqual(t)
    }
    expect(randomTopology(20, 2).edges).not.toEqual(randomTopology(20, 1).edges)
    expect(randomTopology(4, 1).degreeMax).toBe(3)
  })
})

describe('pnpm bench harness (smoke, tiny durations)', () => {
  it('runs every part in process and reports figures, ratios and targets', async () => {
    const cfg: CompareConfig = {
      ...FULL,
      quick: true,
      sizes: [4],
      systems: ['hearsay-flood', 'hearsay-plumtree', 'gossipsub', 'ws-flood'],
      repeats: 2,
      driver: { ...FULL.driver, pacedRate: 50, pacedMs: 200, saturatedMs: 200, warmupPerNode: 1, setupTimeoutMs: 15_000 },
      linkMs: 150,
      linkPayloads: [64]
    }
    const r = await runCompare(cfg, { runJob, machine: machineInfo, versions: () => ({ ws: '8' }) })
    expect(r.errors).toEqual([])
    // run by run, every system once per run, in order
    expect(r.runs.map(x => `${x.repeat}:${x.system}`)).toEqual([0, 1].flatMap(k => cfg.systems.map(s => `${k}:${s}`)))
    for (const run of r.runs) {
      expect(run.paced.deliveryRatio).toBe(1)
      expect(run.saturated.deliveriesPerSec).toBeGreaterThan(0)
      expect(run.saturated.cpuSecPer1000).toBeGreaterThan(0)
      expect(run.rss.peakBytes).toBeGreaterThan(0)
    }
    // ratios are per run: the median lies between that run pair's min and max, each from its own run
    const flood = findRuns(r.runs, 'hearsay-flood', 4)
    const gossip = findRuns(r.runs, 'gossipsub', 4)
    const perRun = flood.map((h, k) => h.saturated.deliveriesPerSec / gossip[k]!.saturated.deliveriesPerSec).sort((a, b) => a - b)
    expect(r.ratioVsGossipsub['4']?.['hearsay-flood']).toEqual({ median: perRun[1], min: perRun[0], max: perRun[1] })
    expect(r.ratioVsWsFlood['4']?.['hearsay-plumtree']?.median).toBeGreaterThan(0)
    expect(r.pacedP99VsFlood['4']?.['hearsay-plumtree']?.median).toBeGreaterThan(0)
    expect(r.pacedP99VsFlood['4']?.['hearsay-flood']).toBeNull()
    expect(r.link?.rows.map(x => x.name)).toEqual(['raw ws', 'hearsay secure link', 'hearsay secure link, coalescing off', 'raw net', 'hearsay secure link', 'hearsay secure link, coalescing off'])
    expect(r.ratioVsRawWs?.ws64).toBeGreaterThan(0)
    expect(r.targets.map(t => t.id)).toEqual(['throughput-4-hearsay-plumtree', 'cpu-4-hearsay-plumtree', 'latency-4-hearsay-plumtree', 'latency-vs-flood-4',
      'throughput-4-hearsay-flood', 'cpu-4-hearsay-flood', 'latency-4-hearsay-flood', 'link-ws-64'])
    // the latency target must hold in every run: its value is the worst run's ratio
    const p99 = findRuns(r.runs, 'hearsay-plumtree', 4).map((h, k) => h.paced.latency.p99Ms / gossip[k]!.paced.latency.p99Ms)
    expect(r.targets[2]!.value).toBe(Math.max(...p99))
    expect(r.targets[0]!.description).toContain('Plumtree, the default')
    // hearsay systems report their drop counters (each delivered message's duplicates at least, in flood mode)
    expect(findRun(r.runs, 'hearsay-flood', 4)?.drops?.['broadcast-duplicate']).toBeGreaterThan(0)
    expect(findRun(r.runs, 'gossipsub', 4)?.drops).toBeUndefined()
    expect(r.targets.every(t => typeof t.met === 'boolean')).toBe(true)
    const md = compareMarkdown(r)
    expect(md).toContain('## Targets')
    expect(md).toContain('js-libp2p gossipsub (unsigned)')
    expect(md).toMatch(/Drops counted by hearsay \(flood\), all nodes, whole first run: .*broadcast-duplicate/)
    expect(compareSvg(r)).toMatch(/^<svg[\s\S]*<\/svg>\n$/)
    expect(JSON.parse(JSON.stringify(r)).runs.length).toBe(8)
    // a few seconds alone; the margin is for a busy CI machine
  }, 45_000)
})
