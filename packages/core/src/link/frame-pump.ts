import type { Clock } from '../util/clock.js'
import { toAbortError } from '../util/abort.js'
import { ConnectionClosedError, TimeoutError, TooLargeError } from '../util/errors.js'
import { DEFAULT_HIGH_WATER_MARK } from '../util/limits.js'
import type { Connection } from './transport.js'

/** Where frames go after the handshake; `transient` as in `ConnectionHandlers`. */
interface Sink { onMessage: (f: Uint8Array) => void, onClose: (r?: Error) => void, readonly transient?: boolean }

/**
 * Reads a connection one frame at a time during a handshake, then hands every later frame
 * (in order) to `takeover`. Owns the connection's single handler slot.
 */
export class FramePump {
  #queue: Uint8Array[] = []
  #queuedBytes = 0
  #waiter: { resolve: (f: Uint8Array) => void, reject: (e: Error) => void } | undefined
  #failure: Error | undefined
  #sink: Sink | undefined

  /**
   * `maxFrameBytes`: the largest frame the connection carries. Frames that arrive before the
   * handshake has read them are queued up to twice that (at least 1 MiB, as a connection
   * buffers before its consumer attaches): an unauthenticated peer that floods the handshake
   * is cut off instead of growing this queue without bound.
   */
  constructor (private readonly conn: Connection, maxFrameBytes = 0) {
    const maxQueued = Math.max(DEFAULT_HIGH_WATER_MARK, 2 * maxFrameBytes)
    const sink = (): Sink | undefined => this.#sink
    conn.setHandlers({
      onMessage: (f) => {
        if (this.#sink !== undefined) { this.#sink.onMessage(f); return }
        if (this.#waiter !== undefined) { const w = this.#waiter; this.#waiter = undefined; w.resolve(f); return }
        this.#queuedBytes += f.length
        if (this.#queuedBytes > maxQueued) {
          this.#queue = []
          conn.close(new TooLargeError('Too many bytes received during the handshake'))
          return
        }
        this.#queue.push(f)
      },
      // the handshake keeps what it queues; the sink that takes over may not (the secure channel)
      get transient () { return sink()?.transient === true },
      onClose: (r) => {
        if (this.#sink !== undefined) { this.#sink.onClose(r); return }
        this.#failure = new ConnectionClosedError('connection closed during the handshake', { cause: r })
        if (this.#waiter !== undefined) { const w = this.#waiter; this.#waiter = undefined; w.reject(this.#failure) }
      }
    })
  }

  /** The next frame, or a rejection when the connection closes, the deadline passes or the signal aborts. */
  async next (deadline: { clock: Clock, at: number, signal?: AbortSignal }): Promise<Uint8Array> {
    const queued = this.#queue.shift()
    if (queued !== undefined) { this.#queuedBytes -= queued.length; return queued }
    if (this.#failure !== undefined) throw this.#failure
    return await new Promise<Uint8Array>((resolve, reject) => {
      const { clock, signal } = deadline
      const onAbort = (): void => { cleanup(); this.#waiter = undefined; reject(toAbortError(signal?.reason)) }
      const timer = clock.setTimeout(() => { cleanup(); this.#waiter = undefined; reject(new TimeoutError('handshake timed out')) }, Math.max(0, deadline.at - clock.now()))
      const cleanup = (): void => { clock.clearTimeout(timer); signal?.removeEventListener('abort', onAbort) }
      if (signal?.aborted === true) { onAbort(); return }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiter = {
        resolve: (f) => { cleanup(); resolve(f) },
        reject: (e) => { cleanup(); reject(e) }
      }
    })
  }

  /** Routes every later frame (starting with any already queued) to `sink`, calling its methods on it. */
  takeover (sink: Sink): void {
    this.#sink = sink
    const q = this.#queue
    this.#queue = []
    this.#queuedBytes = 0
    for (const f of q) sink.onMessage(f)
    if (this.#failure !== undefined) sink.onClose(this.#failure.cause as Error | undefined)
  }
}
