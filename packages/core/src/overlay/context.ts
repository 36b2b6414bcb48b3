import type { LinkEvents } from '../link/context.js'
import type { PeerId } from '../wire/identity.js'
import type { StoreContext } from '../store/context.js'
import type { FloodBroadcast } from './broadcast.js'

/** What an overlay module (and every service) gets from its node: the store context plus the overlay's state. */
export interface OverlayContext<E extends LinkEvents = LinkEvents> extends StoreContext<E> {
  /** The node runs the overlay (HyParView membership, Plumtree or flood); false with `overlay: false`. */
  readonly overlayEnabled: boolean
  /** How broadcasts travel (`broadcast` option). */
  readonly broadcastMode: 'plumtree' | 'flood'
  /** The flood broadcaster (`broadcast: flood()`) in flood mode; Plumtree otherwise. */
  readonly floodBroadcast: FloodBroadcast | undefined
  /** The overlay's active view now; `undefined` without the overlay (or before it started). */
  activeView: () => PeerId[] | undefined
  /** Calls `fn` when a peer enters or leaves the active view; returns the function that stops it. */
  onNeighbour: (fn: (peer: PeerId, up: boolean) => void) => () => void
  /**
   * Runs `send` now if the node has joined the network, else holds it in the join queue until it
   * does. Throws `QueueFullError` when the queue is full, before anything is held.
   */
  whenJoined: (bytes: number, send: () => void, what: string) => void
}
