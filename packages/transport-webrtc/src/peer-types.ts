/**
 * The part of `@thaunknown/simple-peer` (its `lite` build: data channels only) this transport
 * uses. The package ships no types; this is the contract the transport relies on.
 */
export interface PeerOptions {
  initiator?: boolean
  /** Send candidates as they are found instead of waiting for ICE gathering to end. */
  trickle?: boolean
  config?: RTCConfiguration
  channelConfig?: RTCDataChannelInit
}

export interface PeerLike {
  /** Feeds a signal (offer, answer, candidate) from the other side. */
  signal: (data: unknown) => void
  /** Sends one data-channel message at once (no stream buffering). */
  send: (chunk: Uint8Array) => void
  destroy: (err?: Error) => void
  /** The data channel's `bufferedAmount`. */
  readonly bufferSize: number
  readonly destroyed: boolean
  on: ((event: 'signal', fn: (data: unknown) => void) => unknown) &
  ((event: 'connect' | 'close', fn: () => void) => unknown) &
  ((event: 'data', fn: (data: unknown) => void) => unknown) &
  ((event: 'error', fn: (err: Error & { code?: string }) => void) => unknown)
}

export type PeerConstructor = new (options: PeerOptions) => PeerLike

/** Loads the implementation: statically in browsers, on first use in Node (node-datachannel is native). */
export type PeerLoader = () => Promise<PeerConstructor>
