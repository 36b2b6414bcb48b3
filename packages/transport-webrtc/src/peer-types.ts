import type { CandidatePair, RtcConfiguration } from './rtc-types.js'

/** How a peer is made: the dialler (`initiator`) opens the data channel and sends the offer. */
export interface PeerOptions {
  initiator?: boolean
  config?: RtcConfiguration
  channelConfig?: { ordered?: boolean }
}

/** One peer connection with one data channel: the contract the transport relies on (rtc-peer.ts). */
export interface PeerLike {
  /** Feeds a signal (offer, answer, candidate) from the other side. */
  signal: (data: unknown) => void
  /** Sends one data-channel message at once (no buffering). */
  send: (chunk: Uint8Array) => void
  destroy: (err?: Error) => void
  /** The data channel's `bufferedAmount`. */
  readonly bufferSize: number
  readonly destroyed: boolean
  /** The selected ICE candidate pair's types, from the connection's stats; undefined before one is selected or without stats. */
  candidatePair?: () => Promise<CandidatePair | undefined>
  /**
   * `signal`: a signal for the other side; `connect`: the data channel opened; `data`: a message;
   * `drain`: the channel's buffer fell below its low-water mark; `error`, then `close`: the peer
   * is gone (`close` follows every `destroy()`, once).
   */
  on: ((event: 'signal', fn: (data: unknown) => void) => unknown) &
  ((event: 'connect' | 'close' | 'drain', fn: () => void) => unknown) &
  ((event: 'data', fn: (data: unknown) => void) => unknown) &
  ((event: 'error', fn: (err: Error & { code?: string }) => void) => unknown)
}

export type PeerConstructor = new (options: PeerOptions) => PeerLike

/** Loads the implementation: statically in browsers, on first use in Node (node-datachannel is native). */
export type PeerLoader = () => Promise<PeerConstructor>
