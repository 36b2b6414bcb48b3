/**
 * Shared by the compat entry points (created by the smokesignal helper).
 *
 * A Node `Duplex` that exists before the hearsay streams it carries: smokesignal hands out
 * `node.broadcast` and `peer.socket` synchronously (before `start()`, before a peer's stream is
 * open), while hearsay's streams appear later. Writes wait, with Node's own backpressure, until a
 * writable is attached (never dropped); reads come from whichever readable is attached. A new
 * pair may be attached after a restart.
 */
import { Duplex } from 'node:stream'

type Chunk = Uint8Array | string

export class StreamBridge extends Duplex {
  #writer: WritableStreamDefaultWriter<Chunk> | undefined
  /** A write that arrived before any writable was attached: resumed by `attachWritable`. */
  #waiting: (() => void) | undefined
  #wantMore = false
  #gone = false
  #ended = false

  constructor () {
    // strings are sent as UTF-8 by hearsay: keep them as Buffers on the Node side
    super({ decodeStrings: true, allowHalfOpen: true })
  }

  /** Where writes go from now on. */
  attachWritable (writable: WritableStream<Chunk>): void {
    this.#writer = writable.getWriter()
    // a closed or reset writable is reported by the write that meets it
    this.#writer.closed.catch(() => {})
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.()
  }

  /**
   * The other end is gone for good (a peer's link closed): writes fail from now on, as on a
   * closed socket, and the readable side ends once what arrived has been read.
   */
  gone (): void {
    this.#gone = true
    this.detachWritable()
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.()
    this.#end()
  }

  #end (): void {
    if (this.#ended) return
    this.#ended = true
    this.push(null)
  }

  /** Forgets the writable (the node stopped): writes wait for the next one again. */
  detachWritable (): void {
    const w = this.#writer
    this.#writer = undefined
    if (w !== undefined) { w.releaseLock() }
  }

  /** Reads from `readable` until it ends; `endWithIt` ends this duplex's readable side too. */
  attachReadable (readable: ReadableStream<Uint8Array>, endWithIt: boolean): void {
    const reader = readable.getReader()
    const pump = async (): Promise<void> => {
      try {
        for (;;) {
          if (!this.#wantMore) await new Promise<void>((resolve) => { this.#resumeRead = resolve })
          const { done, value } = await reader.read()
          if (done || this.#ended) break
          this.#wantMore = this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
        }
        if (endWithIt) this.#end()
      } catch {
        // the stream was reset or its link closed: the owner reports that (peer 'close', node 'stop')
        if (endWithIt) this.#end()
      } finally {
        reader.releaseLock()
      }
    }
    void pump()
  }

  #resumeRead: (() => void) | undefined

  override _read (): void {
    this.#wantMore = true
    const r = this.#resumeRead
    this.#resumeRead = undefined
    r?.()
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const send = (): void => {
      const w = this.#writer
      if (w === undefined) { this.#fail(new Error('write after the other end closed'), callback); return }
      w.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)).then(() => { callback() }, (err: unknown) => {
        this.#fail(err instanceof Error ? err : new Error(String(err)), callback)
      })
    }
    if (this.#gone) { send(); return }
    if (this.#writer !== undefined) { send(); return }
    this.#waiting = send
  }

  /**
   * A failed write is an 'error' for whoever listens, as on a socket. Nobody listening, the
   * stream is destroyed without one (an unhandled 'error' would end the process): the owner
   * reports the cause (a peer's 'close').
   */
  #fail (err: Error, callback: (err?: Error | null) => void): void {
    if (this.listenerCount('error') > 0) { callback(err); return }
    callback()
    this.destroy()
  }

  override _final (callback: (err?: Error | null) => void): void {
    const w = this.#writer
    if (w === undefined) { callback(); return }
    w.close().then(() => { callback() }, () => { callback() })
  }
}
