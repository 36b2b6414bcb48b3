/**
 * Time and randomness are injected everywhere so that the simulator can run thousands of
 * nodes in virtual time, deterministically, with the very same code as production.
 */
export type TimerHandle = unknown

export interface Clock {
  /** Milliseconds, monotonic for the life of the clock. */
  now: () => number
  setTimeout: (fn: () => void, ms: number) => TimerHandle
  clearTimeout: (handle: TimerHandle) => void
}

export interface Random {
  /** A float in [0, 1). */
  float: () => number
  /** Fill and return `n` random bytes. */
  bytes: (n: number) => Uint8Array
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => { globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>) }
}

/** Cryptographically strong randomness from the platform (`crypto.getRandomValues`). */
export const systemRandom: Random = {
  float: () => {
    const b = new Uint32Array(2)
    globalThis.crypto.getRandomValues(b)
    // 53 random bits, as Math.random would give, but from the CSPRNG
    return ((b[0]! >>> 5) * 67108864 + (b[1]! >>> 6)) / 9007199254740992
  },
  bytes: (n) => {
    const out = new Uint8Array(n)
    // getRandomValues refuses more than 64 KiB at once
    for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
    return out
  }
}

/**
 * A deterministic generator (sfc32) for tests and the simulator. Never use it for keys that
 * protect anything real.
 */
export function seededRandom (seed: number): Random {
  let a = 0x9e3779b9 ^ seed
  let b = 0x243f6a88 ^ (seed * 31)
  let c = 0xb7e15162
  let d = seed >>> 0
  const next = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return t >>> 0
  }
  for (let i = 0; i < 15; i++) next()
  return {
    float: () => next() / 4294967296,
    bytes: (n) => {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i += 4) {
        const v = next()
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff
      }
      return out
    }
  }
}

/** Timers that can all be cancelled at once: everything a node schedules goes through one. */
export class TimerSet {
  readonly #handles = new Set<TimerHandle>()
  constructor (private readonly clock: Clock) {}

  get size (): number { return this.#handles.size }

  after (ms: number, fn: () => void): () => void {
    const handle = this.clock.setTimeout(() => {
      this.#handles.delete(handle)
      fn()
    }, ms)
    this.#handles.add(handle)
    return () => {
      if (this.#handles.delete(handle)) this.clock.clearTimeout(handle)
    }
  }

  /**
   * Repeats `fn` every `ms` until cancelled; the next tick is scheduled after `fn` returns (not
   * if it throws). One callback for every tick, not two closures per tick: every node runs a few
   * of these, and the simulator runs thousands of nodes.
   */
  every (ms: number, fn: () => void): () => void {
    const handles = this.#handles
    const clock = this.clock
    let stopped = false
    let handle: TimerHandle
    const tick = (): void => {
      handles.delete(handle)
      fn()
      if (stopped) return
      handle = clock.setTimeout(tick, ms)
      handles.add(handle)
    }
    handle = clock.setTimeout(tick, ms)
    handles.add(handle)
    return () => {
      stopped = true
      if (handles.delete(handle)) clock.clearTimeout(handle)
    }
  }

  clear (): void {
    for (const h of this.#handles) this.clock.clearTimeout(h)
    this.#handles.clear()
  }
}
