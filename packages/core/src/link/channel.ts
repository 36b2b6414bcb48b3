import type { AbortOptions } from '../util/abort.js'
import type { Clock, Random } from '../util/clock.js'
import type { EnvelopeCodec } from '../wire/envelope.js'
import type { Identity, PeerId } from '../wire/identity.js'
import type { Connection } from './transport.js'

/** A connection whose remote peer id is known: what a channel hands to the node. */
export interface UpgradedConnection {
  remotePeer: PeerId
  conn: Connection
  /**
   * Identical on both ends and unique per link (derived from the handshake transcript): both
   * sides rank duplicate links by it and so keep the same one.
   */
  linkId: string
}

export interface UpgradeOptions extends AbortOptions {
  role: 'initiator' | 'responder'
  identity: Identity
  /** Fails the upgrade with `PeerIdMismatchError` if the remote proves another id. */
  expectedPeer?: PeerId
  /** The whole handshake's, ms. @default 10000 */
  timeoutMs: number
  /** Responder: how long the initiator has to send its first message, ms (at most `timeoutMs`). @default timeoutMs */
  helloTimeoutMs?: number
  clock: Clock
  random: Random
  /** Largest plaintext frame the upgraded connection carries. */
  maxFrameBytes: number
  /**
   * Responder: called once the initiator's first message proved it holds the network key (the
   * secure channel's hello MAC), before the responder answers. The abuse guard spares such
   * handshakes when it must cut one to make room.
   */
  onProven?: () => void
}

/**
 * How a raw transport connection becomes an authenticated link. Production uses
 * `secureChannel()`; the simulator uses `plainChannel()` to skip the crypto, not the logic.
 */
export interface Channel {
  readonly name: string
  /** Bytes the channel adds to each frame (so transports can be given room for them). */
  readonly overhead: number
  upgrade: (conn: Connection, opts: UpgradeOptions) => Promise<UpgradedConnection>
  /**
   * How the node encodes and decodes the envelopes it sends and receives on this channel's
   * links. Real channels leave it out (msgpack, `MSGPACK_CODEC`); the simulator's pass-through
   * channel skips the decode. @default MSGPACK_CODEC
   */
  readonly codec?: EnvelopeCodec
}
