/**
 * Remembers which message ids were already seen, so gossip is processed once. Bounded by
 * count and by age so that a flood of fresh ids cannot grow memory without limit.
 */
export interface DedupCacheOptions {
  /** Most ids kept; beyond it the oldest are forgotten first. @default 10000 */
  maxEntries?: number
  /** How long an id is remembered after it was first added, in ms. @default 120000 */
  maxAgeMs?: number
}

export class DedupCache {
  readonly maxEntries: number
  readonly maxAgeMs: number
  // A Map iterates in insertion order, and ids are inserted with non-decreasing `now`, so the
  // first entry is always the oldest: both bounds evict from the head in O(1).
  readonly #seen = new Map<string, number>()

  constructor ({ maxEntries = 10_000, maxAgeMs = 120_000 }: DedupCacheOptions = {}) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer')
    if (!(maxAgeMs > 0)) throw new TypeError('maxAgeMs must be positive')
    this.maxEntries = maxEntries
    this.maxAgeMs = maxAgeMs
  }

  /** Ids stored, including expired ones that `prune` has not removed yet. */
  get size (): number { return this.#seen.size }

  has (id: string, now: number): boolean {
    const at = this.#seen.get(id)
    return at !== undefined && now - at < this.maxAgeMs
  }

  /**
   * Records `id`; true if it was not already (still) known. Re-adding a known id does not
   * refresh its age: an id looping through the network must not keep itself alive forever.
   */
  add (id: string, now: number): boolean {
    const at = this.#seen.get(id)
    if (at !== undefined) {
      if (now - at < this.maxAgeMs) return false
      // expired: re-insert so that it moves to the tail and the order stays sorted by time
      this.#seen.delete(id)
    }
    this.#seen.set(id, now)
    this.prune(now)
    return true
  }

  /** Drops expired ids and any excess over `maxEntries`, oldest first. */
  prune (now: number): void {
    for (const [id, at] of this.#seen) {
      if (this.#seen.size <= this.maxEntries && now - at < this.maxAgeMs) break
      this.#seen.delete(id)
    }
  }

  clear (): void { this.#seen.clear() }
}
