import { utf8, utf8Length } from '../util/bytes.js'
import { NotStartedError, TooLargeError } from '../util/errors.js'
import type { PeerId } from '../wire/identity.js'
import { DEFAULT_HIGH_WATER_MARK } from '../util/limits.js'
import type { BroadcastDelivery, BroadcastOptions } from './app-messages.js'
import type { ServiceContext } from './context.js'
import type { StreamChunk } from './streams.js'
import { isRecord } from '../overlay/validate.js'

/**
 * The node's broadcast channel as a duplex stream (smokesignal's `node.broadcast`, coalescent's
 * node-as-a-stream): every chunk written goes to every node of the overlay, and the readable
 * yields what every other node writes to a broadcast stream of the same name. Chunks travel as
 * broadcasts of the reserved payload type `st.bc` (`{ n: name, d: bytes }`), so they never reach
 * routes or application middleware.
 *
 * Broadcast is fire-and-forget: the writer is held back only by its own links (it waits for
 * them to drain), never by remote readers. A reader that falls more than `highWaterMark` bytes
 * behind loses chunks (counted as `drops.broadcast-stream-overflow`); use a peer stream for
 * lossless bulk transfer. Chunks from one writer arrive in order over a stable overlay, but the
 * overlay does not promise an order across paths.
 */

export interface BroadcastStreamOptions {
  /** Channel name: broadcast streams hear only writers of the same name (at most 64 bytes). @default '' */
  name?: string
  /** Bytes a slow reader may have queued before further chunks are dropped. @default 1048576 */
  highWaterMark?: number
  /** Overlay hop limit of each chunk. @default the node's `broadcastLimit` (32) */
  limit?: number
}

/** A chunk read from a broadcast stream: the bytes one writer wrote (or a piece of them), with its origin. */
export interface BroadcastChunk extends Uint8Array {
  /** The node that wrote it. */
  readonly from: PeerId
}

export interface BroadcastStream {
  readonly name: string
  /** What the other nodes write, chunk by chunk. Cancelling it stops reading. */
  readonly readable: ReadableStream<BroadcastChunk>
  /** What to send to everyone. Writes larger than a frame are split. */
  readonly writable: WritableStream<StreamChunk>
}

interface Reader { name: string, controller: ReadableStreamDefaultController<BroadcastChunk> }

/** The node's broadcast streams. @internal */
export class BroadcastStreams {
  readonly #readers = new Set<Reader>()
  readonly #pieceBytes: number

  constructor (private readonly ctx: ServiceContext) {
    // broadcast envelope overhead: ids, hops, origin, names; 1 KiB is ample
    this.#pieceBytes = Math.max(1, Math.min(64 * 1024, ctx.limits.maxFrameBytes - 1024))
    ctx.handleBroadcast('st.bc', (b) => { this.#deliver(b) })
    // without the overlay, chunks go straight to every peer as `st.bc` frames
    ctx.handle('st.bc', (peer, data) => { this.#deliver({ type: 'st.bc', data, origin: peer.id, hops: 1, from: peer.id }) })
    ctx.onEveryStop(() => {
      for (const r of this.#readers) { try { r.controller.close() } catch { /* already closed */ } }
      this.#readers.clear()
    })
  }

  create (options: BroadcastStreamOptions = {}): BroadcastStream {
    const name = options.name ?? ''
    if (typeof name !== 'string') throw new TypeError('name must be a string')
    if (utf8Length(name) > this.ctx.limits.maxTypeBytes) throw new TooLargeError(`a stream name is at most ${this.ctx.limits.maxTypeBytes} bytes`)
    const hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK
    if (!(Number.isSafeInteger(hwm) && hwm > 0)) throw new TypeError('highWaterMark must be a positive integer')
    const send = { limit: options.limit }
    let reader: Reader | undefined
    const readable = new ReadableStream<BroadcastChunk>({
      start: (controller) => {
        reader = { name, controller }
        if (this.ctx.signal.aborted) controller.close()
        else this.#readers.add(reader)
      },
      cancel: () => { if (reader !== undefined) this.#readers.delete(reader) }
    }, { highWaterMark: hwm, size: (c) => c.byteLength })
    const writable = new WritableStream<StreamChunk>({
      write: async (chunk) => { await this.#write(name, chunk, send) }
    }, { highWaterMark: this.#pieceBytes, size: (c) => typeof c === 'string' ? utf8Length(c) : (c instanceof Uint8Array ? c.byteLength : 1) })
    return { name, readable, writable }
  }

  async #write (name: string, chunk: StreamChunk, options: BroadcastOptions): Promise<void> {
    const bytes = typeof chunk === 'string' ? utf8(chunk) : chunk
    if (!(bytes instanceof Uint8Array)) throw new TypeError('a stream chunk must be a Uint8Array or a string')
    for (let off = 0; off < bytes.length; off += this.#pieceBytes) {
      if (this.ctx.status !== 'running') throw new NotStartedError(`The node is ${this.ctx.status}`)
      this.ctx.broadcastRaw('st.bc', { n: name, d: bytes.subarray(off, off + this.#pieceBytes) }, options)
      this.ctx.metrics.inc('broadcast-stream.chunks.out')
      // the writer's only backpressure: its own links
      for (const p of this.ctx.peers()) {
        const conn = p.link.conn
        if (conn.bufferedAmount > DEFAULT_HIGH_WATER_MARK) await conn.drained({ signal: this.ctx.signal })
      }
    }
  }

  #deliver (b: BroadcastDelivery): void {
    const m = b.data
    if (!isRecord(m) || typeof m.n !== 'string' || !(m.d instanceof Uint8Array)) { this.ctx.metrics.drop('broadcast-stream-malformed'); return }
    if (m.d.length === 0) return
    this.ctx.metrics.inc('broadcast-stream.chunks.in')
    for (const r of this.#readers) {
      if (r.name !== m.n) continue
      if ((r.controller.desiredSize ?? 0) <= 0) { this.ctx.metrics.drop('broadcast-stream-overflow'); continue }
      // each reader gets its own view object (the bytes are shared, read-only by convention)
      const view = new Uint8Array(m.d.buffer, m.d.byteOffset, m.d.byteLength)
      Object.defineProperty(view, 'from', { value: b.origin, enumerable: true })
      r.controller.enqueue(view as BroadcastChunk)
    }
  }
}
