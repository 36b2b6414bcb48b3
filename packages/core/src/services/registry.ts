/**
 * The application-layer services a node may carry besides messaging, the overlay and
 * request/reply: replicated state (`node.state`), the event bus (`node.events`), peer streams
 * (`peer.openStream()`, the `stream` event) and broadcast streams (`node.createBroadcastStream()`).
 *
 * Each is a factory passed in `services`. A node reaches a service's code only through the
 * factory, so a bundler drops every service an application does not list: this is what keeps
 * `hearsay`'s browser entry within its size budget (docs/decisions.md, "Bundle budget").
 * `@hearsay/core`'s `createNode()` lists all four unless told otherwise; `hearsay`'s lists none.
 */
import type { BroadcastOptions, Messaging } from '../node/messages.js'
import type { HearsayNode } from '../node/node.js'
import type { NodeOptions } from '../node/options.js'
import { DEFAULTS } from '../node/options.js'
import { StateService } from './state/state-service.js'
import { EventBus } from './events/event-bus.js'
import { StreamService } from './streams.js'
import type { PeerStream } from './streams.js'
import { BroadcastStreams } from './broadcast-stream.js'

/** What a service gets from the node besides its public API. @internal */
export interface ServiceContext {
  /** The options the node was created with. */
  options: NodeOptions
  /** Signs with the node's identity (known once the node started). */
  sign: (message: Uint8Array) => Uint8Array
  /** The node's channel proves no identities (plain channel). */
  plainChannel: boolean
  messaging: Messaging
  /** Broadcasts a reserved-type message through the overlay (or to every peer without it). */
  broadcastRaw: (type: string, data: unknown, options: BroadcastOptions) => void
  /** Offers an inbound peer stream to the application; false when nobody listens. */
  acceptStream: (stream: PeerStream) => boolean
}

interface ServiceKinds {
  state: StateService
  events: EventBus
  streams: StreamService
  broadcastStreams: BroadcastStreams
}

/** The name a service is known by (and the `node` property or method it backs). */
export type ServiceName = keyof ServiceKinds

/** One optional service, from `stateService()`, `eventsService()`, `streamsService()` or `broadcastStreamsService()`. */
export type NodeService = { [K in ServiceName]: {
  readonly name: K
  /** @internal called once by the node's constructor */
  readonly create: (node: HearsayNode, ctx: ServiceContext) => ServiceKinds[K]
} }[ServiceName]

/** `node.state`: replicated key/value state (options: `NodeOptions.state`). */
export function stateService (): NodeService {
  return { name: 'state', create: (node, ctx) => new StateService(node, ctx.options.state, { sign: ctx.sign, plainChannel: ctx.plainChannel }) }
}

/** `node.events`: the event bus (options: `NodeOptions.events`). */
export function eventsService (): NodeService {
  return { name: 'events', create: (node, ctx) => new EventBus(node, ctx.options.events) }
}

/** `peer.openStream()` and the node's `stream` event (options: `streamWindow`, `maxStreamsPerPeer`). */
export function streamsService (): NodeService {
  return {
    name: 'streams',
    create: (node, ctx) => new StreamService(node, {
      window: ctx.options.streamWindow ?? DEFAULTS.streamWindow,
      maxStreamsPerPeer: ctx.options.maxStreamsPerPeer ?? DEFAULTS.maxStreamsPerPeer,
      chunkBytes: Math.max(1, Math.min(64 * 1024, node.limits.maxFrameBytes - 256))
    }, ctx.acceptStream)
  }
}

/** `node.createBroadcastStream()`. */
export function broadcastStreamsService (): NodeService {
  return { name: 'broadcastStreams', create: (node, ctx) => new BroadcastStreams(node, ctx.messaging, ctx.broadcastRaw) }
}

/** Every service: what `@hearsay/core`'s `createNode()` gives a node unless `services` is set. */
export function allServices (): NodeService[] {
  return [stateService(), eventsService(), streamsService(), broadcastStreamsService()]
}

/** Checks a `services` option: an array of services, each name at most once. */
export function indexServices (services: readonly NodeService[]): Map<ServiceName, NodeService> {
  if (!Array.isArray(services)) throw new TypeError('services must be an array (e.g. [stateService()])')
  const byName = new Map<ServiceName, NodeService>()
  for (const s of services) {
    if (s === null || typeof s !== 'object' || typeof s.create !== 'function') throw new TypeError('services holds something that is not a service')
    if (byName.has(s.name)) throw new TypeError(`services lists ${s.name} twice`)
    byName.set(s.name, s)
  }
  return byName
}
