/**
 * The "socket" coalescent hands to middleware, routes and events: one per connected peer, a
 * Node `Duplex` like the `net.Socket` it replaces. Its readable side is what that peer wrote
 * to this app (fed by the app, piped through the middleware chain); its writable side sends
 * to that peer alone, as application messages of type `coalescent` over the peer's
 * authenticated hearsay link.
 */
import { Duplex } from 'node:stream'
import { parseAddress } from '@hearsay/core'
import type { HearsayNode, Peer } from '@hearsay/core'

/** The application message type that carries coalescent's bytes between apps. */
export const CHUNK_TYPE = 'coalescent'
/** hearsay messages are bounded (256 KiB frames): longer writes go as several, in order. */
export const MAX_CHUNK_BYTES = 64 * 1024

/** What `socket.address()` returns, as `net.Socket` does. */
export interface SocketAddress { address: string, port: number, family: 'IPv4' | 'IPv6' | '' }

/** Sends `bytes` to `peer` as coalescent chunks; throws what `peer.send` throws (closed link). */
export function sendChunks (peer: Peer, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.byteLength; at += MAX_CHUNK_BYTES) {
    peer.send(CHUNK_TYPE, bytes.subarray(at, Math.min(at + MAX_CHUNK_BYTES, bytes.byteLength)))
  }
}

export class CoalescentSocket extends Duplex {
  /** The hearsay peer behind this socket (authenticated id, current link). */
  readonly peer: Peer
  /** The peer's id: the same peer keeps it across links and restarts. */
  readonly id: string
  readonly remoteAddress: string
  readonly remotePort: number
  readonly remoteFamily: 'IPv4' | 'IPv6' | ''
  /** Set by the courier middleware: sends one typed message to this peer. */
  send?: (type: string, data?: unknown) => void
  readonly #node: HearsayNode

  constructor (node: HearsayNode, peer: Peer, encoding: BufferEncoding | null) {
    super({ decodeStrings: true, allowHalfOpen: false })
    this.#node = node
    this.peer = peer
    this.id = peer.id
    const remote = remoteOf(peer.address)
    this.remoteAddress = remote.address
    this.remotePort = remote.port
    this.remoteFamily = remote.family
    if (encoding !== null) this.setEncoding(encoding)
  }

  /**
   * The peer's address. `net.Socket.address()` gives the local end; the README prints it as
   * who a message came from, which is the remote end, so that is what this returns.
   */
  address (): SocketAddress {
    return { address: this.remoteAddress, port: this.remotePort, family: this.remoteFamily }
  }

  /** @internal the app feeds what the peer sent here */
  receive (bytes: Uint8Array): void {
    if (this.readableEnded || this.destroyed) return
    this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  }

  /** @internal the peer's last link closed: the chain's inputs end. */
  disconnected (): void {
    if (!this.readableEnded && !this.destroyed) this.push(null)
  }

  override _read (): void {
    // inbound chunks are pushed as they arrive: hearsay messages carry no backpressure of their own
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    try {
      sendChunks(this.peer, chunk)
      callback()
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** `socket.end()` closes the link to this peer, as it closed the TCP connection. */
  override _final (callback: (err?: Error | null) => void): void {
    // the peer left first (its last link closed and ended this socket): nothing to close
    if (!this.peer.connected) { callback(); return }
    this.#node.hangUp(this.peer).then(() => { callback() }, (err: unknown) => { callback(err instanceof Error ? err : new Error(String(err))) })
  }
}

function remoteOf (address: string): SocketAddress {
  try {
    const a = parseAddress(address)
    return { address: a.host === '' ? a.name : a.host, port: a.port, family: a.host.includes(':') ? 'IPv6' : a.host === '' ? '' : 'IPv4' }
  } catch {
    return { address, port: 0, family: '' }
  }
}
