/**
 * The services a node may carry besides messaging, the overlay and request/reply. The four
 * built-ins are ordinary services: replicated state (`node.state`), the event bus
 * (`node.events`), peer streams (`peer.openStream()`, the `stream` event) and broadcast streams
 * (`node.createBroadcastStream()`); an application adds its own the same way (`Service` in
 * context.ts, docs/api.md "Write your own service").
 *
 * Each is a factory passed in `services`. A node reaches a service's code only through the
 * factory, so a bundler drops every service an application does not list: this is what keeps
 * `hearsay`'s browser entry within its size budget (docs/decisions.md, "Bundle budget").
 * `@hearsay/core`'s `createNode()` lists all four unless told otherwise; `hearsay`'s lists none.
 */
import type { Service, ServiceContext } from './context.js'
import { STREAM_DEFAULTS } from './context.js'
import { StateService } from './state/state-service.js'
import { EventBus } from './events/event-bus.js'
import { StreamService } from './streams.js'
import { BroadcastStreams } from './broadcast-stream.js'

/** The names of the built-in services (each backs a `node` property or method). */
export type ServiceName = 'state' | 'events' | 'streams' | 'broadcastStreams'

/** A service as the `services` option takes it: a built-in one or one of the application's. */
export type NodeService = Service<string, object>

/** `node.state`: replicated key/value state (options: `NodeOptions.state`). */
export function stateService (): Service<'state', StateService> {
  return { name: 'state', create: (ctx: ServiceContext) => new StateService(ctx, ctx.options.state) }
}

/** `node.events`: the event bus (options: `NodeOptions.events`). */
export function eventsService (): Service<'events', EventBus> {
  return { name: 'events', create: (ctx: ServiceContext) => new EventBus(ctx, ctx.options.events) }
}

/** `peer.openStream()` and the node's `stream` event (options: `streamWindow`, `maxStreamsPerPeer`). */
export function streamsService (): Service<'streams', StreamService> {
  return {
    name: 'streams',
    create: (ctx: ServiceContext) => new StreamService(ctx, {
      window: ctx.options.streamWindow ?? STREAM_DEFAULTS.streamWindow,
      maxStreamsPerPeer: ctx.options.maxStreamsPerPeer ?? STREAM_DEFAULTS.maxStreamsPerPeer,
      chunkBytes: Math.max(1, Math.min(64 * 1024, ctx.limits.maxFrameBytes - 256))
    })
  }
}

/** `node.createBroadcastStream()`. */
export function broadcastStreamsService (): Service<'broadcastStreams', BroadcastStreams> {
  return { name: 'broadcastStreams', create: (ctx: ServiceContext) => new BroadcastStreams(ctx) }
}

/** Every built-in service: what `@hearsay/core`'s `createNode()` gives a node unless `services` is set. */
export function allServices (): [Service<'state', StateService>, Service<'events', EventBus>, Service<'streams', StreamService>, Service<'broadcastStreams', BroadcastStreams>] {
  return [stateService(), eventsService(), streamsService(), broadcastStreamsService()]
}
