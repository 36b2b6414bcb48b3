import { AbstractConnection, ConnectionClosedError, InvalidFrameError } from '@hearsay/core'
import type { AbortOptions, PeerId } from '@hearsay/core'
import { closeMessage, Reassembler, splitFrame } from './chunking.js'
import type { PeerLike } from './peer-types.js'
import type { CandidatePair } from './rtc-types.js'

/**
 * Bytes handed to the data channel at most; the rest waits in this connection's queue. Browsers
 * close a channel whose buffer passes 16 MiB; and Chromium moved 1 KiB messages between two pages
 * two to five times slower with 1 MiB in the channel than with 256 KiB (e2e measurements).
 */
export const CHANNEL_BUFFER_BYTES = 256 * 1024
/**
 * How often a backlog (or a `drained()` waiter) checks the channel buffer, besides the peer's
 * `drain` (the channel's `bufferedamountlow`): a fallback, `send()` reports no progress of its own.
 */
export const PUMP_INTERVAL_MS = 10
/** Longest wait after a local close for the data sent before it to leave, ms. */
export const CLOSE_LINGER_MS = 2_000

export interface WebRTCConnectionInit {
  peer: PeerLike
  remotePeer: PeerId
  direction: 'inbound' | 'outbound'
  maxFrameBytes: number
  highWaterMark: number
  chunkBytes: number
  /** Called once the underlying peer connection is destroyed. */
  onDisposed: () => void
}

/**
 * A `Connection` over an open data channel (rtc-peer.ts): frames are chunked (chunking.ts), the
 * backlog above `CHANNEL_BUFFER_BYTES` waits here, and a close is sent in-band so the far end
 * gets every frame sent before it, and the reason.
 */
export class WebRTCConnection extends AbstractConnection {
  readonly remotePeer: PeerId
  readonly highWaterMark: number
  /** The secure channel's batches stay at 16 KiB here: one fits a data-channel message of the default `chunkBytes`. */
  readonly batchBytes = 16 * 1024
  private readonly peer: PeerLike
  private readonly chunkBytes: number
  private readonly reassembler: Reassembler
  private readonly onDisposed: () => void
  private readonly backlog: Uint8Array[] = []
  private backlogBytes = 0
  private waiters = 0
  private timer: ReturnType<typeof setInterval> | undefined
  private lingerUntil = 0
  /** After a local close: everything, the close message last, has left; the far end closes next. */
  private flushed = false
  private lingerTimer: ReturnType<typeof setTimeout> | undefined
  /** The far end closed (in-band or by dropping the channel): nothing more to send. */
  private remoteGone = false
  private disposed = false

  constructor (init: WebRTCConnectionInit) {
    super({ remoteAddress: `webrtc:${init.remotePeer}`, direction: init.direction, maxFrameBytes: init.maxFrameBytes })
    this.remotePeer = init.remotePeer
    this.peer = init.peer
    this.highWaterMark = init.highWaterMark
    this.lowWaterMark = Math.floor(init.highWaterMark / 2)
    this.chunkBytes = init.chunkBytes
    this.reassembler = new Reassembler(init.maxFrameBytes)
    this.onDisposed = init.onDisposed
    const peer = init.peer
    peer.on('drain', () => { this.pump() })
    peer.on('data', (data) => { this.onData(data) })
    peer.on('error', (err) => {
      this.remoteGone = true
      this._closed(new ConnectionClosedError(`WebRTC connection failed: ${err.message}`, { cause: err }))
    })
    peer.on('close', () => {
      this.remoteGone = true
      this._closed(new ConnectionClosedError('The WebRTC data channel closed without a close message'))
      this.dispose()
    })
  }

  /**
   * The types of the ICE candidate pair this link runs over (`{ local: 'srflx', remote: 'srflx' }`
   * through STUN, `relay` on a side that goes through TURN); undefined when the stats do not say.
   */
  async candidatePair (): Promise<CandidatePair | undefined> {
    try { return await this.peer.candidatePair?.() } catch { return undefined }
  }

