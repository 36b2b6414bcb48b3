#!/usr/bin/env node
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import v8 from 'node:v8'
import { PAGES_FLAGS, PAGES_HELP } from './pages-cli.js'
import type { ScenarioOptions } from './scenarios.js'
import type { Mode, ScenarioName } from './sim.js'

const HELP = `hearsay overlay simulator: real core nodes on a memory network in virtual time.

usage: pnpm bench:sim -- [--scenario NAME[,NAME…]|all] [--nodes N] [--seed S] [--broadcasts B] [flags]

  --scenario          steady | mass-failure | churn | partition | failure-detector | kv | members | all   (default steady)
  --nodes             number of nodes                                            (default 1000)
  --seed              seed of every random choice                                (default 1)
  --broadcasts        steady: broadcasts per mode (default 1000); mass-failure and
                      partition: broadcasts per measurement point (default 10)
  --flood-broadcasts  steady: broadcasts for flood only (default: --broadcasts)
  --modes             flood,plumtree (default both; each on its own overlay)
  --limit             hop limit of the measured announces (default 32; core's announceLimit default is 6)
  --spacing           steady: virtual ms between broadcasts (default 10)
  --publishers        steady: broadcasts come from this many random nodes (default 0: a random node each)
  --fractions         mass-failure: killed fractions, e.g. 0.5,0.8,0.95 (default 0.1…0.9,0.95)
  --churn-rounds      churn: rounds (default 100)
  --churn-rate        churn: fraction replaced per round (default 0.05)
  --loss              failure-detector: frame loss (default 0.1)
  --window            failure-detector: observation window, virtual s (default 60)
  --shuffle-interval  node option shuffleInterval, virtual ms (default 10000, core's default)
  --heartbeat-interval node option heartbeatInterval, virtual ms (default 1000, core's default)
  --settle-rounds     shuffle rounds after the last join before measuring (default 3)
  --seed-nodes        bootstrap seeds (default 4); --seeds-per-node (default 2)
  --node-options      extra createNode options for every node, as JSON, e.g. '{"maxPeers":6}'
  --out               results directory (default apps/bench/results)
  --heap-growing-percent  V8 grows the heap by this % of the live heap between full GCs
                      (default 30; 0 = V8's own, which lets garbage reach ~3× the live heap)
  --max-heap-mb       V8 old-space cap, MB (node --max-old-space-size=N, the CLI runs itself
                      again); e.g. 1500 keeps 10k nodes, steady, 10 broadcasts under 2 GB RSS.
                      Too low for the live heap: out of memory (default 0 = no cap)
  --semi-space-mb     V8 young-generation semi-space, MB: the CLI runs itself again with
                      node --max-semi-space-size=N unless node already has it
                      (default 64 from 5000 nodes, else 32; 0 = V8's own, 16 MB)
  --help
${PAGES_HELP}`

