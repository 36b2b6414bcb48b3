import type { PeerId } from '../wire/identity.js'

/**
 * The phi accrual failure detector (Hayashibara, Défago, Yared, Katayama 2004), computed as
 * in Akka and Cassandra. Instead of a yes/no timeout it gives a suspicion level `phi`: with
 * inter-arrival times modelled as a normal distribution, phi = -log10(P(a heartbeat arrives
 * later than now)). phi 1 means a 10 % chance of being wrong when declaring the peer dead,
 * phi 8 means 1e-8. The detector adapts to each link's own rhythm and jitter.
 */
export interface PhiAccrualOptions {
  /** Inter-arrival samples kept. @default 100 */
  windowSize?: number
  /**
   * Floor for the standard deviation, in ms. Without it a perfectly regular link (simulators,
   * LANs) has a deviation near zero and the first slightly late heartbeat gives phi = ∞.
   * @default 100
   */
  minStdDevMs?: number
  /**
   * Extra pause tolerated on top of the mean interval, in ms (garbage collection, a
   * backgrounded browser tab). Shifts the curve right rather than widening it.
   * @default 0
   */
  acceptableHeartbeatPauseMs?: number
  /**
   * Expected interval before any has been measured, in ms; seeds the window so that a peer
   * that falls silent right after its first heartbeat is still detected.
   * @default 1000
   */
  firstHeartbeatEstimateMs?: number
}

export class PhiAccrual {
  readonly #windowSize: number
  readonly #minStdDevMs: number
  readonly #pauseMs: number
  /**
   * The last `windowSize` intervals, a ring: `count` filled, the oldest at `next` once full.
   * Float32 halves the biggest per-link allocation of a node (100 samples per neighbour);
   * intervals are rounded to it before they enter the sums, so the sums match the window.
   */
  readonly #intervals: Float32Array
  #count = 0
  #next = 0
  #sum = 0
  #sumSq = 0
  #updates = 0
  #last: number | undefined

  constructor ({ windowSize = 100, minStdDevMs = 100, acceptableHeartbeatPauseMs = 0, firstHeartbeatEstimateMs = 1000 }: PhiAccrualOptions = {}) {
    if (!Number.isSafeInteger(windowSize) || windowSize < 2) throw new TypeError('windowSize must be an integer >= 2')
    if (!(minStdDevMs > 0)) throw new TypeError('minStdDevMs must be positive')
    if (!(acceptableHeartbeatPauseMs >= 0)) throw new TypeError('acceptableHeartbeatPauseMs must be >= 0')
    if (!(firstHeartbeatEstimateMs > 0)) throw new TypeError('firstHeartbeatEstimateMs must be positive')
    this.#windowSize = windowSize
    this.#minStdDevMs = minStdDevMs
    this.#pauseMs = acceptableHeartbeatPauseMs
    this.#intervals = new Float32Array(windowSize)
    // Akka's bootstrap: two samples at mean ± mean/4 give the estimate as mean and a
    // deviation of a quarter of it, until real samples push them out.
    const sd = firstHeartbeatEstimateMs / 4
    this.#push(firstHeartbeatEstimateMs - sd)
    this.#push(firstHeartbeatEstimateMs + sd)
  }

