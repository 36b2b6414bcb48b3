/**
 * A map bounded by entry count (oldest evicted first) and by age. Every cache on the message
 * path uses it, so that no cache grows without bound (peernet's request maps did).
 */
export class ExpiringMap<K, V> {
  readonly #entries = new Map<K, { value: V, at: number }>()
  constructor (readonly maxEntries: number, readonly maxAgeMs: number) {
    if (!(maxEntries >= 1) || !(maxAgeMs > 0)) throw new TypeError('maxEntries and maxAgeMs must be positive')
  }

  get size (): number { return this.#entries.size }

  set (key: K, value: V, now: number): void {
    this.#entries.delete(key)
    this.#entries.set(key, { value, at: now })
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
  }

  get (key: K, now: number): V | undefined {
    const e = this.#entries.get(key)
    if (e === undefined) return undefined
    if (now - e.at > this.maxAgeMs) { this.#entries.delete(key); return undefined }
    return e.value
  }

  /** Replaces the value of a live key, keeping its age and place; false if the key is absent or expired. */
  replace (key: K, value: V, now: number): boolean {
    const e = this.#entries.get(key)
    if (e === undefined || now - e.at > this.maxAgeMs) return false
    e.value = value
    return true
  }

  delete (key: K): boolean { return this.#entries.delete(key) }

  /** Live keys, oldest first. */
  keys (now: number): K[] {
    this.prune(now)
    return [...this.#entries.keys()]
  }

  /** Drops expired entries; insertion order is age order, so it stops at the first live one. */
  prune (now: number): void {
    for (const [k, e] of this.#entries) {
      if (now - e.at <= this.maxAgeMs) return
      this.#entries.delete(k)
    }
  }
}
