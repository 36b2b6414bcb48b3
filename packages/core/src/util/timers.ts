import type { TimerSet } from './clock.js'

/**
 * `node.after(ms, fn)` / `node.every(ms, fn)` (telepathine's timers tied to the node's life):
 * the node's `TimerSet` runs them on the node's clock (virtual in the simulator), and `stop()`
 * clears them, so nothing scheduled this way fires after stop. A callback that throws (or
 * returns a promise that rejects) is reported on the node's `error` event and counted as
 * `drops.timer-error`; an `every` keeps running.
 */

/** Largest delay: setTimeout fires at once above 2^31 − 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1

export type TimerCallback = () => void | Promise<void>

function check (ms: unknown, fn: unknown, min: number): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < min || ms > MAX_TIMER_MS) {
    throw new TypeError(`ms must be a number in ${min === 0 ? '[0' : '(0'}, ${MAX_TIMER_MS}]`)
  }
  if (typeof fn !== 'function') throw new TypeError('fn must be a function')
}

function guarded (fn: TimerCallback, onError: (err: unknown) => void): () => void {
  return () => {
    try {
      const r = fn()
      if (r !== undefined && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, onError)
    } catch (err) { onError(err) }
  }
}

/** Runs `fn` once after `ms` (≥ 0); returns a function that cancels it. */
export function scheduleAfter (timers: TimerSet, ms: number, fn: TimerCallback, onError: (err: unknown) => void): () => void {
  check(ms, fn, 0)
  return timers.after(ms, guarded(fn, onError))
}

/** Runs `fn` every `ms` (> 0), the next run scheduled when the previous returns; returns a function that cancels it. */
export function scheduleEvery (timers: TimerSet, ms: number, fn: TimerCallback, onError: (err: unknown) => void): () => void {
  check(ms, fn, Number.MIN_VALUE)
  return timers.every(ms, guarded(fn, onError))
}
