import type { PeerStore, StatEvent } from './peer-store.js'

export interface StatRecorderOptions {
  /** Longest time an event waits in memory before it is written, ms. 0 writes at the next timer tick. */
  flushInterval: number
  /** Events waiting that trigger a write at once. */
  maxBatch: number
  /** Schedules `fn` after `ms`; returns a cancel function (the node's lifetime timers). */
  schedule: (ms: number, fn: () => void) => () => void
  /** A write failed (the event is lost; the node counts `store.errors` and logs). */
  onError: (err: unknown, address: string) => void
}

/**
 * Batches the node's stat events (dial outcomes, peer-exchange counts, round-trip times) in
 * memory and writes them to the peer store every `flushInterval` ms, or as soon as `maxBatch`
 * events wait, and once more when the node stops. `add()` is synchronous and never touches the
 * store, so nothing on the message path waits for storage. Consecutive `rx`/`tx` events of one
 * address are merged into one; nothing is ever dropped before `close()`.
 */
export class StatRecorder {
  #pending = new Map<string, StatEvent[]>()
  #count = 0
  #cancelTimer: (() => void) | undefined
  readonly #inflight = new Set<Promise<void>>()
  #closed = false
  /** Events accepted, written (or failed) and refused after `close()`, for metrics and tests. */
  readonly counts = { added: 0, written: 0, failed: 0, refused: 0, flushes: 0 }

  constructor (private readonly store: PeerStore, private readonly opts: StatRecorderOptions) {
    if (!(opts.flushInterval >= 0)) throw new TypeError('statsFlushInterval must be a number >= 0')
    if (!Number.isSafeInteger(opts.maxBatch) || opts.maxBatch < 1) throw new TypeError('statsMaxBatch must be an integer >= 1')
  }

  /** Events waiting to be written. */
  get waiting (): number { return this.#count }

  /** Queues one event. After `close()` events are refused (counted), not written. */
  add (address: string, event: StatEvent): void {
    if (this.#closed) { this.counts.refused++; return }
    this.counts.added++
    const list = this.#pending.get(address)
    if (list === undefined) {
      this.#pending.set(address, [event])
    } else {
      const last = list[list.length - 1]!
      if ((event.type === 'rx' || event.type === 'tx') && last.type === event.type) {
        list[list.length - 1] = { type: event.type, count: last.count + event.count }
      } else {
        list.push(event)
      }
    }
    if (++this.#count >= this.opts.maxBatch) { void this.flush(); return }
    this.#cancelTimer ??= this.opts.schedule(this.opts.flushInterval, () => {
      this.#cancelTimer = undefined
      void this.flush()
    })
  }

  /** Writes everything waiting; resolves when it and every earlier write have settled. Never rejects. */
  async flush (): Promise<void> {
    this.#cancelTimer?.()
    this.#cancelTimer = undefined
    if (this.#count > 0) {
      const batch = this.#pending
      this.#pending = new Map()
      this.#count = 0
      this.counts.flushes++
      const writes: Array<Promise<void>> = []
      // every record() is called now, in order; the store groups them into as few writes as it can
      for (const [address, events] of batch) {
        for (const event of events) {
          let p: Promise<void>
          try { p = this.store.record(address, event) } catch (err) { p = Promise.reject(err) }
          writes.push(p.then(() => { this.counts.written++ }, (err: unknown) => {
            this.counts.failed++
            this.opts.onError(err, address)
          }))
        }
      }
      const all = Promise.all(writes).then(() => {})
      this.#inflight.add(all)
      void all.then(() => { this.#inflight.delete(all) })
    }
    await Promise.all([...this.#inflight])
  }

  /** Takes events again after `close()` (the node started again). */
  reopen (): void { this.#closed = false }

  /** Flushes and refuses later events. Idempotent. */
  async close (): Promise<void> {
    this.#closed = true
    await this.flush()
  }
}
