/**
 * Peer-store write benchmark: stat updates per second through the node's batching (core's
 * `StatRecorder`, configured as `createNode()` configures it, writing into `levelStore`), next to
 * classic-level's own batched-put ceiling measured in the same run on the same disk.
 *
 *   node dist/store-bench.js [--updates 200000] [--addresses 1000] [--raw 500000] [--dir /tmp/x] [--json]
 *
 * Needs `@hearsay/store-level` and `level` (classic-level in Node) at run time. They are loaded
 * with dynamic imports so that this file type-checks with `@hearsay/core` alone; `runStoreBench`
 * takes them as arguments, which is how the store-level tests run it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { DEFAULTS, StatRecorder } from '@hearsay/core'
import type { PeerStore, StatEvent } from '@hearsay/core'

/** The parts of an abstract-level database the ceiling measurement uses. */
export interface RawLevel {
  open: () => Promise<void>
  close: () => Promise<void>
  batch: (ops: Array<{ type: 'put', key: string, value: Uint8Array }>) => Promise<void>
}

export interface StoreBenchDeps {
  /** `levelStore` from `@hearsay/store-level`. */
  levelStore: (opts: { location: string }) => PeerStore & { flush: () => Promise<void>, readonly corrupt: number }
  /** `Level` from `level` (classic-level in Node), for the raw ceiling. */
  Level: new (location: string, opts: { keyEncoding: 'utf8', valueEncoding: 'view' }) => RawLevel
}

export interface StoreBenchOptions {
  /** Directory for the databases (deleted afterwards). @default a new temporary directory */
  dir?: string
  /** Stat updates sent through the node's batching per scenario. @default 200000 */
  updates?: number
  /** Distinct addresses they are spread over in the `realistic` scenario. @default 1000 */
  addresses?: number
  /** Raw puts for the ceiling. @default 500000 */
  rawPuts?: number
  /** Puts per raw batch. @default 1000 */
  rawBatch?: number
  /** Stat updates added between two yields to the event loop (events arrive over time). @default 1000 */
  chunk?: number
}

export interface Rate { count: number, ms: number, perSecond: number }

export interface StoreBenchResult {
  /** classic-level `batch()` of `rawBatch` puts each: the ceiling. */
  rawBatchedPuts: Rate & { batch: number }
  /** Updates over `addresses` addresses (many per address per flush: merged in memory, one row write each). */
  realistic: Rate & { addresses: number, flushes: number }
  /** Every update to a different address: no merging, one row read-modify-write per update. */
  distinct: Rate & { flushes: number }
  /** The recorder's settings (the node's defaults). */
  recorder: { flushInterval: number, maxBatch: number }
}

const rate = (count: number, ms: number): Rate => ({ count, ms: Math.round(ms * 10) / 10, perSecond: Math.round(count / (ms / 1000)) })
const tick = async (): Promise<void> => { await new Promise<void>(resolve => { setImmediate(resolve) }) }

