import type { LinkContext, LinkEvents } from '../link/context.js'
import type { Peer } from '../link/peer.js'
import type { PeerStore, StatEvent } from './peer-store.js'

/** What a store-level module gets from its node: the link context plus the peer store and its statistics. */
export interface StoreContext<E extends LinkEvents = LinkEvents> extends LinkContext<E> {
  readonly store: PeerStore
  /** Queues a stat event for the peer store (batched; nothing waits for the write). */
  recordStat: (address: string, event: StatEvent) => void
  /** The address a peer's stats are kept under (the dialled one, else the first it advertised). */
  statAddress: (peer: Peer) => string | undefined
  /** How many of `n` addresses learned from peers the store may take now (`maxStoredPeers`). */
  reserveStoreRows: (n: number) => number
}
