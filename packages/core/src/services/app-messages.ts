import type { PeerId } from '../wire/identity.js'
import type { Peer } from '../link/peer.js'
import type { BroadcastArrival } from '../overlay/announce.js'

/**
 * The types of application messages (`peer.send`, `node.broadcast`, `node.route`), below the
 * node so that services can route and broadcast on their context. The middleware pipeline that
 * carries them is node/messages.ts and node/middleware.ts.
 */

/** How an inbound message reached this node. */
export type Via = 'direct' | 'broadcast' | 'relay'

/** An application message on its way in. It is what middleware, routes and the `message` event see. */
export interface InboundMessage {
  type: string
  data: unknown
  /** The neighbour it arrived from (authenticated by the link). */
  from: Peer
  /**
   * The node that first sent it. For a direct message this is `from.id`; for a broadcast or a
   * relayed message it is the origin as the message claims it (authenticated on the last hop only).
   */
  origin: PeerId
  /** `direct` (`peer.send`), `broadcast` (`node.broadcast`) or `relay` (passed on by `relay()` / `smartRelay()`). */
  via: Via
  /** Links travelled from the origin: 1 for a direct message. */
  hops: number
}

/** An application message on its way out. */
export interface OutboundMessage {
  type: string
  data: unknown
}

/** Handles the messages of one type (or every type without a route, for `'*'`). */
export type RouteHandler = (msg: InboundMessage, peer: Peer) => void

export interface BroadcastOptions {
  /** Most overlay hops the message travels. @default the node's `broadcastLimit` (32) */
  limit?: number
}

/** A broadcast as the overlay delivers it. @internal */
export type BroadcastDelivery = BroadcastArrival

/** Receives broadcasts of one of hearsay's own payload types (e.g. `st.bc`). @internal */
export type BroadcastProtocolHandler = (delivery: BroadcastDelivery) => void
