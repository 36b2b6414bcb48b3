import type { Socket } from 'node:net'
import { AbstractConnection, ConnectionClosedError } from '@hearsay/core'
import { FRAME_HEADER_BYTES, FrameDecoder } from './frame-decoder.js'

/**
 * Frames up to this size are copied behind their header and written with one `socket.write`;
 * larger ones are written as header + payload inside cork/uncork, without a copy.
 */
export const COPY_THRESHOLD = 16 * 1024
/** After a graceful close, how long to wait for the peer's FIN before destroying the socket. */
export const CLOSE_GRACE_MS = 5000

/**
 * The decoder fills every byte of a frame it copies, so the buffer need not be zeroed first
 * (`new Uint8Array` memsets it: 2–3 % of the CPU of a 64 KiB secure link). A plain view, not a
 * Buffer, for core.
 */
const allocateUnfilled = (size: number): Uint8Array => {
  const b = Buffer.allocUnsafeSlow(size)
  return new Uint8Array(b.buffer, b.byteOffset, size)
}

export interface TcpConnectionInit {
  socket: Socket
  remoteAddress: string
  direction: 'inbound' | 'outbound'
  maxFrameBytes: number
}

/**
 * One TCP socket carrying length-prefixed frames. `close()` without a reason flushes what was
 * sent and ends the socket (FIN); a protocol violation (`TooLargeError`, `InvalidFrameError`)
 * or `destroy()` drops the socket at once.
 */
export class TcpConnection extends AbstractConnection {
  private readonly socket: Socket
  private readonly decoder: FrameDecoder
  private abortive = false
  private graceTimer: ReturnType<typeof setTimeout> | undefined
  /** Small frames sent in the same tick are corked and leave together (one writev). */
  private tickCorked = false
  private readonly uncorkTick = (): void => {
    this.tickCorked = false
    this.socket.uncork()
  }
  private readonly onWritten = (err?: Error | null): void => { if (err == null) this._maybeDrained() }
  private readonly onFrame = (frame: Uint8Array): void => { this._receive(frame) }

  constructor (init: TcpConnectionInit) {
    super({ remoteAddress: init.remoteAddress, direction: init.direction, maxFrameBytes: init.maxFrameBytes })
    this.socket = init.socket
    this.decoder = new FrameDecoder({ maxFrameBytes: init.maxFrameBytes, allocate: allocateUnfilled })
    const socket = init.socket
    // every socket has an error handler for its whole life: a reset must never crash the process
    socket.on('error', err => { this.fail(new ConnectionClosedError(`TCP connection failed: ${err.message}`, { cause: err })) })
    socket.on('data', (chunk: Buffer) => { this.onData(chunk) })
    socket.on('end', () => { this.onEnd() })
    socket.on('drain', () => { this._maybeDrained() })
    socket.on('close', () => {
      this.clearGraceTimer()
      if (!this.closed) this._closed(new ConnectionClosedError('TCP socket closed'))
    })
  }

  /** Bytes queued in the socket and not yet handed to the kernel. */
  get bufferedAmount (): number { return this.socket.writableLength }

  /** Stops reading the socket; frames of a chunk already read may still arrive. */
  pause (): void { if (!this.closed) this.socket.pause() }

  resume (): void { if (!this.closed) this.socket.resume() }

  /** Closes at once without flushing (used by `transport.close()`); reports no error. */
  destroy (): void {
    this.abortive = true
    this._closed()
    this.socket.destroy()
  }

  protected _send (frame: Uint8Array): void {
    if (!(frame instanceof Uint8Array)) throw new TypeError('send needs a Uint8Array')
    const socket = this.socket
    const n = frame.length
    if (n <= COPY_THRESHOLD) {
      if (!this.tickCorked) {
        this.tickCorked = true
        socket.cork()
        process.nextTick(this.uncorkTick)
      }
      const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n)
      out.writeUInt32BE(n, 0)
      out.set(frame, FRAME_HEADER_BYTES)
      socket.write(out, this.onWritten)
    } else {
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
      header.writeUInt32BE(n, 0)
      socket.cork()
      socket.write(header)
      socket.write(frame, this.onWritten)
      socket.uncork()
    }
  }

  protected _close (): void {
    const socket = this.socket
    if (socket.destroyed) return
    if (this.abortive) { socket.destroy(); return }
    // a paused socket would never read the far end's FIN: the grace timer would have to cut it
    if (socket.isPaused()) socket.resume()
    socket.end()
    if (!socket.destroyed && this.graceTimer === undefined) {
      this.graceTimer = setTimeout(() => { socket.destroy() }, CLOSE_GRACE_MS)
      this.graceTimer.unref()
    }
  }

  private onData (chunk: Buffer): void {
    if (this.closed) return
    try {
      // the secure channel reads a frame only while it opens it: views, and one reused buffer
      // for a frame that spans reads, instead of a copy each
      this.decoder.decode(chunk, this.onFrame, this.transientFrames)
    } catch (err) {
      this.fail(err as Error)
    }
  }

  private onEnd (): void {
    if (this.closed) return
    try {
      this.decoder.end()
    } catch (err) {
      this.fail(err as Error)
      return
    }
    this._closed()
  }

  /** Closes with `reason` and drops the socket without waiting for the peer. */
  private fail (reason: Error): void {
    if (this.closed) return
    this.abortive = true
    this._closed(reason)
  }

  private clearGraceTimer (): void {
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer)
    this.graceTimer = undefined
  }
}
