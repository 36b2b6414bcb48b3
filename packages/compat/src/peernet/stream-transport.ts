/**
 * `pn.createStream()`: "a duplex stream to wire up to a remote transport … for hooking up a
 * connection from inside a server". A hearsay `Transport` whose only connections are the ones
 * the application hands in this way: every stream it creates is an inbound link of the node,
 * which then runs its authenticated handshake over it as over any socket.
 *
 * The stream carries hearsay frames one per chunk, which is exactly what a WebSocket message
 * is: `websocket-stream`'s server stream (the README's own wiring) gives each message as one
 * chunk and sends each chunk as one message, so a peer dialling `ws://…` with hearsay's ws
 * transport meets the node on the other end. A byte stream that merges chunks (a raw TCP
 * socket) does not keep frame boundaries: use hearsay's tcp transport for those.
 */
import { Duplex } from 'node:stream'
import { AbstractConnection, NotStartedError, UnsupportedError } from '@hearsay/core'
import type { Connection, ListenOptions, Listener, Transport } from '@hearsay/core'

export const STREAM_PROTOCOL = 'peernet-stream'
/** The address the node "listens" on; the listener advertises nothing (it cannot be dialled). */
export const STREAM_LISTEN_ADDRESS = `${STREAM_PROTOCOL}://create-stream:0`
/** Streams created before the node listens wait for it, up to this many. */
const MAX_WAITING = 64

class StreamConnection extends AbstractConnection {
  readonly duplex: Duplex
  /** Frames sent but not yet read by the application's side of the stream. */
  readonly #queue: Buffer[] = []
  #queued = 0
  #wanted = false

  constructor (n: number, maxFrameBytes: number | undefined) {
    super({ remoteAddress: `${STREAM_PROTOCOL}://stream-${n}:0`, direction: 'inbound', maxFrameBytes })
    this.duplex = new Duplex({
      objectMode: true,
      read: () => { this.#wanted = true; this.#pump() },
      write: (chunk: unknown, _enc, callback) => {
        if (!(chunk instanceof Uint8Array)) { callback(new TypeError('pn.createStream(): write binary chunks (one hearsay frame each)')); return }
        // a copy: the writer may reuse its buffer, and the node keeps frames while it decodes
        this._receive(new Uint8Array(chunk))
        callback()
      },
      final: (callback) => { this._closed(); callback() },
      destroy: (err, callback) => { this._closed(err ?? undefined); callback(err) }
    })
    // The remote transport's stream piped into this one (`stream.pipe(pn.createStream())`, the
    // README's wiring) is the link: its errors (a peer that resets its socket) close the link and
    // are reported as the peer's disconnect reason, as hearsay's own transports do, instead of
    // being an unhandled 'error' that ends the process.
    this.duplex.on('pipe', (source: NodeJS.EventEmitter) => {
      source.on('error', (err: Error) => { this._closed(err) })
    })
  }

  get bufferedAmount (): number { return this.#queued }

  protected _send (frame: Uint8Array): void {
    this.#queue.push(Buffer.from(frame))
    this.#queued += frame.byteLength
    this.#pump()
  }

  #pump (): void {
    while (this.#wanted && this.#queue.length > 0) {
      const frame = this.#queue.shift()!
      this.#queued -= frame.byteLength
      this.#wanted = this.duplex.push(frame)
    }
    this._maybeDrained()
  }

  protected _close (): void {
    this.#queue.length = 0
    this.#queued = 0
    // ending the readable side ends what it is piped into (the remote transport's stream)
    if (!this.duplex.destroyed) this.duplex.push(null)
  }
}

export class StreamTransport implements Transport {
  readonly name = STREAM_PROTOCOL
  readonly protocols = [STREAM_PROTOCOL] as const
  readonly supports = { listen: true }
  #accept: ((conn: Connection) => void) | undefined
  #maxFrameBytes: number | undefined
  readonly #waiting: StreamConnection[] = []
  #count = 0

  async dial (): Promise<Connection> {
    throw new UnsupportedError('pn.createStream() links are inbound only: dial the peer at its ws:// or tcp:// address')
  }

  async listen (_address: string, onConnection: (conn: Connection) => void, options: ListenOptions = {}): Promise<Listener> {
    this.#accept = onConnection
    this.#maxFrameBytes = options.maxFrameBytes
    for (const conn of this.#waiting.splice(0)) onConnection(conn)
    return { addresses: [], close: async () => { this.#accept = undefined } }
  }

  async close (): Promise<void> { this.#accept = undefined }

  /** A new inbound link of the node, as a Node duplex stream (object mode: one frame per chunk). */
  createStream (): Duplex {
    const conn = new StreamConnection(++this.#count, this.#maxFrameBytes)
    if (this.#accept !== undefined) this.#accept(conn)
    else if (this.#waiting.length < MAX_WAITING) this.#waiting.push(conn)
    else throw new NotStartedError(`pn.createStream(): the node is not listening yet and ${MAX_WAITING} streams already wait for it`)
    return conn.duplex
  }
}
