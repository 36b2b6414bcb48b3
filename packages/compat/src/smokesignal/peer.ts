/**
 * smokesignal's `Peer`: one direct neighbour. A thin view of a hearsay `Peer`: `socket` is a
 * Node duplex carried by hearsay peer streams, `close()` hangs up, `close` fires when the link
 * is gone.
 */
import { EventEmitter } from 'node:events'
import { parseAddress } from '@hearsay/core'
import type { Peer } from '@hearsay/core'
import { StreamBridge } from '../shared/stream-bridge.js'

/** The name of the peer stream each side opens for writing to `peer.socket`. */
export const SOCKET_STREAM = 'smokesignal.socket'

export class SmokePeer extends EventEmitter {
  /** The network-wide id of this peer (hearsay's authenticated peer id). */
  readonly id: string
  /** The remote address of this peer's link. */
  readonly remoteAddress: string
  /** The remote port of this peer's link. */
  readonly remotePort: number
  /**
   * A duplex stream: what you write, the other end reads from its Peer object for this node,
   * and the reverse. Each side writes into a peer stream it opened itself and reads from the one
   * the other side opened, so neither waits for the other to decide who opens.
   */
  readonly socket = new StreamBridge()
  readonly #hangUp: () => void
  #closed = false

  constructor (peer: Peer, hangUp: () => void) {
    super()
    this.id = peer.id
    let host = ''
    let port = 0
    try { ({ host, port } = parseAddress(peer.address)) } catch { /* an opaque address (memory:…) has no host or port */ }
    this.remoteAddress = host
    this.remotePort = port
    this.#hangUp = hangUp
  }

  /** Cuts everything that ties you to this node. */
  close (): void {
    if (this.#closed) return
    this.#hangUp()
  }

  /** @internal the link is gone: end the socket and tell the application. */
  closed (): void {
    if (this.#closed) return
    this.#closed = true
    this.socket.gone()
    this.emit('close')
  }
}
