import { AbstractConnection, ConnectionClosedError, InvalidFrameError } from '@hearsay/core'
import type { AbortOptions } from '@hearsay/core'
import { applicationCode, closeCodeFor, closeText, reasonForClose } from './close-codes.js'

/** How often `bufferedAmount` is checked while someone waits on `drained()`. */
export const DRAIN_POLL_MS = 10

export interface BrowserConnectionInit {
  socket: WebSocket
  remoteAddress: string
  maxFrameBytes: number
  highWaterMark: number
}

/**
 * A `Connection` over a native `WebSocket` that is already open. Browsers report no progress
 * on sends, so `drained()` polls `bufferedAmount` while it is awaited.
 */
export class BrowserWsConnection extends AbstractConnection {
  readonly highWaterMark: number
  private readonly socket: WebSocket
  private waiters = 0
  private timer: ReturnType<typeof setInterval> | undefined

  constructor (init: BrowserConnectionInit) {
    super({ remoteAddress: init.remoteAddress, direction: 'outbound', maxFrameBytes: init.maxFrameBytes })
    this.socket = init.socket
    this.highWaterMark = init.highWaterMark
    this.lowWaterMark = Math.floor(init.highWaterMark / 2)
    const socket = init.socket
    socket.binaryType = 'arraybuffer'
    socket.addEventListener('message', ev => { this.onFrame(ev.data) })
    socket.addEventListener('error', ev => {
      const cause = (ev as { error?: unknown }).error ?? ev
      this._closed(new ConnectionClosedError('WebSocket error', { cause }))
    })
    socket.addEventListener('close', ev => { this._closed(reasonForClose(ev.code, ev.reason)) })
  }

  get bufferedAmount (): number { return this.socket.bufferedAmount }

  override async drained (options?: AbortOptions): Promise<void> {
    this.waiters++
    if (this.timer === undefined && !this.closed) this.timer = setInterval(() => { this._maybeDrained() }, DRAIN_POLL_MS)
    try {
      await super.drained(options)
    } finally {
      if (--this.waiters === 0) this.stopPolling()
    }
  }

  protected _send (frame: Uint8Array): void {
    const s = this.socket
    // a closing socket drops what is sent (the browser only logs an error): the link is over,
    // though its close event may not have come yet (a page back from a freeze). Seen in e2e
    if (s.readyState !== s.OPEN) {
      const err = new ConnectionClosedError('WebSocket closing')
      this._closed(err)
      throw err
    }
    s.send(frame as Uint8Array<ArrayBuffer>)
  }

  protected _close (reason?: Error): void {
    this.stopPolling()
    const s = this.socket
    if (s.readyState === s.CONNECTING || s.readyState === s.OPEN) s.close(applicationCode(closeCodeFor(reason)), closeText(reason))
  }

  private stopPolling (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  private onFrame (data: unknown): void {
    if (data instanceof ArrayBuffer) { this._receive(new Uint8Array(data)); return }
    this._closed(new InvalidFrameError(typeof data === 'string'
      ? 'Received a text frame; this transport carries binary frames only'
      : 'Received a frame that is not an ArrayBuffer'))
  }
}
