import type { Clock } from '../util/clock.js'

/**
 * Token buckets on the injected clock (times in ms), so that the simulator's virtual time and
 * the tests drive them exactly like wall time does.
 */
export class TokenBucket {
  #tokens: number
  #last: number

  /**
   * `ratePerSecond` tokens are added per second, up to `capacity` (the burst allowed after an
   * idle spell). The bucket starts full. A rate of 0 or `Infinity` disables it: `take` always
   * succeeds.
   */
  constructor (readonly ratePerSecond: number, readonly capacity: number, now: number) {
    if (!(ratePerSecond >= 0) || !(capacity >= 0)) throw new TypeError('rate and capacity must be non-negative numbers')
    this.#tokens = capacity
    this.#last = now
  }

  get disabled (): boolean { return this.ratePerSecond === 0 || this.ratePerSecond === Infinity }

  /** Takes `n` tokens if the bucket holds them; false (and nothing taken) otherwise. */
  take (n: number, now: number): boolean {
    if (this.disabled) return true
    this.#refill(now)
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }

  /** Tokens available at `now`. */
  available (now: number): number {
    if (this.disabled) return Infinity
    this.#refill(now)
    return this.#tokens
  }

  /** ms until the bucket holds `n` tokens (0 if it does, or is disabled; `Infinity` above its capacity). */
  msUntil (n: number, now: number): number {
    if (this.disabled) return 0
    if (n > this.capacity) return Infinity
    this.#refill(now)
    return Math.max(0, (n - this.#tokens) * 1000 / this.ratePerSecond)
  }

  #refill (now: number): void {
    // a clock that steps back (or a virtual clock reset) must not mint tokens or freeze the bucket
    const elapsed = Math.max(0, now - this.#last)
    this.#last = now
    if (elapsed > 0) this.#tokens = Math.min(this.capacity, this.#tokens + elapsed * this.ratePerSecond / 1000)
  }
}

/**
 * The inbound meter of one link: a frames bucket and a bytes bucket, each holding one second of
 * its rate (so a stall of up to a second on a link running at half the limit is absorbed).
 */
export class LinkMeter {
  readonly #frames: TokenBucket
  readonly #bytes: TokenBucket

  /** With `clock`, `admit` reads the time from it when it is not given one. */
  constructor (limits: { framesPerSecond: number, bytesPerSecond: number }, now: number, private readonly clock?: Pick<Clock, 'now'>) {
    this.#frames = new TokenBucket(limits.framesPerSecond, limits.framesPerSecond, now)
    this.#bytes = new TokenBucket(limits.bytesPerSecond, limits.bytesPerSecond, now)
  }

  /** ms until both buckets hold `fraction` of their capacity again. */
  refillMs (fraction: number, now: number): number {
    return Math.max(this.#frames.msUntil(this.#frames.capacity * fraction, now), this.#bytes.msUntil(this.#bytes.capacity * fraction, now))
  }

  /** Accounts one received frame of `size` bytes; false when it is over either rate. */
  admit (size: number, now?: number): boolean {
    now ??= this.clock?.now()
    if (now === undefined) throw new TypeError('admit needs the time: pass now, or give the meter a clock')
    // both are checked, so a frame that fails the bytes bucket still cost a frame token: fine,
    // the link is cut off anyway
    return this.#frames.take(1, now) && this.#bytes.take(size, now)
  }
}

/** What a `PeerThrottle` says of one received frame. */
export type ThrottleVerdict = 'pass' | 'drop' | 'cut-off'

/** A peer counts as "still over its rate" while its dropped frames are less than this apart, ms. */
export const THROTTLE_GAP_MS = 1_000

/** A paused peer is read again once its buckets hold this share of their capacity (a quarter second of its rate). */
export const RESUME_FRACTION = 0.25

/**
 * A peer's fair share of the node's inbound work: a `LinkMeter`, and what to do past it. A
 * frame within the rates passes; one over them is dropped (the peer is throttled: it gets its
 * share and no more, and honest links are untouched), and the node stops reading the peer
 * (`pause()`) where its transport can; a peer that stays over its rate for `throttleMs` (drops
 * never more than `THROTTLE_GAP_MS` apart, pauses not counted as gaps) is a flood, and is cut off. `throttleMs` 0 cuts off
 * at the first frame over the rate.
 */
export class PeerThrottle {
  readonly #meter: LinkMeter
  #overSince = -1
  #lastDrop = -Infinity
  #paused = false

  constructor (limits: { framesPerSecond: number, bytesPerSecond: number, throttleMs: number }, private readonly clock: Pick<Clock, 'now'>) {
    if (!(limits.throttleMs >= 0)) throw new TypeError('throttleMs must be a non-negative number')
    this.throttleMs = limits.throttleMs
    this.#meter = new LinkMeter(limits, clock.now(), clock)
  }

  readonly throttleMs: number

  /** True while the peer is over its rate (paused, or it dropped a frame within the last `THROTTLE_GAP_MS`). */
  get throttled (): boolean { return this.#paused || this.clock.now() - this.#lastDrop < THROTTLE_GAP_MS }

  /**
   * How long to stop reading a peer that went over its rate: until its buckets hold
   * `RESUME_FRACTION` of their capacity (each holds one second's worth: at most 250 ms), at
   * least 1 ms.
   */
  pauseMs (): number {
    return Math.max(1, Math.ceil(this.#meter.refillMs(RESUME_FRACTION, this.clock.now())))
  }

  /**
   * The node stops reading the peer, for the ms returned (`pauseMs()`), and calls `resumed()`
   * when it reads it again. A paused peer counts as over its rate until then: the gap to its next
   * drop runs from the resume, not from the drop before the pause (a node too busy to read it
   * again on time must not forget the flood).
   */
  pause (): number {
    this.#paused = true
    return this.pauseMs()
  }

  resumed (): void {
    if (!this.#paused) return
    this.#paused = false
    this.#lastDrop = Math.max(this.#lastDrop, this.clock.now())
  }

  /** Accounts one received frame of `size` bytes. */
  check (size: number): ThrottleVerdict {
    const now = this.clock.now()
    if (this.#meter.admit(size, now)) return 'pass'
    if (!this.#paused && now - this.#lastDrop >= THROTTLE_GAP_MS) this.#overSince = now
    this.#lastDrop = Math.max(this.#lastDrop, now)
    return now - this.#overSince >= this.throttleMs ? 'cut-off' : 'drop'
  }
}
