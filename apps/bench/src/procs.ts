/**
 * Real processes for the relay load and kill benches: the relay CLI spawned on loopback (its
 * address parsed from the `relay ready` log line, its memory read through a probe preloaded into
 * it), bench children spoken to over IPC, and one registry that kills every child when the bench
 * ends, fails or is interrupted, so that nothing outlives a run.
 */
import { fork, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const children = new Set<ChildProcess>()
let hooked = false

/** Kills every child still running (SIGKILL: nothing to wait for). Idempotent. */
export function killAll (): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  children.clear()
}

function track (c: ChildProcess): ChildProcess {
  children.add(c)
  c.once('exit', () => { children.delete(c) })
  if (!hooked) {
    hooked = true
    process.once('exit', killAll)
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => { killAll(); process.exit(130) })
    }
    process.once('uncaughtException', (err) => { killAll(); console.error(err); process.exit(1) })
    process.once('unhandledRejection', (err) => { killAll(); console.error(err); process.exit(1) })
  }
  return c
}

/** Resolves when `c` exits (at once if it already has). */
export async function exited (c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return
  await new Promise<void>(resolve => { c.once('exit', () => { resolve() }) })
}

/** Rejects after `ms` unless `p` settles first. */
export async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms waiting for ${what}`)) }, ms) })
  try { return await Promise.race([p, timeout]) } finally { clearTimeout(timer) }
}

/** Polls `cond` every `everyMs` until it holds; rejects after `ms`. */
export async function until (cond: () => boolean, ms: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

export async function sleep (ms: number): Promise<void> { await new Promise(resolve => setTimeout(resolve, ms)) }

export const RELAY_CLI = fileURLToPath(new URL('../../relay/dist/cli.js', import.meta.url))
/** The compiled bench files: children run from dist/ also when this module runs from src/ (vitest). */
const DIST = new URL('../dist/', import.meta.url)
const PROBE = fileURLToPath(new URL('relay-probe.js', DIST))

export interface MemorySample {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
  /** process.cpuUsage() of the relay, µs. */
  cpu: { user: number, system: number }
  /** The relay's event-loop delay (p99, max), ms, since the last sample that marked (relay-probe.ts). */
  loopDelayMs?: { p99: number, max: number }
}

export interface RelayProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly id: string
  /** `ws://127.0.0.1:<port>` */
  readonly ws: string
  readonly wsPort: number
  /** Base URL of the relay's HTTP server (`/metrics`, `/status.json`). */
  readonly http: string
  /** Log lines at warn and above, as parsed JSON. */
  readonly warnings: unknown[]
  /** The relay's counters from `GET /metrics`: `frames.out`-style names (`hearsay_frames_out_total` → `frames_out`), drops as `drops.<reason>`. */
  metrics: () => Promise<Record<string, number>>
  /** Memory and CPU of the relay process; `gc` runs two full collections first; `mark` starts a new event-loop delay interval. */
  memory: (gc?: boolean, mark?: boolean) => Promise<MemorySample>
  /** SIGTERM and wait for the exit. */
  stop: () => Promise<void>
  /** SIGKILL (kill -9) and wait for the exit. */
  kill9: () => Promise<void>
}

/**
 * Spawns `hearsay-relay` (apps/relay/dist/cli.js, built by `tsc -b`) with `args`, the memory
 * probe preloaded, `--expose-gc` and `opts.nodeArgs` (Node's own flags); resolves once its `relay ready` line is out.
 */
