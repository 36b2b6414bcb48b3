/**
 * `pnpm bench:abuse`: the abuse bench (abuse-bench.ts) `--runs` times (default 3), each a fresh
 * relay; writes every run and the medians (with min and max) of the headline numbers to
 * results/<out>.{json,md}. Flags: --phase-s 10 --honest 3 --rate 10 --half-open 200 --garbage 20
 * --wrong-key 20 --flood true --join-storm 10 (fresh identities/s) --signal-spam 100 (rtc.signal/s)
 * --spin false (a control: burn a core, send nothing) --runs 3 --relay-args "<flags for the relay>"
 * --relay-node-args "<Node flags for the relay process>" --attacker-nice 0 (19: the attacker's CPU as
 * good as off the relay's cores, as on another machine) --out abuse.
 * Exits 1 if a target of issue 18 was missed in the median: honest p99 during ≤ 2× before, a new
 * node joins during the attack within 2 s, /healthz within 500 ms, RSS after within 20 %.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { abuseMarkdown, runAbuseBench } from './abuse-bench.js'
import type { AbuseResult } from './abuse-bench.js'
import { machineInfo } from './compare/machine.js'
import { round } from './procs.js'

const { values } = parseArgs({
  options: {
    'phase-s': { type: 'string', default: '10' },
    honest: { type: 'string', default: '3' },
    rate: { type: 'string', default: '10' },
    'half-open': { type: 'string', default: '200' },
    garbage: { type: 'string', default: '20' },
    'wrong-key': { type: 'string', default: '20' },
    flood: { type: 'string', default: 'true' },
    'join-storm': { type: 'string', default: '10' },
    'signal-spam': { type: 'string', default: '100' },
    spin: { type: 'string', default: 'false' },
    runs: { type: 'string', default: '3' },
    'relay-args': { type: 'string', default: '' },
    'relay-node-args': { type: 'string', default: '' },
    'attacker-nice': { type: 'string', default: '0' },
    out: { type: 'string', default: 'abuse' }
  }
})
const machine = machineInfo()
const runs: AbuseResult[] = []
for (let i = 0; i < Number(values.runs); i++) {
  const r = await runAbuseBench({
    phaseMs: Number(values['phase-s']) * 1000,
    honest: Number(values.honest),
    rate: Number(values.rate),
    attack: { halfOpen: Number(values['half-open']), garbagePerSecond: Number(values.garbage), wrongKeyPerSecond: Number(values['wrong-key']), flood: values.flood !== 'false', joinsPerSecond: Number(values['join-storm']), signalsPerSecond: Number(values['signal-spam']), spin: values.spin === 'true' },
    relayArgs: values['relay-args'].split(/\s+/).filter(x => x !== ''),
    relayNodeArgs: values['relay-node-args'].split(/\s+/).filter(x => x !== ''),
    attackerNice: Number(values['attacker-nice']),
    log: (l) => { console.error(`abuse run ${String(i + 1)}: ${l}`) }
  })
  console.error(abuseMarkdown(r, `run ${String(i + 1)}`))
  runs.push(r)
}

/** Median, min and max of one number over the runs (null where a run had none: counted as worst). */
function stat (f: (r: AbuseResult) => number | null): { median: number, min: number, max: number } {
  const xs = runs.map(f).map(x => x ?? Infinity).sort((a, b) => a - b)
  return { median: xs[Math.floor(xs.length / 2)]!, min: xs[0]!, max: xs.at(-1)! }
}
const summary = {
  p50Before: stat(r => r.phases.before.latencyMs.p50),
  p99Before: stat(r => r.phases.before.latencyMs.p99),
  p50During: stat(r => r.phases.during.latencyMs.p50),
  p99During: stat(r => r.phases.during.latencyMs.p99),
  p99After: stat(r => r.phases.after.latencyMs.p99),
  p99Ratio: stat(r => round(r.phases.during.latencyMs.p99 / r.phases.before.latencyMs.p99, 2)),
  deliveredDuring: stat(r => r.phases.during.delivered),
  joinBeforeMs: stat(r => r.phases.before.joinMs),
  joinDuringMs: stat(r => r.phases.during.joinMs),
  healthzMaxDuringMs: stat(r => r.phases.during.healthz.maxMs),
  cpuBefore: stat(r => r.phases.before.relay.cpuPercent),
  cpuDuring: stat(r => r.phases.during.relay.cpuPercent),
  loopDelayMaxBefore: stat(r => r.phases.before.relay.loopDelayMaxMs),
  loopDelayMaxDuring: stat(r => r.phases.during.relay.loopDelayMaxMs),
  honestCpuBefore: stat(r => r.phases.before.honestCpuPercent),
  honestCpuDuring: stat(r => r.phases.during.honestCpuPercent),
  attackerCpu: stat(r => r.attack.cpuPercent),
  linksLostDuring: stat(r => Object.values(r.phases.during.honestLinksLost ?? {}).reduce((a, b) => a + b, 0)),
  rssBeforeMiB: stat(r => r.memory.beforeMiB),
  rssPeakDuringMiB: stat(r => r.phases.during.relay.peakRssMiB),
  rssAfterMiB: stat(r => r.memory.afterMiB),
  rssRatio: stat(r => r.memory.ratio),
  rssRatioAfterGc: stat(r => r.memory.ratioAfterGc)
}
const pass = {
  p99: summary.p99Ratio.median <= 2,
  join: summary.joinDuringMs.median <= 2000,
  healthz: summary.healthzMaxDuringMs.median <= 500,
  memory: summary.rssRatio.median <= 1.2
}
const fmt = (s: { median: number, min: number, max: number }): string => `${String(s.median)} (${String(s.min)}–${String(s.max)})`
const loadAfter = os.loadavg().map(x => round(x, 2))
const md = [
  `# Abuse bench: median of ${String(runs.length)} runs (min–max)`,
  '',
  `\`pnpm bench:abuse${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}\`; ${String(machine.cores)} × ${String(machine.cpuModel)}, Node ${String(machine.node)}, load average ${machine.loadAverage.join(' / ')} at the start, ${loadAfter.join(' / ')} at the end.`,
  '',
  '| measure | value | target |',
  '|---|---|---|',
  `| honest p50 ms before / during | ${fmt(summary.p50Before)} / ${fmt(summary.p50During)} | |`,
  `| honest p99 ms before / during / after | ${fmt(summary.p99Before)} / ${fmt(summary.p99During)} / ${fmt(summary.p99After)} | |`,
  `| p99 during ÷ before | ${fmt(summary.p99Ratio)} | ≤ 2 ${pass.p99 ? '✓' : '✗'} |`,
  `| honest delivery during | ${fmt(summary.deliveredDuring)} | |`,
  `| honest links to the relay lost during (failure detector, cut) | ${fmt(summary.linksLostDuring)} | |`,
  `| new node joins in, ms, before / during | ${fmt(summary.joinBeforeMs)} / ${fmt(summary.joinDuringMs)} | ≤ 2000 ${pass.join ? '✓' : '✗'} |`,
  `| /healthz slowest answer during, ms | ${fmt(summary.healthzMaxDuringMs)} | ≤ 500 ${pass.healthz ? '✓' : '✗'} |`,
  `| relay CPU % before / during | ${fmt(summary.cpuBefore)} / ${fmt(summary.cpuDuring)} | |`,
  `| relay event-loop delay max ms before / during | ${fmt(summary.loopDelayMaxBefore)} / ${fmt(summary.loopDelayMaxDuring)} | |`,
  `| CPU % of the honest nodes' process before / during; of the attacker process | ${fmt(summary.honestCpuBefore)} / ${fmt(summary.honestCpuDuring)}; ${fmt(summary.attackerCpu)} | |`,
  `| relay RSS MiB before / peak during / after | ${fmt(summary.rssBeforeMiB)} / ${fmt(summary.rssPeakDuringMiB)} / ${fmt(summary.rssAfterMiB)} | |`,
  `| RSS after ÷ before (after GC) | ${fmt(summary.rssRatio)} (${fmt(summary.rssRatioAfterGc)}) | ≤ 1.2 ${pass.memory ? '✓' : '✗'} |`,
  '',
  ...runs.map((r, i) => abuseMarkdown(r, `Run ${String(i + 1)}`))
].join('\n')
const dir = new URL('../results/', import.meta.url)
mkdirSync(dir, { recursive: true })
writeFileSync(new URL(`${values.out}.json`, dir), JSON.stringify({ machine, summary, pass, runs }, null, 2) + '\n')
writeFileSync(new URL(`${values.out}.md`, dir), md)
console.log(md)
if (!Object.values(pass).every(Boolean)) process.exitCode = 1
