import type { Clock } from '../../util/clock.js'
import { systemClock } from '../../util/clock.js'

/**
 * The wall clock (ms since the epoch) that state expiry and event durations use: `Date.now`
 * when the node runs on the system clock, the injected clock itself otherwise (the simulator's
 * virtual time is shared by all its nodes, which is all that matters there).
 */
export function wallClock (clock: Clock, override?: () => number): () => number {
  if (override !== undefined) {
    if (typeof override !== 'function') throw new TypeError('now must be a function')
    return override
  }
  return clock === systemClock ? Date.now : clock.now
}
