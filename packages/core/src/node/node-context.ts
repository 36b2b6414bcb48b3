import type { AbortOptions } from '../util/abort.js'
import type { Clock, Random, TimerSet } from '../util/clock.js'
import type { Limits } from '../util/limits.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../util/metrics.js'
import type { PeerId } from '../wire/identity.js'
import type { LinkManager } from '../link/link-manager.js'
import type { Peer } from '../link/peer.js'
import type { PeerStore } from '../store/peer-store.js'
import type { StatRecorder } from '../store/stat-recorder.js'
import type { Reach } from '../overlay/reach.js'
import type { BroadcastOptions } from '../services/app-messages.js'
import type { ServiceContext, ServiceEvents, ServiceOptions } from '../services/context.js'
import type { Lifecycle } from './lifecycle.js'
import type { Messaging } from './messages.js'

/** The parts of a node its context is made of (the node passes them; this file does not know the node class). */
export interface NodeParts {
  clock: Clock
  random: Random
  logger: Logger
  metrics: Metrics
  limits: Readonly<Limits>
  store: PeerStore
  options: Readonly<ServiceOptions>
  overlayEnabled: boolean
  broadcastMode: 'plumtree' | 'flood'
  plainChannel: boolean
  life: Lifecycle
  timers: TimerSet
  links: LinkManager
  reach: Reach
  stats: StatRecorder
  id: () => PeerId
  sign: (message: Uint8Array) => Uint8Array
  on: (event: string, fn: (payload: never) => void) => () => void
  emit: (event: string, payload: unknown) => boolean
  reportError: (err: unknown, where: PropertyKey) => void
  ping: (peer: Peer | PeerId, options?: AbortOptions & { timeout?: number }) => Promise<number>
  statAddress: (peer: Peer) => string | undefined
  reserveStoreRows: (n: number) => number
  activeView: () => PeerId[] | undefined
  messaging: () => Messaging
  broadcastRaw: (type: string, data: unknown, options: BroadcastOptions) => void
}

/**
 * The one context object of a node: what every protocol module and service receives (typed as
 * the narrowest context its layer defines: `LinkContext`, `StoreContext`, `OverlayContext`,
 * `ServiceContext`). A plain object of functions and getters over the node's parts.
 */
export function nodeContext (p: NodeParts): ServiceContext {
  const { links, life, reach } = p
  return {
    clock: p.clock,
    random: p.random,
    logger: p.logger,
    metrics: p.metrics,
    limits: p.limits,
    store: p.store,
    options: p.options,
    overlayEnabled: p.overlayEnabled,
    broadcastMode: p.broadcastMode,
    plainChannel: p.plainChannel,
    timers: p.timers,
    get id () { return p.id() },
    get status () { return life.status },
    get addresses () { return links.addresses },
    get signal () { return life.signal },
    whenStopping: (fn) => life.whenStopping(fn),
    onEveryStop: (fn) => life.onEveryStop(fn),
    on: (event, fn) => p.on(event, fn as (payload: never) => void),
    emit: <K extends keyof ServiceEvents & string>(event: K, payload: ServiceEvents[K]) => p.emit(event, payload),
    reportError: p.reportError,
    handle: (type, handler) => links.handle(type, handler),
    send: (peer, type, data) => links.send(peer, type, data),
    peers: () => links.peers(),
    getPeer: (id) => links.getPeer(id),
    connect: async (address, options) => {
      life.assertRunning()
      return await links.connect(address, options)
    },
    hangUp: async (peer) => await links.hangUp(peer),
    ping: p.ping,
    recordStat: (address, event) => { p.stats.add(address, event) },
    statAddress: p.statAddress,
    reserveStoreRows: p.reserveStoreRows,
    activeView: p.activeView,
    onNeighbour: (fn) => reach.onNeighbour(fn),
    whenJoined: (bytes, send, what) => { reach.whenJoined(bytes, send, what) },
    sign: p.sign,
    route: (type, handler) => p.messaging().route(type, handler),
    broadcast: (type, data, options = {}) => {
      life.assertRunning()
      p.messaging().broadcast(type, data, options)
    },
    broadcastRaw: p.broadcastRaw,
    handleBroadcast: (type, handler) => p.messaging().handleBroadcast(type, handler)
  }
}
