/**
 * `@hearsay/node-streams`: Node.js adapters between hearsay's Web Streams and Node streams. This is
 * the only part of `@hearsay/core` that imports `node:*` modules; it is exported under the
 * `node` condition only, so browser bundles never load it.
 */
import { Duplex } from 'node:stream'
import type { DuplexOptions } from 'node:stream'

/** What `peer.openStream()`, the `stream` event and `node.createBroadcastStream()` return. */
export interface WebDuplex<R = Uint8Array, W = Uint8Array | string> {
  readable: ReadableStream<R>
  writable: WritableStream<W>
}

/**
 * A Node `Duplex` over a hearsay stream: pipe files and sockets into peer streams, or use
 * `stream.pipeline`. Backpressure carries through in both directions; destroying the duplex
 * resets the hearsay stream.
 *
 * ```js
 * import { pipeline } from 'node:stream/promises'
 * import { toDuplex } from '@hearsay/node-streams'
 * await pipeline(fs.createReadStream('big.iso'), toDuplex(peer.openStream('file')))
 * ```
 */
export function toDuplex (stream: WebDuplex<unknown, never>, options: DuplexOptions = {}): Duplex {
  // the web stream types of lib.dom and of node:stream/web describe the same objects
  return Duplex.fromWeb(stream as unknown as Parameters<typeof Duplex.fromWeb>[0], options)
}

/** Something that can open a peer stream (a `Peer`). */
export interface StreamOpener { openStream: (name?: string) => WebDuplex }

/** `toDuplex(peer.openStream(name))`. */
export function openDuplex (peer: StreamOpener, name?: string, options?: DuplexOptions): Duplex {
  return toDuplex(peer.openStream(name), options)
}

/** Something that has a broadcast channel (a `HearsayNode`). */
export interface BroadcastSource { createBroadcastStream: (options?: { name?: string }) => WebDuplex }

/**
 * The node's broadcast channel as a Node `Duplex` (smokesignal's `node.broadcast`):
 * `process.stdin.pipe(broadcastDuplex(node)).pipe(process.stdout)`.
 */
export function broadcastDuplex (node: BroadcastSource, options: { name?: string } & DuplexOptions = {}): Duplex {
  const { name, ...duplex } = options
  return toDuplex(node.createBroadcastStream(name === undefined ? {} : { name }), duplex)
}
