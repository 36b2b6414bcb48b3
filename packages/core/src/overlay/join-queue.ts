import { QueueFullError } from '../util/errors.js'

export interface JoinQueueLimits {
  /** Most sends held. @default 1000 */
  maxMessages: number
  /** Most encoded bytes held. @default 1048576 */
  maxBytes: number
}

export const JOIN_QUEUE_DEFAULTS: Readonly<JoinQueueLimits> = Object.freeze({ maxMessages: 1000, maxBytes: 1024 * 1024 })

interface Held { bytes: number, send: () => void }

/**
 * Sends made while the node has no overlay neighbour (right after `start()`, in an `online`
 * handler of another kind, or between losing every neighbour and rejoining), held in order and
 * bounded by count and bytes, then sent when the node joins. Without it a broadcast made before
 * the JOIN had landed went nowhere, without a word (smokesignal's `connect` → `broadcast.write`).
 */
export class JoinQueue {
  readonly #held: Held[] = []
  #bytes = 0

  constructor (private readonly limits: JoinQueueLimits) {}

  get size (): number { return this.#held.length }
  get bytes (): number { return this.#bytes }

  /** Holds `send` (whose frame is `bytes` long); `QueueFullError` when it does not fit. */
  push (bytes: number, send: () => void, what: string): void {
    if (this.#held.length >= this.limits.maxMessages || this.#bytes + bytes > this.limits.maxBytes) {
      throw new QueueFullError(`${what} made before the node joined the overlay does not fit in the join queue (${this.#held.length} sends, ${this.#bytes} of ${this.limits.maxBytes} bytes held; joinQueue option)`)
    }
    this.#held.push({ bytes, send })
    this.#bytes += bytes
  }

  /** Sends everything held, oldest first; a send that throws is passed to `onError` and the rest still go. */
  flush (onError: (err: unknown) => void): number {
    const held = this.#held.splice(0)
    this.#bytes = 0
    for (const h of held) {
      try { h.send() } catch (err) { onError(err) }
    }
    return held.length
  }

  /** Forgets everything held (the node stopped first); returns how many sends were lost. */
  clear (): number {
    const n = this.#held.length
    this.#held.length = 0
    this.#bytes = 0
    return n
  }
}
