/**
 * What every fuzz target shares: the input counts (CI's short run by default, `pnpm fuzz` sets
 * more through the environment), seeded byte mutation, the check that only typed errors escape,
 * and the per-target report `scripts/fuzz.mjs` prints.
 */
import { appendFileSync } from 'node:fs'
import { HearsayError } from '../../src/index.js'
import type { Random } from '../../src/index.js'
import { fullGc } from '../gc.js'

/** Inputs per pure decoder target (`FUZZ_RUNS`). CI: 40k; `pnpm fuzz`: 1M. */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 40_000)
/** Inputs per message type fed through a running node (`FUZZ_NODE_RUNS`). CI: 400; `pnpm fuzz`: 10k. */
export const NODE_RUNS = Number(process.env.FUZZ_NODE_RUNS ?? 400)
export const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed)

/**
 * Records that `target` ran `inputs` inputs in `ms`: printed, and appended as a JSON line to
 * `FUZZ_REPORT` when set (scripts/fuzz.mjs sums them and checks the total).
 */
export function report (target: string, inputs: number, ms: number, extra: Record<string, unknown> = {}): void {
  const line = { target, inputs, ms: Math.round(ms), ...extra }
  console.log(`fuzz ${target}: ${inputs} inputs in ${(ms / 1000).toFixed(1)} s${Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : ''}`)
  const file = process.env.FUZZ_REPORT
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(line)}\n`)
}

/** Mutations of a valid input: bit flips, byte sets, truncation, extension, splices, random bytes. */
export function mutate (r: Random, valid: Uint8Array, opts: { protect?: number, lengthChangeRate?: number } = {}): Uint8Array {
  for (;;) {
    const out = mutateOnce(r, valid, opts)
    if (out.length !== valid.length || out.some((b, i) => b !== valid[i])) return out
  }
}

function mutateOnce (r: Random, valid: Uint8Array, opts: { protect?: number, lengthChangeRate?: number }): Uint8Array {
  const pick = (n: number): number => Math.floor(r.float() * n)
  const lengthChange = r.float() < (opts.lengthChangeRate ?? 0.3)
  if (lengthChange) {
    switch (pick(4)) {
      case 0: return valid.slice(0, pick(valid.length))
      case 1: { const out = new Uint8Array(valid.length + 1 + pick(64)); out.set(valid); out.set(r.bytes(out.length - valid.length), valid.length); return out }
      case 2: return r.bytes(pick(valid.length * 2 + 8))
      default: { const cut = pick(valid.length); return Uint8Array.from([...valid.subarray(0, cut), ...r.bytes(pick(8)), ...valid.subarray(cut)]) }
    }
  }
  const out = valid.slice()
  const from = opts.protect ?? 0
  const n = 1 + pick(4)
  for (let i = 0; i < n; i++) {
    const pos = from + pick(out.length - from)
    if (r.float() < 0.5) out[pos]! ^= 1 << pick(8)
    else out[pos] = pick(256)
  }
  return out
}

/** Runs `fn`; an error that is not a HearsayError with one of the `allowed` codes fails the target. */
export function expectTyped (fn: () => unknown, allowed: string[]): 'ok' | 'rejected' {
  try {
    fn()
    return 'ok'
  } catch (err) {
    if (!(err instanceof HearsayError) || !allowed.includes(err.code)) {
      throw new Error(`untyped or unexpected error escaped: ${String(err)}`, { cause: err })
    }
    return 'rejected'
  }
}

/** `expectTyped` for a function that returns a promise (the handshake steps). */
export async function expectTypedAsync (fn: () => Promise<unknown>, allowed: string[]): Promise<'ok' | 'rejected'> {
  try {
    await fn()
    return 'ok'
  } catch (err) {
    if (!(err instanceof HearsayError) || !allowed.includes(err.code)) {
      throw new Error(`untyped or unexpected error escaped: ${String(err)}`, { cause: err })
    }
    return 'rejected'
  }
}

/** Lets the event loop turn (timers, RPC) inside a long loop. */
export async function yieldToLoop (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}

/** A plain check: `expect` is too slow to call a million times. */
export function check (ok: boolean, message: string): void {
  if (!ok) throw new Error(message)
}

/** Heap in use after a full collection (the test process runs without --expose-gc). */
export function heapAfterGc (): number {
  fullGc()
  return process.memoryUsage().heapUsed
}
