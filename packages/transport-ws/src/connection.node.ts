import { AbstractConnection, ConnectionClosedError, InvalidFrameError, TooLargeError } from '@hearsay/core'
import type { RawData, WebSocket } from 'ws'
import { closeCodeFor, closeText, reasonForClose } from './close-codes.js'

export interface NodeConnectionInit {
  socket: WebSocket
  remoteAddress: string
  direction: 'inbound' | 'outbound'
  maxFrameBytes: number
  highWaterMark: number
}

/** A `Connection` over a `ws` socket that is already open. */
export class NodeWsConnection extends AbstractConnection {
  readonly highWaterMark: number
  private readonly socket: WebSocket

  constructor (init: NodeConnectionInit) {
    super(init)
    this.socket = init.socket
    this.highWaterMark = init.highWaterMark
    this.lowWaterMark = Math.floor(init.highWaterMark / 2)
    const socket = init.socket
    socket.on('message', (data, isBinary) => { this.onFrame(data, isBinary) })
    socket.on('error', err => { this._closed(reasonForError(err, this.maxFrameBytes)) })
    socket.on('close', (code, text) => { this._closed(reasonForClose(code, text.toString())) })
  }

  get bufferedAmount (): number { return this.socket.bufferedAmount }

  /** Stops reading the socket (ws pauses its net.Socket); what ws already read may still arrive. */
  pause (): void { if (!this.closed) this.socket.pause() }

  resume (): void { if (!this.closed) this.socket.resume() }

  protected _send (frame: Uint8Array): void {
    // the callback runs once the frame has left for the kernel (or failed to)
    this.socket.send(frame, { binary: true }, this.afterSend)
  }

  protected _close (reason?: Error): void {
    // a paused socket would never read the far end's close frame: ws would wait 30 s for it
    if (this.socket.isPaused) this.socket.resume()
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(closeCodeFor(reason), closeText(reason))
  }

  private readonly afterSend = (): void => { this._maybeDrained() }

  private onFrame (data: RawData, isBinary: boolean): void {
    if (!isBinary) {
      this._closed(new InvalidFrameError('Received a text frame; this transport carries binary frames only'))
      return
    }
    // binaryType is the default 'nodebuffer', so `data` is one Buffer: hand on a view, not a Buffer
    const buf = data as Buffer
    this._receive(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength))
  }
}

/** What a `ws` error means for the connection it broke. */
function reasonForError (err: Error, maxFrameBytes: number): Error {
  const code = (err as { code?: string }).code
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
    return new TooLargeError(`Received a frame above the limit of ${maxFrameBytes} bytes`, { cause: err })
  }
  if (code?.startsWith('WS_ERR_') === true) return new InvalidFrameError(`Invalid WebSocket frame: ${err.message}`, { cause: err })
  return new ConnectionClosedError(`WebSocket error: ${err.message}`, { cause: err })
}