  get bufferedAmount (): number { return this.backlogBytes + this.channelBuffered() }

  override async drained (options?: AbortOptions): Promise<void> {
    this.waiters++
    this.schedule()
    try {
      await super.drained(options)
    } finally {
      this.waiters--
    }
  }

  protected _send (frame: Uint8Array): void {
    for (const chunk of splitFrame(frame, this.chunkBytes)) {
      this.backlog.push(chunk)
      this.backlogBytes += chunk.length
    }
    this.pump()
  }

  protected _close (reason?: Error): void {
    if (this.remoteGone) { this.dispose(); return }
    // in-band, behind everything already queued: the far end reads every frame, then the reason
    const bye = closeMessage(reason)
    this.backlog.push(bye)
    this.backlogBytes += bye.length
    this.lingerUntil = Date.now() + CLOSE_LINGER_MS
    this.pump()
  }

  /** Hands the backlog to the channel while it has room; polls while anything waits. */
  private pump (): void {
    if (this.disposed) return
    try {
      while (this.backlog.length > 0 && this.channelBuffered() < CHANNEL_BUFFER_BYTES) {
        const chunk = this.backlog.shift()!
        this.backlogBytes -= chunk.length
        this.peer.send(chunk)
      }
    } catch (err) {
      this.remoteGone = true
      if (this.closed) { this.dispose(); return }
      this._closed(new ConnectionClosedError('WebRTC send failed', { cause: err }))
      return
    }
    this._maybeDrained()
    if (this.closed) {
      // A local close lingers until the far end, having read everything up to the close message,
      // closes the channel (the peer's `close`), or the linger runs out. Closing first could lose
      // the last messages: node-datachannel drops what a channel received but had not yet handed
      // to JavaScript when it closes.
      if (Date.now() >= this.lingerUntil) { this.dispose(); return }
      if (this.backlog.length === 0 && this.channelBuffered() === 0) {
        if (this.remoteGone) { this.dispose(); return }
        this.flushed = true
        this.schedule()
        this.lingerTimer ??= setTimeout(() => { this.dispose() }, Math.max(0, this.lingerUntil - Date.now()))
        return
      }
    }
    this.schedule()
  }

  private schedule (): void {
    const busy = this.backlog.length > 0 || (this.closed && !this.disposed && !this.flushed) || (this.waiters > 0 && !this.closed)
    if (busy && this.timer === undefined && !this.disposed) {
      this.timer = setInterval(() => { this.pump() }, PUMP_INTERVAL_MS)
    } else if (!busy && this.timer !== undefined) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  private channelBuffered (): number {
    try { return this.disposed ? 0 : this.peer.bufferSize } catch { return 0 }
  }

  private onData (data: unknown): void {
    if (this.disposed || !(data instanceof Uint8Array)) {
      if (!this.closed) this._closed(new InvalidFrameError('Received a data-channel message that is not binary'))
      return
    }
    // Node hands out Buffers: pass on a plain view, never a Buffer
    const message = Object.getPrototypeOf(data) === Uint8Array.prototype ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    if (this.closed) {
      // both ends closed at once: the far end's close message ends this end's linger
      let kind: string | undefined
      try { kind = this.reassembler.push(message).kind } catch { kind = 'close' }
      if (kind === 'close') {
        this.remoteGone = true
        if (this.flushed) this.dispose()
      }
      return
    }
    let received
    try {
      received = this.reassembler.push(message)
    } catch (err) {
      this._closed(err as Error)
      return
    }
    if (received.kind === 'frame') this._receive(received.frame)
    else if (received.kind === 'close') {
      this.remoteGone = true
      this._closed(received.reason)
    }
  }

  private dispose (): void {
    if (this.disposed) return
    this.disposed = true
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer)
    this.timer = undefined
    this.backlog.length = 0
    this.backlogBytes = 0
    try { this.peer.destroy() } catch { /* already destroyed */ }
    this.onDisposed()
  }
}