async function rawCeiling (deps: StoreBenchDeps, location: string, puts: number, batch: number): Promise<Rate & { batch: number }> {
  const db = new deps.Level(location, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  // a value of the size of a stored stats row (version byte + msgpack of 7 fields)
  const value = new Uint8Array(40).fill(7)
  const started = performance.now()
  for (let i = 0; i < puts; i += batch) {
    const ops: Array<{ type: 'put', key: string, value: Uint8Array }> = []
    for (let j = i; j < Math.min(puts, i + batch); j++) ops.push({ type: 'put', key: `a!tcp://10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}:4001`, value })
    await db.batch(ops)
  }
  const ms = performance.now() - started
  await db.close()
  return { ...rate(puts, ms), batch }
}

function eventFor (i: number): StatEvent {
  switch (i % 5) {
    case 0: return { type: 'dial-ok' }
    case 1: return { type: 'dial-fail' }
    case 2: return { type: 'rx', count: 1 }
    case 3: return { type: 'tx', count: 1 }
    default: return { type: 'rtt', ms: 10 + (i % 7) }
  }
}

/** Sends `updates` events for `addressOf(i)` through a StatRecorder into a fresh levelStore; checks the totals. */
async function throughNode (deps: StoreBenchDeps, location: string, updates: number, chunk: number, addressOf: (i: number) => string): Promise<Rate & { flushes: number }> {
  const store = deps.levelStore({ location })
  await store.getIdentity() // opened before the clock starts
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let errors = 0
  const recorder = new StatRecorder(store, {
    flushInterval: DEFAULTS.statsFlushInterval,
    maxBatch: DEFAULTS.statsMaxBatch,
    schedule: (ms, fn) => {
      const t = setTimeout(() => { timers.delete(t); fn() }, ms)
      timers.add(t)
      return () => { clearTimeout(t); timers.delete(t) }
    },
    onError: () => { errors++ }
  })
  const started = performance.now()
  for (let i = 0; i < updates; i++) {
    recorder.add(addressOf(i), eventFor(i))
    if ((i + 1) % chunk === 0) await tick()
  }
  await recorder.close()
  const ms = performance.now() - started
  for (const t of timers) clearTimeout(t)
  // every update must be in the store: ok + fail + rx + tx + rtt samples
  let total = 0
  for await (const row of store.known()) total += row.stats.connections.ok + row.stats.connections.fail + row.stats.nodes.rx + row.stats.nodes.tx
  const rttEvents = Math.floor(updates / 5) // i % 5 === 4
  await store.close()
  if (errors > 0) throw new Error(`${errors} store writes failed`)
  if (total !== updates - rttEvents) throw new Error(`lost counts: expected ${updates - rttEvents}, found ${total}`)
  if (store.corrupt > 0) throw new Error(`${store.corrupt} corrupt rows`)
  return { ...rate(updates, ms), flushes: recorder.counts.flushes }
}

export async function runStoreBench (deps: StoreBenchDeps, opts: StoreBenchOptions = {}): Promise<StoreBenchResult> {
  const own = opts.dir === undefined
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'hearsay-store-bench-'))
  const updates = opts.updates ?? 200_000
  const addresses = opts.addresses ?? 1000
  const chunk = opts.chunk ?? 1000
  try {
    const rawBatchedPuts = await rawCeiling(deps, path.join(dir, 'raw'), opts.rawPuts ?? 500_000, opts.rawBatch ?? 1000)
    const realistic = await throughNode(deps, path.join(dir, 'realistic'), updates, chunk, i => `tcp://10.0.${(i % addresses) >> 8}.${(i % addresses) & 255}:4001`)
    const distinct = await throughNode(deps, path.join(dir, 'distinct'), updates, chunk, i => `tcp://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:4001`)
    return {
      rawBatchedPuts,
      realistic: { ...realistic, addresses },
      distinct,
      recorder: { flushInterval: DEFAULTS.statsFlushInterval, maxBatch: DEFAULTS.statsMaxBatch }
    }
  } finally {
    if (own) rmSync(dir, { recursive: true, force: true })
  }
}

export function formatStoreBench (r: StoreBenchResult): string {
  const n = (x: number): string => x.toLocaleString('en-US')
  return [
    '| measurement | count | ms | per second |',
    '|---|---:|---:|---:|',
    `| classic-level batched puts (${r.rawBatchedPuts.batch} per batch): the ceiling | ${n(r.rawBatchedPuts.count)} | ${n(r.rawBatchedPuts.ms)} | ${n(r.rawBatchedPuts.perSecond)} |`,
    `| stat updates through the node's batching, ${n(r.realistic.addresses)} addresses | ${n(r.realistic.count)} | ${n(r.realistic.ms)} | ${n(r.realistic.perSecond)} |`,
    `| stat updates through the node's batching, every one a new address | ${n(r.distinct.count)} | ${n(r.distinct.ms)} | ${n(r.distinct.perSecond)} |`,
    '',
    `recorder: flushInterval ${r.recorder.flushInterval} ms, maxBatch ${r.recorder.maxBatch} (the node's defaults); target ≥ 50,000 updates/s`
  ].join('\n')
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const arg = (name: string): string | undefined => { const i = args.indexOf(`--${name}`); return i === -1 ? undefined : args[i + 1] }
  const num = (name: string): number | undefined => { const v = arg(name); return v === undefined ? undefined : Number(v) }
  // variables, not literals: this file must type-check where these packages are not dependencies
  const storeLevel = '@hearsay/store-level'
  const level = 'level'
  const { levelStore } = await import(storeLevel) as Pick<StoreBenchDeps, 'levelStore'>
  const { Level } = await import(level) as Pick<StoreBenchDeps, 'Level'>
  const result = await runStoreBench({ levelStore, Level }, {
    dir: arg('dir'), updates: num('updates'), addresses: num('addresses'), rawPuts: num('raw'), rawBatch: num('batch')
  })
  console.log(args.includes('--json') ? JSON.stringify(result, null, 2) : formatStoreBench(result))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => { console.error(err); process.exit(1) })
}
