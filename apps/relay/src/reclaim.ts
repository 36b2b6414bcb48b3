/**
 * Memory back after a connection flood (issue 18, item 5). A flood of half-open or garbage
 * connections leaves behind thousands of closed sockets' JS objects, and the native memory they
 * hold, as garbage: a relay that goes quiet afterwards allocates too little to trigger a
 * collection, so nothing frees them and its RSS stays where the attack left it (abuse bench:
 * ×1.4–1.7 of the baseline, ~×1.0–1.4 after a full collection). This watches the rate of inbound
 * connections and runs a few full collections, a period apart, when a flood is over.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import type { Logger } from '@hearsay/core'

export interface ReclaimOptions {
  /** Inbound connections so far (the node's `connections.inbound`). */
  count: () => number
  /** A full garbage collection. @default fullGc() */
  gc?: () => void
  logger?: Logger
  /** How often the rate is read, ms. @default 2000 */
  everyMs?: number
  /** Inbound connections in one period that make it a flood. @default 200 (100/s: hundreds of honest joins a second) */
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

/** Full collections after a flood, one a period (2 s) apart. */
const COLLECTIONS = 5

/** Starts watching; returns the function that stops it. The timer does not keep the process alive. */
export function reclaimAfterFloods (o: ReclaimOptions): () => void {
  const everyMs = o.everyMs ?? 2000
  const busy = o.busy ?? 200
  const quiet = o.quiet ?? 20
  let gc = o.gc
  let last = o.count()
  let flood = false
  let pending = 0
  let peak = 0
  const collect = (): boolean => {
    try {
      gc ??= fullGc()
      gc()
      return true
    } catch (err) {
      o.logger?.warn('memory reclaim failed', { err })
      pending = 0
      return false
    }
  }
  const timer = setInterval(() => {
    const now = o.count()
    const n = now - last
    last = now
    if (n >= busy) { flood = true; pending = 0; peak = Math.max(peak, n); return }
    if (pending > 0) {
      // the flood's last sockets close (and become garbage) over the next seconds, and V8 gives
      // back the young generation the flood grew only at a collection that finds the allocation
      // rate low since the one before: a few more collections, a period apart
      pending--
      collect()
      return
    }
    if (!flood || n > quiet) return
    flood = false
    pending = COLLECTIONS - 1
    const rss = process.memoryUsage().rss
    if (!collect()) return
    o.logger?.info('connection flood over: collecting its garbage', { peakConnectionsPerSecond: Math.round(peak * 1000 / everyMs), rss })
    peak = 0
  }, everyMs)
  timer.unref()
  return () => { clearInterval(timer) }
}
