/**
 * Memory back after a flood (issue 18, item 5). A flood of half-open or garbage connections
 * leaves behind thousands of closed sockets' JS objects, and the native memory they hold, as
 * garbage, and a peer flooding frames leaves its dropped frames: a relay that goes quiet
 * afterwards allocates too little to trigger a collection, so nothing frees them and its RSS
 * stays where the attack left it (abuse bench: ×1.3–1.7 of the baseline, ×0.9–1.0 after full
 * collections). This watches a rate of abuse events (the relay counts inbound connections and
 * frames dropped over a peer's share) and runs a few full collections, a period apart, when a
 * flood is over (the first at once, the last about 30 s later).
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import type { Logger } from '@hearsay/core'

export interface ReclaimOptions {
  /** Abuse events so far (the relay: `connections.inbound` + `drops.rate-limit`). */
  count: () => number
  /** A full garbage collection. @default fullGc() */
  gc?: () => void
  logger?: Logger
  /** How often the rate is read, ms. @default 2000 */
  everyMs?: number
  /** Events in one period that make it a flood. @default 200 (100/s: more honest joins a second than a relay sees) */
  busy?: number
  /** At most this many in a period after a flood: it is over. @default 20 */
  quiet?: number
}

/**
 * V8's full collection without `--expose-gc` on the command line: the flag set at run time,
 * then read in a fresh context (the flag only reaches contexts made after it).
 */
export function fullGc (): () => void {
  const global = (globalThis as { gc?: () => void }).gc
  if (typeof global === 'function') return global
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as unknown
  if (typeof gc !== 'function') throw new Error('V8 did not expose gc')
  return gc as () => void
}

/**
 * When to collect after a flood, in periods (2 s) after it ended: every period for a while (its
 * last sockets close over the next seconds), then sparser (caches it filled, such as the 10 s
 * Plumtree payload store, let go of it later).
 */
const COLLECT_AT = new Set([1, 2, 3, 4, 5, 6, 8, 10, 15])
const LAST = Math.max(...COLLECT_AT)

/** Starts watching; returns the function that stops it. The timer does not keep the process alive. */
export function reclaimAfterFloods (o: ReclaimOptions): () => void {
  const everyMs = o.everyMs ?? 2000
  const busy = o.busy ?? 200
  const quiet = o.quiet ?? 20
  let gc = o.gc
  let last = o.count()
  let flood = false
  /** Periods since the last flood ended (0: none is being cleaned up after). */
  let since = 0
  let peak = 0
  const collect = (): boolean => {
    try {
      gc ??= fullGc()
      // twice: what the first finds dead behind weak callbacks (sockets' native handles) goes at the second
      gc()
      gc()
      return true
    } catch (err) {
      o.logger?.warn('memory reclaim failed', { err })
      since = 0
      return false
    }
  }
  const timer = setInterval(() => {
    const now = o.count()
    const n = now - last
    last = now
    if (n >= busy) { flood = true; since = 0; peak = Math.max(peak, n); return }
    if (since > 0) {
      // more of the flood becomes garbage over the next seconds, and V8 gives back the young
      // generation it grew only at a collection that finds the allocation rate low since the
      // one before: more collections, at COLLECT_AT
      since = since >= LAST ? 0 : since + 1
      if (COLLECT_AT.has(since)) collect()
      return
    }
    if (!flood || n > quiet) return
    flood = false
    since = 1
    const rss = process.memoryUsage().rss
    if (!collect()) return
    o.logger?.info('connection flood over: collecting its garbage', { peakConnectionsPerSecond: Math.round(peak * 1000 / everyMs), rss })
    peak = 0
  }, everyMs)
  timer.unref()
  return () => { clearInterval(timer) }
}
