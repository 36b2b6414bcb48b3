import type { Connection } from './transport.js'
import type { PeerId } from '../wire/identity.js'
import { NotStartedError } from '../util/errors.js'

/** @internal One authenticated connection to a peer. */
export interface Link {
  readonly linkId: string
  /** Both ends order duplicate links by this and keep the smallest. */
  readonly rank: string
  readonly conn: Connection
  readonly address: string
  readonly direction: 'inbound' | 'outbound'
  /** The raw connection the abuse guard admitted under (inbound): released when this link closes. */
  readonly admitted?: Connection
  /** Set when the remote announced why it is about to close this link. */
  byeReason?: string
}

/** A connected peer. The object stays the same while the peer stays connected. */
export class Peer {
  readonly id: PeerId
  /** When the peer connected (node clock, ms). */
  readonly connectedAt: number
  /** @internal */
  link: Link
  readonly #sendFn: (peer: Peer, type: string, data: unknown) => void

  /** @internal */
  constructor (id: PeerId, link: Link, connectedAt: number, send: (peer: Peer, type: string, data: unknown) => void) {
    this.id = id
    this.link = link
    this.connectedAt = connectedAt
    this.#sendFn = send
  }

  /** The remote address of the current connection. */
  get address (): string { return this.link.address }
  /** `outbound` if this node dialled the current connection. */
  get direction (): 'inbound' | 'outbound' { return this.link.direction }
  /** True while this is a live connection of the node. */
  get connected (): boolean { return !this.link.conn.closed }

  /**
   * Sends one application message. Throws `TypeError` for a reserved or invalid type,
   * `TooLargeError` above the frame limit and `ConnectionClosedError` after a disconnect.
   */
  send (type: string, data?: unknown): void { this.#sendFn(this, type, data) }

  /** @internal set by the node when the peer connects (the streams service, when it is listed) */
  streamOpener: ((peer: Peer, name: string, options: object) => unknown) | undefined

  /**
   * Opens a peer stream. Its precise signature (`openStream(name?, options?): PeerStream`) is
   * declared by the streams service (services/streams.ts), which this layer does not import.
   */
  openStream (name = '', options: object = {}): unknown {
    if (this.streamOpener === undefined) throw new NotStartedError('streams are opened by a running node')
    return this.streamOpener(this, name, options)
  }

  toJSON (): { id: PeerId, address: string, direction: string } {
    return { id: this.id, address: this.address, direction: this.direction }
  }
}