async function main (): Promise<void> {
  // msgpackr's native decoder returns every string of a frame as a slice of one string holding
  // all of them, so a peer id kept from a frame (a stored payload's origin, an origin count)
  // keeps the whole frame's text alive: at 1k nodes, Plumtree, ~6 KB per node after the build
  // and ~250 B per node per broadcast in flight. The JS decoder returns flat strings; the
  // variable is read when msgpackr loads, hence the imports below come after it (and the
  // re-executed child inherits it). Decoding is the same msgpack, so nothing measured changes.
  process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true'
  const [{ writeResults }, { runScenario }, { mb, MODES, SCENARIOS }] = await Promise.all([import('./report.js'), import('./scenarios.js'), import('./sim.js')])
  // `pnpm bench:sim -- --nodes 10000` hands the script a leading `--`
  const argv = process.argv.slice(2)
  if (argv[0] === '--') argv.shift()
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', default: 'steady' },
      nodes: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      broadcasts: { type: 'string' },
      'flood-broadcasts': { type: 'string' },
      modes: { type: 'string' },
      limit: { type: 'string' },
      spacing: { type: 'string' },
      publishers: { type: 'string' },
      fractions: { type: 'string' },
      'churn-rounds': { type: 'string' },
      'churn-rate': { type: 'string' },
      loss: { type: 'string' },
      window: { type: 'string' },
      'shuffle-interval': { type: 'string' },
      'heartbeat-interval': { type: 'string' },
      'settle-rounds': { type: 'string' },
      'seed-nodes': { type: 'string' },
      'seeds-per-node': { type: 'string' },
      'node-options': { type: 'string' },
      out: { type: 'string' },
      'heap-growing-percent': { type: 'string' },
      'max-heap-mb': { type: 'string' },
      'semi-space-mb': { type: 'string' },
      help: { type: 'boolean', default: false },
      ...PAGES_FLAGS
    },
    allowPositionals: false,
    strict: true
  })
  if (values.help) { process.stdout.write(HELP); return }
  const log = (line: string): void => { process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`) }
  const out = values.out ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'results')
  if (values.scenario === 'pages') {
    // its own flags, seeds list and results files (pages-cli.ts)
    const { runPagesCli } = await import('./pages-cli.js')
    const files = await runPagesCli(values, out, log)
    log(`pages done, peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} MB; wrote ${files.map(f => path.relative(process.cwd(), f)).join(', ')}`)
    return
  }
  const int = (name: string, v: string | undefined, min = 0): number | undefined => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}`)
    return n
  }
  const float = (name: string, v: string | undefined, lo: number, hi: number): number | undefined => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!(n >= lo && n <= hi)) throw new UsageError(`--${name} must be a number in [${lo}, ${hi}]`)
    return n
  }
  const scenarios: ScenarioName[] = values.scenario === 'all'
    ? [...SCENARIOS]
    : values.scenario.split(',').map(s => {
      if (!(SCENARIOS as readonly string[]).includes(s)) throw new UsageError(`unknown scenario "${s}" (${SCENARIOS.join(', ')}, all)`)
      return s as ScenarioName
    })
  const modes = values.modes?.split(',').map(m => {
    if (!(MODES as readonly string[]).includes(m)) throw new UsageError(`unknown mode "${m}" (flood, plumtree)`)
    return m as Mode
  })
  const config: ScenarioOptions['config'] = {}
  const limit = int('limit', values.limit, 1)
  if (limit !== undefined) config.limit = limit
  const si = int('shuffle-interval', values['shuffle-interval'], 1)
  if (si !== undefined) config.shuffleInterval = si
  const hb = int('heartbeat-interval', values['heartbeat-interval'], 1)
  if (hb !== undefined) config.heartbeatInterval = hb
  const settle = int('settle-rounds', values['settle-rounds'])
  if (settle !== undefined) config.settleRounds = settle
  const seedNodes = int('seed-nodes', values['seed-nodes'], 1)
  if (seedNodes !== undefined) config.seedNodes = seedNodes
  const spn = int('seeds-per-node', values['seeds-per-node'], 1)
  if (spn !== undefined) config.seedsPerNode = spn
  if (values['node-options'] !== undefined) {
    let parsed: unknown
    try { parsed = JSON.parse(values['node-options']) } catch { throw new UsageError('--node-options must be a JSON object') }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('--node-options must be a JSON object')
    config.nodeOptions = parsed as Record<string, unknown>
  }
  const window = float('window', values.window, 10, 86400)
  const fractions = values.fractions?.split(',').map(f => float('fractions', f, 0, 1)!)
  const opts: ScenarioOptions = {
    nodes: int('nodes', values.nodes, 2)!,
    seed: int('seed', values.seed)!,
    modes,
    broadcasts: int('broadcasts', values.broadcasts, 1),
    floodBroadcasts: int('flood-broadcasts', values['flood-broadcasts'], 1),
    spacingMs: int('spacing', values.spacing),
    publishers: int('publishers', values.publishers),
    fractions,
    churnRounds: int('churn-rounds', values['churn-rounds'], 1),
    churnRate: float('churn-rate', values['churn-rate'], 0, 1),
    loss: float('loss', values.loss, 0, 1),
    windowMs: window === undefined ? undefined : window * 1000,
    config,
    log
  }
  // Peak RSS: V8's default lets the old space grow to 2–4× the live heap before a full GC while
  // the sim allocates fast (frames, timers, promises): at 1k nodes peak RSS was 560 MB with it,
  // 270 MB with 30 %, at the same wall time (10 % saved 4 % more and cost 40 % wall at 2k). A
  // flag given to node itself wins.
  const growth = int('heap-growing-percent', values['heap-growing-percent']) ?? 30
  // V8 sizes the young generation at start-up only, hence the second process. With 16 MB semi-
  // spaces, frames and timers that live a few virtual ms survive two scavenges, land in the old
  // space and fragment it: at 10k nodes (flood, steady) peak RSS was 2.4 GB with the default
  // and 2.0 GB with 64 MB, and the build ran faster. Below a few thousand nodes the bigger
  // young generation costs more RSS than it saves (1k: 270 → 350 MB). 32 MB below that: at 1k
  // nodes (Plumtree, steady, 100 broadcasts) it cut CPU time from 55 to 45 s against V8's own
  // 16 MB (same as 0), for ~50 MB more peak RSS; 128 MB was no faster than 32.
  const semi = int('semi-space-mb', values['semi-space-mb']) ?? (Number(values.nodes) >= 5000 ? 64 : 32)
  // A cap on the old space makes V8 collect harder instead of growing past it: 10k nodes,
  // Plumtree, steady with 10 broadcasts peaked at 2.2 GB RSS uncapped and 1.8 GB with 1500 MB,
  // same rows, 14 % more wall. Too low a cap for the live heap ends the run out of memory, so
  // there is no default: the live heap grows with nodes and with broadcasts in flight.
  const heap = int('max-heap-mb', values['max-heap-mb']) ?? 0
  const flags: string[] = []
  if (semi > 0 && !process.execArgv.some(a => /^--max[-_]semi[-_]space[-_]size/.test(a))) flags.push(`--max-semi-space-size=${semi}`)
  if (heap > 0 && !process.execArgv.some(a => /^--max[-_]old[-_]space[-_]size/.test(a))) flags.push(`--max-old-space-size=${heap}`)
  if (flags.length > 0) {
    const r = spawnSync(process.execPath, [...process.execArgv, ...flags, fileURLToPath(import.meta.url), ...argv], { stdio: 'inherit' })
    if (r.error !== undefined) throw r.error
    process.exitCode = r.status ?? 1
    return
  }
  if (growth > 0 && !process.execArgv.some(a => /^--heap[-_]growing[-_]percent/.test(a))) v8.setFlagsFromString(`--heap-growing-percent=${growth}`)
  let rejections = 0
  process.on('unhandledRejection', (err) => { if (++rejections <= 5) log(`unhandled rejection: ${String((err as Error)?.stack ?? err)}`) })
  for (const s of scenarios) {
    const started = performance.now()
    log(`scenario ${s}: ${opts.nodes} nodes, seed ${opts.seed}`)
    const rows = await runScenario(s, opts)
    const wall = (performance.now() - started) / 1000
    const files = writeResults(out, s, rows)
    log(`scenario ${s} done in ${wall.toFixed(1)} s wall, peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} MB; wrote ${path.relative(process.cwd(), files.json)}, .md, .svg`)
  }
  if (rejections > 0) log(`${rejections} unhandled rejection(s)`)
  if (process.env.HEARSAY_SIM_CHECK_SIZES === '1') log(`HEARSAY_SIM_CHECK_SIZES: ${(await import('./sim-network.js')).checkedFrames} size-only frames had their msgpack length`)
}

class UsageError extends Error {}

main().catch((err: unknown) => {
  if (err instanceof UsageError || (err as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS') === true) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`)
    process.exitCode = 2
    return
  }
  process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`)
  process.exitCode = 1
})
