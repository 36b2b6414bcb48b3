import type { Clock, TimerHandle } from '@hearsay/core'
import { setImmediate as nextMacrotask } from 'node:timers/promises'

/** One scheduled callback; also the handle `setTimeout` returns. */
interface Event {
  at: number
  seq: number
  fn: (() => void) | undefined
}

/**
 * A discrete-event scheduler that implements core's `Clock`. Time only moves when `runUntil` /
 * `runFor` pops events: each event runs at its virtual time, in (time, sequence) order, and the
 * microtasks the node code queues (promise continuations) are drained once after every virtual
 * instant, not after every event, which keeps 10k nodes fast. No real timer is ever armed.
 *
 * Nearly every event falls on a whole millisecond (link latencies and protocol intervals are
 * whole), and many share one: those go into one list per millisecond, in sequence order by
 * construction, and only the distinct milliseconds are kept in a min-heap. Events at fractional
 * times (jittered backoffs) go to a (time, sequence) min-heap of their own; an instant is either
 * whole or fractional, so the two never have to be merged. `clearTimeout` only marks an event
 * dead (it is skipped when its instant comes), so cancelling is O(1).
 */
export class VirtualClock implements Clock {
  private t = 0
  private seq = 0
  /** Events at whole milliseconds, by time; each list is in sequence order. */
  private readonly buckets = new Map<number, Event[]>()
  /** The times of `buckets`: a min-heap of numbers. */
  private readonly times: number[] = []
  /** Events at fractional times: a (time, sequence) min-heap. */
  private readonly heap: Event[] = []
  private live = 0
  private running = false
  /** Callbacks run so far (cancelled ones excluded). */
  eventsRun = 0
  /** Distinct virtual instants processed (each followed by one microtask drain). */
  instants = 0
  /** Callbacks that threw: with real timers these would be uncaught exceptions. */
  errors = 0
  /** Called with every error a callback throws. */
  onError: (err: unknown) => void = () => {}

  readonly now = (): number => this.t

  readonly setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const delay = ms > 0 ? ms : 0 // NaN and negative delays run at once, as with real timers
    const at = this.t + delay
    const ev: Event = { at, seq: this.seq++, fn }
    if (Number.isInteger(at)) {
      const bucket = this.buckets.get(at)
      if (bucket !== undefined) bucket.push(ev)
      else {
        this.buckets.set(at, [ev])
        pushTime(this.times, at)
      }
    } else this.push(ev)
    this.live++
    return ev
  }

  readonly clearTimeout = (handle: TimerHandle): void => {
    const ev = handle as Event | undefined
    if (ev === undefined || ev === null || typeof ev !== 'object' || ev.fn === undefined) return
    ev.fn = undefined
    this.live--
  }

  /** Scheduled callbacks not yet run or cancelled. */
  get pending (): number { return this.live }

  /** Time of the next live event, or undefined. */
  nextAt (): number | undefined {
    this.discardDead()
    for (;;) {
      const b = this.times[0]
      if (b === undefined) break
      if (this.buckets.get(b)!.some(ev => ev.fn !== undefined)) break
      this.buckets.delete(b)
      popTime(this.times)
    }
    const b = this.times[0]
    const h = this.heap[0]?.at
    return b === undefined ? h : h === undefined || b < h ? b : h
  }

  /**
   * Runs every event due at or before `end`, then sets the time to `end`. Microtasks are drained
   * before the first event and after each instant, so promise chains started by one instant
   * (dials, handshakes) settle, and may schedule more events, before time moves on.
   */
  async runUntil (end: number): Promise<void> {
    if (this.running) throw new Error('runUntil is not re-entrant')
    this.running = true
    try {
      await drainMicrotasks()
      for (;;) {
        this.discardDead()
        const b = this.times[0]
        const h = this.heap[0]
        const instant = b === undefined ? h?.at : h === undefined || b < h.at ? b : h.at
        if (instant === undefined || instant > end) break
        let ran = 0
        if (instant === b) {
          // everything due now, including events scheduled with delay 0 by the events themselves
          // (appended to this very list)
          const bucket = this.buckets.get(b)!
          for (let i = 0; i < bucket.length; i++) {
            const ev = bucket[i]!
            const fn = ev.fn
            if (fn === undefined) continue
            if (ran++ === 0) { if (instant > this.t) this.t = instant; this.instants++ }
            ev.fn = undefined
            this.live--
            this.eventsRun++
            try { fn() } catch (err) { this.errors++; this.onError(err) }
          }
          this.buckets.delete(b)
          popTime(this.times)
          if (ran === 0) continue // only cancelled events: not an instant
        } else {
          if (instant > this.t) this.t = instant
          this.instants++
          for (;;) {
            const ev = this.heap[0]
            if (ev === undefined || ev.at > instant) break
            this.pop()
            const fn = ev.fn
            if (fn === undefined) continue
            ev.fn = undefined
            this.live--
            this.eventsRun++
            try { fn() } catch (err) { this.errors++; this.onError(err) }
          }
        }
        await drainMicrotasks()
      }
      if (end > this.t) this.t = end
    } finally {
      this.running = false
    }
  }

  async runFor (ms: number): Promise<void> { await this.runUntil(this.t + ms) }

  private discardDead (): void {
    while (this.heap.length > 0 && this.heap[0]!.fn === undefined) heapPop(this.heap, eventBefore)
  }

  private push (ev: Event): void { heapPush(this.heap, ev, eventBefore) }

  private pop (): void { heapPop(this.heap, eventBefore) }
}

function eventBefore (a: Event, b: Event): boolean { return a.at < b.at || (a.at === b.at && a.seq < b.seq) }
function numberBefore (a: number, b: number): boolean { return a < b }
function pushTime (h: number[], x: number): void { heapPush(h, x, numberBefore) }
function popTime (h: number[]): void { heapPop(h, numberBefore) }

// ---- binary min-heap on an array ----

function heapPush<T> (h: T[], x: T, before: (a: T, b: T) => boolean): void {
  let i = h.length
  h.push(x)
  while (i > 0) {
    const p = (i - 1) >> 1
    const parent = h[p]!
    if (before(parent, x)) break
    h[i] = parent
    i = p
  }
  h[i] = x
}

function heapPop<T> (h: T[], before: (a: T, b: T) => boolean): void {
  const last = h.pop()
  const n = h.length
  if (last === undefined || n === 0) return
  let i = 0
  for (;;) {
    const l = 2 * i + 1
    if (l >= n) break
    const r = l + 1
    let c = l
    if (r < n && before(h[r]!, h[l]!)) c = r
    const child = h[c]!
    if (before(last, child)) break
    h[i] = child
    i = c
  }
  h[i] = last
}

/**
 * Resolves after every queued microtask (and every microtask those queue) has run: a
 * macrotask only starts once the microtask queue is empty.
 */
export async function drainMicrotasks (): Promise<void> {
  await nextMacrotask()
}

/**
 * A node's view of the shared clock that can be frozen: while frozen, due callbacks are
 * dropped, as in a crashed process whose sockets stay open (the simulator's silent death).
 */
export class FreezableClock implements Clock {
  frozen = false
  constructor (private readonly base: VirtualClock) {}
  readonly now = (): number => this.base.now()
  readonly setTimeout = (fn: () => void, ms: number): TimerHandle => this.base.setTimeout(() => { if (!this.frozen) fn() }, ms)
  readonly clearTimeout = (handle: TimerHandle): void => { this.base.clearTimeout(handle) }
}
