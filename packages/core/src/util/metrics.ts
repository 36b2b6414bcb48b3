/**
 * Named counters and gauges of a node: frames and bytes in and out, handshake failures and
 * drops by reason. The relay renders them as Prometheus text; tests assert on them.
 */
export class Metrics {
  readonly #counters = new Map<string, number>()

  inc (name: string, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by)
  }

  /** Counts a dropped message or frame under `drops.<reason>`. */
  drop (reason: string): void { this.inc(`drops.${reason}`) }

  get (name: string): number { return this.#counters.get(name) ?? 0 }

  snapshot (): Record<string, number> { return Object.fromEntries([...this.#counters].sort(([a], [b]) => a < b ? -1 : 1)) }
}