export async function spawnRelay (args: string[], opts: { readyTimeoutMs?: number, nodeArgs?: string[] } = {}): Promise<RelayProcess> {
  const child = track(spawn(process.execPath, [...(opts.nodeArgs ?? []), '--expose-gc', '--import', PROBE, RELAY_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced', env: cleanEnv() }))
  const warnings: unknown[] = []
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-4000) })
  const ready = new Promise<{ id: string, addresses: string[], http: string }>((resolve, reject) => {
    let buf = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        let rec: { level?: string, msg?: string, id?: string, addresses?: string[], http?: string }
        try { rec = JSON.parse(line) } catch { continue }
        if (rec.msg === 'relay ready' && rec.id !== undefined && rec.addresses !== undefined) resolve({ id: rec.id, addresses: rec.addresses, http: rec.http ?? '' })
        else if (rec.level === 'warn' || rec.level === 'error') { if (warnings.length < 1000) warnings.push(rec) }
      }
    })
    child.once('exit', (code, signal) => { reject(new Error(`the relay exited (${code ?? signal}) before it was ready: ${stderr}`)) })
  })
  let info: { id: string, addresses: string[], http: string }
  try {
    info = await within(ready, opts.readyTimeoutMs ?? 30_000, 'the relay to start')
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  const ws = info.addresses.find(a => a.startsWith('ws://'))
  if (ws === undefined) { child.kill('SIGKILL'); throw new Error(`the relay listens on no ws address: ${info.addresses.join(', ')}`) }
  let seq = 0
  const memory = async (gc = false, mark = false): Promise<MemorySample> => {
    const n = ++seq
    const answer = new Promise<MemorySample>((resolve) => {
      const on = (m: { probe?: string, n?: number } & MemorySample): void => {
        if (m?.probe !== 'mem' || m.n !== n) return
        child.off('message', on)
        resolve(m)
      }
      child.on('message', on)
    })
    child.send({ probe: 'mem', n, gc, mark })
    return await within(answer, 30_000, 'the relay memory probe')
  }
  return {
    child,
    pid: child.pid!,
    id: info.id,
    ws,
    wsPort: Number(new URL(ws).port),
    http: info.http,
    warnings,
    memory,
    metrics: async () => await scrape(info.http),
    stop: async () => { child.kill('SIGTERM'); await within(exited(child), 15_000, 'the relay to stop').catch(() => { child.kill('SIGKILL') }) },
    kill9: async () => { child.kill('SIGKILL'); await exited(child) }
  }
}

/** Forks a bench child (a compiled file in dist/, e.g. `kill-node.js`) with an IPC channel (structured clone). */
export function forkChild (file: string, args: string[] = [], env: Record<string, string> = {}): ChildProcess {
  const path = fileURLToPath(new URL(file, DIST))
  // no inherited execArgv: under vitest it carries `--conditions source`, which would load .ts files
  // BENCH_CPU_PROF_DIR=<dir>: each child writes a V8 CPU profile there when it exits
  const prof = process.env.BENCH_CPU_PROF_DIR
  const execArgv = prof === undefined || prof === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', prof]
  return track(fork(path, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', execArgv, env: { ...cleanEnv(), ...env } }))
}

/** Counters of a Prometheus text page, `hearsay_` and `_total` trimmed; `drops.<reason>` for the drops family. */
async function scrape (base: string): Promise<Record<string, number>> {
  if (base === '') return {}
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })
  const out: Record<string, number> = {}
  for (const line of (await res.text()).split('\n')) {
    const m = /^hearsay_([a-z0-9_]+?)(?:_total)?(?:\{reason="([^"]*)"\})? ([0-9.e+-]+|NaN)$/.exec(line)
    if (m === null) continue
    out[m[2] !== undefined ? `drops.${m[2]}` : m[1]!] = Number(m[3])
  }
  return out
}

/** This process's environment without NODE_OPTIONS (a test runner's loader flags are not the children's). */
function cleanEnv (): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _ignored, ...rest } = process.env
  return rest
}

/** Least-squares slope of `ys` over `xs` (units of y per unit of x). */
export function slope (xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) { num += (xs[i]! - mx) * (ys[i]! - my); den += (xs[i]! - mx) ** 2 }
  return den === 0 ? 0 : num / den
}

/** The value at quantile `q` of ascending `sorted` (nearest rank). */
export function quantileOf (sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export const MiB = 1024 * 1024
export function round (x: number, digits = 1): number { const f = 10 ** digits; return Math.round(x * f) / f }
