/**
 * `hearsay` for browsers: `createNode()` with the WebSocket transport and an IndexedDB peer
 * store, plus everything `@hearsay/core` exports. No Node built-ins.
 */
import { HearsayNode, toLogger } from '@hearsay/core'
import type { PeerStore, Service, ServiceMap } from '@hearsay/core'
import { indexedDbStore } from '@hearsay/store-level'
import { webSockets } from '@hearsay/transport-ws'
import type { HearsayOptions } from './options.js'
import { checkStoreName } from './options.js'
import { defaultBrowserStore } from './default-store.browser.js'

export * from '@hearsay/core'
export { levelStore, indexedDbStore, StoreLockedError, FORMAT_VERSION } from '@hearsay/store-level'
export type { LevelPeerStore, LevelStoreOptions, LevelDatabase, IndexedDbPeerStore, IndexedDbStoreOptions } from '@hearsay/store-level'
export { webSockets } from '@hearsay/transport-ws'
export type { WebSocketsInit } from '@hearsay/transport-ws'
/** Browsers have no raw TCP: this `tcp()` rejects every dial (kept so both entries export the same names). */
export { tcp } from '@hearsay/transport-tcp'
export type { TcpInit } from '@hearsay/transport-tcp'
export type { HearsayOptions } from './options.js'

/** The IndexedDB database a browser node keeps its peers, stats and identity in unless told otherwise. */
export const DEFAULT_STORE = 'hearsay'

/**
 * Creates a node (nothing touches the network or IndexedDB until `start()`).
 *
 * - `store`: a name opens that IndexedDB database with `indexedDbStore` (closed by `stop()`; a second tab opening the
 *   same name fails to start with `StoreLockedError`); a `PeerStore` object is used as is. By
 *   default the database `hearsay`, or a memory store (and a warning) in a second tab.
 * - `transports`: default `[webSockets()]`; `defaultProtocol`: default `'ws'`.
 * - `services`: default none — list `stateService()`, `eventsService()`, `streamsService()`,
 *   `broadcastStreamsService()` (or `allServices()`) to use `node.state`, `node.events`, peer
 *   streams, broadcast streams; what is not listed stays out of a browser bundle.
 */
export function createNode<const S extends readonly Service[] = []> (options: HearsayOptions & { services?: S } = {}): HearsayNode<ServiceMap<S>> {
  const { store: storeOption, ...rest } = options
  checkStoreName(storeOption)
  const named = storeOption === undefined || typeof storeOption === 'string'
  const store: PeerStore = storeOption === undefined
    ? defaultBrowserStore(DEFAULT_STORE, toLogger(rest.logger))
    : typeof storeOption === 'string' ? indexedDbStore({ name: storeOption }) : storeOption
  return new HearsayNode<ServiceMap<S>>({
    ...rest,
    transports: rest.transports ?? [webSockets()],
    defaultProtocol: rest.defaultProtocol ?? 'ws',
    store,
    closeStore: rest.closeStore ?? named
  })
}
