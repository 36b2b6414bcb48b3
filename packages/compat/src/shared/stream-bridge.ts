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
  #reading = false
  #wantMore = false

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

  /** Forgets the writable (the node stopped): writes wait for the next one again. */
  detachWritable (): void {
    const w = this.#writer
    this.#writer = undefined
    if (w !== undefined) { w.releaseLock() }
  }

  /** Reads from `readable` until it ends; `endWithIt` ends this duplex's readable side too. */
  attachReadable (readable: ReadableStream<Uint8Array>, endWithIt: boolean): void {
    const reader = readable.getReader()
    this.#reading = true
    const pump = async (): Promise<void> => {
      try {
        for (;;) {
          if (!this.#wantMore) await new Promise<void>((resolve) => { this.#resumeRead = resolve })
          const { done, value } = await reader.read()
          if (done) break
          this.#wantMore = this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
        }
        if (endWithIt) this.push(null)
      } catch {
        // the stream was reset or its link closed: the owner reports that (peer 'close', node 'stop')
        if (endWithIt) this.push(null)
      } finally {
        this.#reading = false
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
      const w = this.#writer!
      w.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)).then(() => { callback() }, (err: unknown) => {
        callback(err instanceof Error ? err : new Error(String(err)))
      })
    }
    if (this.#writer !== undefined) { send(); return }
    this.#waiting = send
  }

  override _final (callback: (err?: Error | null) => void): void {
    const w = this.#writer
    if (w === undefined) { callback(); return }
    w.close().then(() => { callback() }, () => { callback() })
  }

  /** True while a readable is attached and being read. */
  get reading (): boolean { return this.#reading }
}
