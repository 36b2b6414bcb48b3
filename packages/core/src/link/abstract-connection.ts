import { ConnectionClosedError, TooLargeError } from '../util/errors.js'
import type { Connection, ConnectionHandlers } from './transport.js'
import type { AbortOptions } from '../util/abort.js'
import { throwIfAborted, toAbortError } from '../util/abort.js'
import { DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_FRAME_BYTES } from '../util/limits.js'

/**
 * What every transport's connection shares: buffering until a consumer is installed,
 * close-exactly-once, frame-size checks and `drained()` bookkeeping. A transport subclasses it
 * and implements `_send`, `_close` and `bufferedAmount`, and calls `_receive` / `_closed`.
 */
export abstract class AbstractConnection implements Connection {
  readonly remoteAddress: string
  readonly direction: 'inbound' | 'outbound'
  readonly maxFrameBytes: number
  private handlers: ConnectionHandlers | undefined
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private closeReason: Error | undefined
  private isClosed = false
  private closeReported = false
  /** Created by the first `drained()` that has to wait: most links never wait, and a Set each adds up at 10k nodes. */
  private drainWaiters: Set<() => void> | undefined
  protected lowWaterMark = 0

  constructor (init: { remoteAddress: string, direction: 'inbound' | 'outbound', maxFrameBytes?: number }) {
    this.remoteAddress = init.remoteAddress
    this.direction = init.direction
    this.maxFrameBytes = init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  }

  abstract get bufferedAmount (): number
  protected abstract _send (frame: Uint8Array): void
  /** Releases the underlying resource; called once. */
  protected abstract _close (reason?: Error): void

  get closed (): boolean { return this.isClosed }

  /** True when the consumer reads a frame only during `onMessage` (`ConnectionHandlers.transient`): `_receive` may then be given a buffer the transport reuses. */
  protected get transientFrames (): boolean { return this.handlers?.transient === true }

  send (frame: Uint8Array): void {
    if (!(frame instanceof Uint8Array)) throw new TypeError('a frame must be a Uint8Array')
    if (this.isClosed) throw new ConnectionClosedError(undefined, { cause: this.closeReason })
    if (frame.length > this.maxFrameBytes) {
      throw new TooLargeError(`Frame of ${frame.length} bytes exceeds the limit of ${this.maxFrameBytes}`)
    }
    this._send(frame)
  }

  setHandlers (handlers: ConnectionHandlers): void {
    if (this.handlers !== undefined) throw new Error('Connection handlers are already set')
    this.handlers = handlers
    const pending = this.pending
    this.pending = []
    this.pendingBytes = 0
    for (const frame of pending) {
      // closed before the handlers came (frames, then the close, during an async handshake):
      // the close must still be reported, or the link stays up with nobody on the other side
      if (this.closeReported || this.isClosed) break
      this.dispatch(frame)
    }
    if (this.isClosed) this.reportClose()
  }

  async drained (options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    if (this.isClosed || this.bufferedAmount <= this.lowWaterMark) return
    await new Promise<void>((resolve, reject) => {
      const signal = options.signal
      const waiters = (this.drainWaiters ??= new Set())
      const done = (): void => {
        waiters.delete(done)
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = (): void => {
        waiters.delete(done)
        reject(toAbortError(signal?.reason))
      }
      if (signal?.aborted === true) { onAbort(); return }
      signal?.addEventListener('abort', onAbort, { once: true })
      waiters.add(done)
    })
  }

  close (reason?: Error): void {
    if (this.isClosed) return
    this._closed(reason)
  }

  /** Subclasses call this for every frame that arrives. */
  protected _receive (frame: Uint8Array): void {
    if (this.isClosed) return
    if (frame.length > this.maxFrameBytes) {
      this._closed(new TooLargeError(`Received a frame of ${frame.length} bytes, above the limit of ${this.maxFrameBytes}`))
      return
    }
    if (this.handlers === undefined) {
      // a consumer that is slow to attach must not let the peer grow our memory without bound
      this.pendingBytes += frame.length
      if (this.pendingBytes > Math.max(DEFAULT_HIGH_WATER_MARK, 2 * this.maxFrameBytes)) {
        this._closed(new TooLargeError('Too many bytes received before the connection was read'))
        return
      }
      this.pending.push(frame)
    } else this.dispatch(frame)
  }

  /** A consumer that throws is broken: the connection closes with that error, in every transport alike. */
  private dispatch (frame: Uint8Array): void {
    try {
      this.handlers!.onMessage(frame)
    } catch (err) {
      this._closed(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /**
   * Subclasses call this when the buffer may have drained. Node streams emit 'drain' only after
   * a write returned false, so call it from write callbacks too, or `drained()` can hang.
   */
  protected _maybeDrained (): void {
    if (this.drainWaiters === undefined || this.drainWaiters.size === 0 || this.bufferedAmount > this.lowWaterMark) return
    for (const w of [...this.drainWaiters]) w()
  }

  /** Marks the connection closed (by either side) and releases the resource once. */
  protected _closed (reason?: Error): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closeReason = reason
    try { this._close(reason) } finally {
      if (this.drainWaiters !== undefined) for (const w of [...this.drainWaiters]) w()
      if (this.handlers !== undefined) this.reportClose()
    }
  }

  private reportClose (): void {
    if (this.closeReported) return
    this.closeReported = true
    this.pending = []
    this.handlers?.onClose(this.closeReason)
  }
}

/**
 * The `pause`/`resume` pair (transport.ts) of a connection that wraps `raw` (a secure or plain
 * channel's link): `raw`'s own, or neither when `raw` cannot stop reading.
 */
export function forwardPause (raw: Connection): Pick<Connection, 'pause' | 'resume'> {
  if (raw.pause === undefined || raw.resume === undefined) return { pause: undefined, resume: undefined }
  return { pause: () => { raw.pause!() }, resume: () => { raw.resume!() } }
}
