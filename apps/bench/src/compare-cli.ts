/**
 * `pnpm bench`: hearsay against js-libp2p gossipsub and a naive ws flood (10 and 20 nodes, same
 * topology), and the two-node secure link against raw ws and raw net, in one run. Each
 * measurement runs in a fresh child process (compare/worker.ts). Writes compare.json,
 * compare.md and compare.svg to the results directory.
 *
 *   node dist/compare-cli.js [--quick] [--out dir] [--sizes 10,20] [--systems a,b] [--seed 1]
 *                            [--payload 256] [--window 400] [--paced-ms 6000] [--saturated-ms 6000] [--link-ms 2000]
 *                            [--repeats 3] [--link-repeats 3] [--link-payloads 64,1024,65536]
 */
import { fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machineInfo, packageVersions } from './compare/machine.js'
import { compareMarkdown, compareSvg } from './compare/report.js'
import { FULL, QUICK, runCompare } from './compare/run.js'
import type { CompareConfig, JobRunner } from './compare/run.js'
import { SYSTEMS } from './compare/systems/index.js'
import type { WorkerJob, WorkerReply } from './compare/worker.js'

const here = path.dirname(fileURLToPath(import.meta.url))
/** A child that does not answer within this long is killed and its row reported as failed. */
const JOB_TIMEOUT_MS = 180_000

const argv = process.argv.slice(2)
// `pnpm bench -- --quick` passes the `--` on
if (argv[0] === '--') argv.shift()
const { values } = parseArgs({
  args: argv,
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(here, '..', 'results') },
    sizes: { type: 'string' },
    systems: { type: 'string' },
    seed: { type: 'string' },
    payload: { type: 'string' },
    window: { type: 'string' },
    'paced-ms': { type: 'string' },
    'saturated-ms': { type: 'string' },
    'link-ms': { type: 'string' },
    'link-repeats': { type: 'string' },
    'link-payloads': { type: 'string' },
    repeats: { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})

if (values.help === true) {
  console.log('usage: pnpm bench [-- --quick] [--out dir] [--sizes 10,20] [--systems ' + Object.keys(SYSTEMS).join(',') + '] [--seed 1] [--payload 256] [--window 400] [--paced-ms ms] [--saturated-ms ms] [--link-ms ms] [--repeats n] [--link-repeats n] [--link-payloads 64,1024,65536]')
  process.exit(0)
}

function positive (name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback
  const x = Number(v)
  if (!Number.isFinite(x) || x < 0) throw new TypeError(`--${name} must be a non-negative number`)
  return x
}

const base = values.quick === true ? QUICK : FULL
const cfg: CompareConfig = {
  ...base,
  seed: positive('seed', values.seed, base.seed),
  sizes: values.sizes?.split(',').map(s => positive('sizes', s, 10)) ?? base.sizes,
  systems: values.systems?.split(',') ?? base.systems,
  driver: {
    ...base.driver,
    payloadBytes: positive('payload', values.payload, base.driver.payloadBytes),
    window: positive('window', values.window, base.driver.window),
    pacedMs: positive('paced-ms', values['paced-ms'], base.driver.pacedMs),
    saturatedMs: positive('saturated-ms', values['saturated-ms'], base.driver.saturatedMs)
  },
  linkMs: positive('link-ms', values['link-ms'], base.linkMs),
  repeats: Math.max(1, positive('repeats', values.repeats, base.repeats)),
  linkRepeats: Math.max(1, positive('link-repeats', values['link-repeats'], base.linkRepeats)),
  linkPayloads: values['link-payloads']?.split(',').map(s => positive('link-payloads', s, 64)) ?? base.linkPayloads
}
for (const s of cfg.systems) if (SYSTEMS[s] === undefined) throw new TypeError(`unknown system "${s}"`)

/** Runs one job in a fresh Node process. */
const runInChild: JobRunner = async (job: WorkerJob) => await new Promise<WorkerReply>((resolve) => {
  const child = fork(path.join(here, 'compare', 'worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let settled = false
  const done = (reply: WorkerReply): void => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    resolve(reply)
  }
  const timer = setTimeout(() => {
    child.kill('SIGKILL')
    done({ ok: false, error: `no answer within ${JOB_TIMEOUT_MS / 1000} s` })
  }, JOB_TIMEOUT_MS)
  child.once('message', (m) => { done(m as WorkerReply) })
  child.once('error', (err) => { done({ ok: false, error: err.message }) })
  child.once('exit', (code, signal) => { done({ ok: false, error: `worker exited (${signal ?? code ?? '?'}) without an answer` }) })
  child.send(job)
})

const result = await runCompare(cfg, {
  runJob: runInChild,
  machine: machineInfo,
  versions: () => packageVersions(),
  log: (line) => { console.error(line) }
})

mkdirSync(values.out, { recursive: true })
writeFileSync(path.join(values.out, 'compare.json'), JSON.stringify(result, null, 2) + '\n')
const md = compareMarkdown(result)
writeFileSync(path.join(values.out, 'compare.md'), md)
writeFileSync(path.join(values.out, 'compare.svg'), compareSvg(result))
console.log(md)
console.error(`wrote compare.json, compare.md and compare.svg to ${values.out}`)