  /**
   * Records a heartbeat at `now`. With `sample = false` the interval since the previous one is
   * not learned: a peer coming back after an outage must not teach the detector that
   * outages are normal.
   */
  heartbeat (now: number, sample = true): void {
    if (this.#last !== undefined) {
      if (now < this.#last) return
      const interval = now - this.#last
      // two heartbeats in the same millisecond say nothing about the rhythm
      if (interval === 0) return
      if (sample) this.#push(interval)
    }
    this.#last = now
  }

  /** Time since the last heartbeat at `now` (0 before the first). */
  silence (now: number): number { return this.#last === undefined ? 0 : Math.max(0, now - this.#last) }

  /** Suspicion at `now`: 0 before the first heartbeat, may be `Infinity` after a long silence. */
  phi (now: number): number {
    if (this.#last === undefined) return 0
    const elapsed = now - this.#last
    const n = this.#count
    const mean = this.#sum / n
    const variance = Math.max(0, this.#sumSq / n - mean * mean)
    const sd = Math.max(Math.sqrt(variance), this.#minStdDevMs)
    return phiOf(elapsed, mean + this.#pauseMs, sd)
  }

  /**
   * Whether `phi(now) < threshold`. A silence no longer than the mean (plus the acceptable
   * pause) gives phi ≤ log10 2 ≈ 0.30103, below any threshold above that: then the tail is not
   * computed (a detector asks this on every frame a neighbour sends).
   */
  below (now: number, threshold: number): boolean {
    if (this.#last !== undefined && threshold > PHI_AT_MEAN && now - this.#last <= this.#sum / this.#count + this.#pauseMs) return true
    return this.phi(now) < threshold
  }

  #push (interval: number): void {
    const x = Math.fround(interval)
    if (this.#count < this.#windowSize) {
      this.#intervals[this.#count++] = x
      this.#sum += x
      this.#sumSq += x * x
    } else {
      const old = this.#intervals[this.#next]!
      this.#intervals[this.#next] = x
      this.#next = (this.#next + 1) % this.#windowSize
      this.#sum += x - old
      this.#sumSq += x * x - old * old
    }
    // running sums drift with rounding; recomputing once per window keeps it O(1) amortised
    if (++this.#updates >= this.#windowSize) {
      this.#updates = 0
      this.#sum = 0
      this.#sumSq = 0
      for (let i = 0; i < this.#count; i++) { const v = this.#intervals[i]!; this.#sum += v; this.#sumSq += v * v }
    }
  }
}

/**
 * -log10 of the normal tail beyond `elapsed`, with the logistic approximation of the normal
 * CDF that Akka uses (error < 1.4e-4, and far cheaper than erf).
 */
/** Above phi at a silence equal to the mean, log10 2, with a margin for rounding. */
const PHI_AT_MEAN = 0.302

export function phiOf (elapsed: number, mean: number, stdDev: number): number {
  const y = (elapsed - mean) / stdDev
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y))
  // the two branches avoid cancellation on either side of the mean
  return elapsed > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e))
}

export interface FailureDetectorOptions extends PhiAccrualOptions {
  /**
   * phi above which a peer is declared down. 8 is Akka's default: about one false alarm in
   * 10^8 checks for normally distributed delays; lower detects faster, higher tolerates jitter.
   * @default 8
   */
  threshold?: number
  /**
   * Longest silence tolerated from a peer that said it is paused (a hidden or frozen page, a
   * machine going to sleep: `hs.pause`), ms. While paused, phi is not consulted; past this the
   * peer is declared down as any other.
   * @default 300000
   */
  pausedToleranceMs?: number
}

export interface FailureDetectorChanges {
  /** Peers whose phi crossed the threshold since the last check. */
  down: PeerId[]
  /** Peers reported down before that have sent a heartbeat since. */
  up: PeerId[]
}

/** One phi detector per peer, reporting each down and up transition exactly once. */
export class FailureDetector {
  readonly threshold: number
  readonly #options: PhiAccrualOptions
  readonly pausedToleranceMs: number
  readonly #peers = new Map<PeerId, { detector: PhiAccrual, state: 'up' | 'down' | 'returning', paused: boolean }>()

  constructor ({ threshold = 8, pausedToleranceMs = 300_000, ...options }: FailureDetectorOptions = {}) {
    if (!(threshold > 0)) throw new TypeError('threshold must be positive')
    if (!(pausedToleranceMs >= 0)) throw new TypeError('pausedToleranceMs must be >= 0')
    this.threshold = threshold
    this.pausedToleranceMs = pausedToleranceMs
    this.#options = options
    // fail fast on bad options rather than at the first heartbeat
    void new PhiAccrual(options)
  }

  /** Anything received from `peer` counts as a heartbeat; starts tracking an unknown peer. */
  heartbeat (peer: PeerId, now: number): void {
    const entry = this.#peers.get(peer)
    if (entry === undefined) {
      const detector = new PhiAccrual(this.#options)
      detector.heartbeat(now)
      this.#peers.set(peer, { detector, state: 'up', paused: false })
      return
    }
    if (entry.paused) {
      // a paused peer's beats come when its throttled timers allow: they are not its rhythm
      entry.detector.heartbeat(now, false)
      if (entry.state === 'down') entry.state = 'returning'
    } else if (entry.state === 'up') {
      // a late heartbeat not yet noticed by `check` is still an outage, not a sample
      entry.detector.heartbeat(now, entry.detector.below(now, this.threshold))
    } else {
      entry.detector.heartbeat(now, false)
      entry.state = 'returning'
    }
  }

  /**
   * `peer` said it is paused (`true`) or running again (`false`) at `now`. While paused it is
   * declared down only after `pausedToleranceMs` of silence; the silence of the pause is never
   * learned as an interval. Starts tracking an unknown peer.
   */
  setPaused (peer: PeerId, paused: boolean, now: number): void {
    this.heartbeat(peer, now)
    const entry = this.#peers.get(peer)!
    // the first beat after a pause starts the rhythm afresh (heartbeat without a sample)
    if (entry.paused !== paused) entry.detector.heartbeat(now, false)
    entry.paused = paused
  }

  isPaused (peer: PeerId): boolean { return this.#peers.get(peer)?.paused ?? false }

  /**
   * This node could not hear for a while (it slept, was frozen, or its event loop stalled):
   * every peer's silence restarts at `now`, without a sample, so that none is declared down for
   * a silence that was this node's own. A peer that is really gone is found a few intervals on.
   */
  grace (now: number): void {
    for (const entry of this.#peers.values()) if (entry.state === 'up') entry.detector.heartbeat(now, false)
  }

  /** Stops tracking `peer` (it left the view); no event is reported for it. */
  remove (peer: PeerId): void { this.#peers.delete(peer) }

  has (peer: PeerId): boolean { return this.#peers.has(peer) }

  phi (peer: PeerId, now: number): number { return this.#peers.get(peer)?.detector.phi(now) ?? 0 }

  /** Transitions since the previous call, in the order peers were first seen. */
  check (now: number): FailureDetectorChanges {
    const down: PeerId[] = []
    const up: PeerId[] = []
    for (const [peer, entry] of this.#peers) {
      if (entry.state === 'returning') {
        entry.state = 'up'
        up.push(peer)
      }
      if (entry.state === 'up' && (entry.paused ? entry.detector.silence(now) >= this.pausedToleranceMs : entry.detector.phi(now) >= this.threshold)) {
        entry.state = 'down'
        down.push(peer)
      }
    }
    return { down, up }
  }
}
