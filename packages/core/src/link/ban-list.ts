import { ExpiringMap } from '../util/expiring-map.js'

/**
 * Keys (peer ids, remote addresses) refused for `banMs` after being banned. Bounded: past
 * `maxEntries` the oldest ban is forgotten first, so an attacker with many addresses costs
 * memory only up to the bound.
 */
export class BanList<R extends string = string> {
  readonly #bans: ExpiringMap<string, R>

  constructor (readonly banMs: number, readonly maxEntries: number) {
    this.#bans = new ExpiringMap(maxEntries, banMs)
  }

  get size (): number { return this.#bans.size }

  /** Bans `key` from `now` for `banMs` (a ban in force is extended). */
  ban (key: string, reason: R, now: number): void { this.#bans.set(key, reason, now) }

  /** The reason `key` is banned at `now`, or undefined. */
  reason (key: string, now: number): R | undefined { return this.#bans.get(key, now) }

  has (key: string, now: number): boolean { return this.#bans.get(key, now) !== undefined }

  unban (key: string): boolean { return this.#bans.delete(key) }

  /** Keys banned at `now`, oldest first. */
  keys (now: number): string[] { return this.#bans.keys(now) }
}

/**
 * Counts offences per key in a fixed window that starts at the key's first offence: "N within
 * `windowMs`". Bounded like every cache: the key seen longest ago is forgotten first.
 */
export class OffenceCounter {
  readonly #counts: ExpiringMap<string, { n: number, since: number }>

  constructor (readonly windowMs: number, maxEntries: number) {
    this.#counts = new ExpiringMap(maxEntries, windowMs)
  }

  get size (): number { return this.#counts.size }

  /** Records one offence by `key` at `now`; returns the offences in its current window. */
  add (key: string, now: number): number {
    const c = this.#counts.get(key, now)
    const next = c === undefined || now - c.since >= this.windowMs ? { n: 1, since: now } : { n: c.n + 1, since: c.since }
    this.#counts.set(key, next, now)
    return next.n
  }

  /** Forgets `key` (after it was banned: the ban, not the count, keeps it out). */
  clear (key: string): void { this.#counts.delete(key) }
}
