import type { LinkEvents } from '../link/context.js'
import type { OverlayContext } from '../overlay/context.js'
import type { Identity } from '../wire/identity.js'
import type { StateOptions, EventBusOptions } from './state/options.js'
import type { BroadcastOptions, BroadcastProtocolHandler, RouteHandler } from './app-messages.js'

/**
 * The node events a service may listen to and emit. Open: a service that emits events of its own
 * on the node declares them by declaration merging, as the built-ins do (`stream` in
 * streams.ts, `member:*` in state/state-service.ts):
 *
 * ```ts
 * declare module '@hearsay/core' { interface ServiceEvents { 'presence:seen': PeerId } }
 * ```
 */
export interface ServiceEvents extends LinkEvents {}

/** The node options the built-in services read (they are `NodeOptions` members). */
export interface ServiceOptions {
  /** Replicated state (`stateService()`). */
  state?: StateOptions
  /** The event bus (`eventsService()`). */
  events?: EventBusOptions
  /** Receive window of a peer stream: bytes the peer may send before this side reads them (memory per stream is bounded by it). @default 1048576 */
  streamWindow?: number
  /** Most peer streams open at once with one peer; more are refused (`st.reset` `refused`). @default 256 */
  maxStreamsPerPeer?: number
}

/** Defaults of the stream options (`DEFAULTS` repeats them). */
export const STREAM_DEFAULTS = Object.freeze({ streamWindow: 1024 * 1024, maxStreamsPerPeer: 256 })

/**
 * What a service gets from its node (built-in or written by an application): the overlay
 * context (clock, random, logger, metrics, limits, identity, store, peers, `handle` / `send`,
 * life-bound timers and signal, the join queue) plus application messaging and node events.
 */
export interface ServiceContext extends OverlayContext<ServiceEvents> {
  /** The options the node was created with (the members services read are typed; the rest is there too). */
  readonly options: Readonly<ServiceOptions>
  /** The node's channel proves no identities (plain channel). */
  readonly plainChannel: boolean
  /**
   * The node's identity (its secret key too), known once the node started: sign with
   * `signWith(ctx.identity, bytes)`. Throws `NotStartedError` before `start()` loaded it.
   */
  readonly identity: Identity
  /** Emits a node event (one of `ServiceEvents`); true when a listener took it. */
  emit: <K extends keyof ServiceEvents & string>(event: K, payload: ServiceEvents[K]) => boolean
  /** Routes the application messages of `type` (`node.route`); returns the function that removes the route. */
  route: (type: string, handler: RouteHandler) => () => void
  /** Broadcasts an application message through the middleware and the overlay (`node.broadcast`). */
  broadcast: (type: string, data: unknown, options?: BroadcastOptions) => void
  /** Broadcasts a reserved-type message through the overlay (or to every peer without it), past the middleware. */
  broadcastRaw: (type: string, data: unknown, options: BroadcastOptions) => void
  /** Receives the overlay broadcasts of one reserved payload type. */
  handleBroadcast: (type: string, handler: BroadcastProtocolHandler) => () => void
}

/**
 * A service's optional lifecycle, called by the node on the object `create` returned:
 * `start` after the identity is loaded and before the node listens (awaited: a failure fails
 * `start()`), `afterStart` once the node runs and its overlay started, `beforeStop` at the start
 * of every `stop()`. Timers on `ctx.timers`, `ctx.signal` and `ctx.whenStopping` need no hook.
 */
export interface ServiceLifecycle {
  start?: (options: { signal?: AbortSignal }) => void | Promise<void>
  afterStart?: () => void
  beforeStop?: () => void
}

/**
 * A service: a name (the `node.services` member it becomes) and a factory that receives the
 * node's context, once, in the node's constructor. What `create` returns is the service's API.
 */
export interface Service<Name extends string = string, Api extends object = object> {
  readonly name: Name
  readonly create: (ctx: ServiceContext) => Api
}

/** `node.services` of a node created with these services: each one's API under its name. */
export type ServiceMap<S extends readonly Service[]> = { [K in S[number] as K['name']]: ReturnType<K['create']> }
