import { batchSize, encodeBatch } from './frame-batch.js'

/**
 * Largest batch the secure channel builds (plaintext bytes), unless the link's `maxFrameBytes`
 * or its transport's `batchBytes` is smaller. A batch only grows this big when a link sends more
 * than that in one turn (a bulk sender): there each seal still costs a few µs of fixed work (a
 * cipher object, its key schedule and tag) and each write a syscall, which 64 KiB spreads over
 * four times as many messages as 16 KiB (tcp, 1 KiB messages: 0.40-0.53x raw against
 * 0.29-0.35x, apps/bench/results/link.md); a receiver holds a whole frame before it hands on its
 * first envelope, half a millisecond at a gigabit.
 */
export const MAX_BATCH_BYTES = 64 * 1024

/**
 * Where every coalescer writes the batch it flushes: the write seals it at once (a cipher reads
 * its plaintext only during the call: cipher-suite.ts), so one buffer serves every link, and a
 * batch costs no ArrayBuffer of its own. A write that flushes another coalescer before it is done
 * with this one (it never does: sealing comes first) would find it taken and get a new one.
 */
let scratch: Uint8Array | undefined

/**
 * Gathers the frames a link sends during one event-loop turn and writes them as one batch
 * (frame-batch.ts) from a microtask, before the event loop reaches any I/O: a busy link pays one
 * seal and one socket write per turn instead of one per frame, and a quiet link sends its lone
 * frame unchanged, with no delay. Order is kept; a full batch, `flush()` and a frame too big to
 * batch write what is pending first.
 */
export class FrameCoalescer {
  #frames: Uint8Array[] = []
  #bytes = 0
  #scheduled = false

  constructor (
    private readonly maxBatchBytes: number,
    /** Writes one plaintext frame (an envelope or a batch) to the link; a batch is only readable during the call (a shared buffer). */
    private readonly write: (plain: Uint8Array) => void,
    /** A write that failed from the microtask (the link closed under it). */
    private readonly onError: (err: unknown) => void
  ) {}

  /** Plaintext bytes waiting for the end of the turn. */
  get pendingBytes (): number { return this.#bytes }

  push (frame: Uint8Array): void {
    if (batchSize(this.#frames.length + 1, this.#bytes + frame.length) > this.maxBatchBytes) {
      this.flush()
      if (batchSize(1, frame.length) > this.maxBatchBytes) { this.write(frame); return }
    }
    this.#frames.push(frame)
    this.#bytes += frame.length
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(this.#onTurnEnd)
    }
  }

  /** Writes what is pending now: one frame as itself, several as a batch. */
  flush (): void {
    const frames = this.#frames
    if (frames.length === 0) return
    this.#frames = []
    this.#bytes = 0
    if (frames.length === 1) { this.write(frames[0]!); return }
    const buffer = scratch ?? new Uint8Array(MAX_BATCH_BYTES)
    scratch = undefined
    try {
      this.write(encodeBatch(frames, buffer))
    } finally {
      scratch = buffer
    }
  }

  /** Forgets what is pending (the link is gone). */
  clear (): void {
    this.#frames = []
    this.#bytes = 0
  }

  readonly #onTurnEnd = (): void => {
    this.#scheduled = false
    try { this.flush() } catch (err) { this.onError(err) }
  }
}
