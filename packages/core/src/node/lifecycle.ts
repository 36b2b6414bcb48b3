import { NotStartedError } from '../util/errors.js'
import type { NodeStatus } from '../link/context.js'

/**
 * A node's life: its status, the signal aborted when it stops (a new one for every run), and the
 * hooks that run when it stops. One list of hooks instead of one 'abort' listener each on the
 * signal: more than ten at once make Node warn of a leak although every one is removed.
 */
export class Lifecycle {
  status: NodeStatus = 'idle'
  #lifetime = new AbortController()
  /** What waits for `stop()` while it runs (dials, inbound handshakes, announces): once. */
  readonly #stopHooks = new Set<(reason: unknown) => void>()
  /** Runs at the start of every stop() (not once, as whenStopping's hooks do). */
  readonly #everyStop = new Set<() => void>()

  get signal (): AbortSignal { return this.#lifetime.signal }

  /** `start()` begins: throws unless idle or stopped; a stopped node gets a fresh signal. */
  beginStart (): void {
    if (this.status !== 'idle' && this.status !== 'stopped') throw new NotStartedError(`start() called while ${this.status}`)
    this.status = 'starting'
    if (this.#lifetime.signal.aborted) this.#lifetime = new AbortController()
  }

  /** Runs `fn` once when the node starts stopping (at once if it already has); returns the canceller. */
  whenStopping (fn: (reason: unknown) => void): () => void {
    if (this.#lifetime.signal.aborted) { fn(this.#lifetime.signal.reason); return () => {} }
    this.#stopHooks.add(fn)
    return () => { this.#stopHooks.delete(fn) }
  }

  /** Runs `fn` at the start of every `stop()` for the node's whole life. */
  onEveryStop (fn: () => void): () => void {
    this.#everyStop.add(fn)
    return () => { this.#everyStop.delete(fn) }
  }

  /** `stop()` begins: `stopping`, the signal aborts, then every stop hook runs. */
  beginStop (): void {
    this.status = 'stopping'
    this.#lifetime.abort(new NotStartedError('The node is stopping'))
    for (const hook of [...this.#stopHooks]) hook(this.#lifetime.signal.reason)
    this.#stopHooks.clear()
    for (const hook of [...this.#everyStop]) hook()
  }

  assertRunning (): void {
    if (this.status !== 'running') throw new NotStartedError(`The node is ${this.status}`)
  }

  /** Timers may be set before start and while running, not while or after stopping. */
  assertAlive (): void {
    if (this.status === 'stopping' || this.status === 'stopped') throw new NotStartedError(`The node is ${this.status}`)
  }
}
