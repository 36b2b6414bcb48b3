/**
 * `hearsay` for Node.js: `createNode()` with WebSocket and TCP transports, a LevelDB peer
 * store and native AES-256-GCM for the links (node:crypto), plus everything `@hearsay/core` exports.
 */
import { acceptInbound, HearsayNode } from '@hearsay/core'
import type { PeerStore, Service, ServiceMap } from '@hearsay/core'
import { levelStore } from '@hearsay/store-level'
import { webSockets } from '@hearsay/transport-ws'
import { tcp } from '@hearsay/transport-tcp'
import type { HearsayOptions } from './options.js'
import { checkStoreName } from './options.js'
import { installNodeCiphers } from './node-ciphers.js'

export * from '@hearsay/core'
export { levelStore, indexedDbStore, StoreLockedError, FORMAT_VERSION } from '@hearsay/store-level'
export type { LevelPeerStore, LevelStoreOptions, LevelDatabase, IndexedDbPeerStore, IndexedDbStoreOptions } from '@hearsay/store-level'
export { webSockets } from '@hearsay/transport-ws'
export type { WebSocketsInit } from '@hearsay/transport-ws'
export { toDuplex, openDuplex, broadcastDuplex } from '@hearsay/node-streams'
export { tcp } from '@hearsay/transport-tcp'
export type { TcpInit } from '@hearsay/transport-tcp'
export type { HearsayOptions } from './options.js'
export { networkChanges } from './network-changes.node.js'
export type { NetworkChangesOptions } from './network-changes.node.js'

/** Where a Node process keeps its peers, stats and identity unless told otherwise (relative to the working directory). */
export const DEFAULT_STORE = './.hearsay'

/**
 * Creates a node (nothing touches the network or the disk until `start()`).
 *
 * - `store`: a path opens a LevelDB store there (default `./.hearsay`), closed by `stop()`; a
 *   `PeerStore` object is used as is. One store can be open in one process at a time: a second
 *   node on the same path fails to start with `StoreLockedError`.
 * - `transports`: default `[webSockets(), tcp()]`.
 * - `services`: default none — list `stateService()`, `eventsService()`, `streamsService()`,
 *   `broadcastStreamsService()` (or `allServices()`) to use `node.state`, `node.events`, peer
 *   streams, broadcast streams; what is not listed stays out of a browser bundle.
 */
export function createNode<const S extends readonly Service[] = []> (options: HearsayOptions & { services?: S } = {}): HearsayNode<ServiceMap<S>> {
  const { store: storeOption, ...rest } = options
  checkStoreName(storeOption)
  installNodeCiphers()
  const named = storeOption === undefined || typeof storeOption === 'string'
  const store: PeerStore = named ? levelStore({ location: storeOption ?? DEFAULT_STORE }) : storeOption
  return new HearsayNode<ServiceMap<S>>({
    ...rest,
    transports: rest.transports ?? [webSockets(), tcp()],
    // a Node node may listen: the accept path is in by default (browsers leave it out)
    inbound: rest.inbound ?? acceptInbound(),
    store,
    closeStore: rest.closeStore ?? named
  })
}
