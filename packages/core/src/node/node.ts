import { installBinaryEnvelopes } from '../wire/binary-envelope.js'
import type { AbortOptions } from '../util/abort.js'
import type { Clock, Random, TimerSet } from '../util/clock.js'
import { Emitter } from '../util/emitter.js'
import { NotStartedError } from '../util/errors.js'
import type { AbuseLimits, Limits } from '../util/limits.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../util/metrics.js'
import { scheduleAfter, scheduleEvery } from '../util/timers.js'
import type { TimerCallback } from '../util/timers.js'
import { isReservedType } from '../wire/envelope.js'
import type { PeerId } from '../wire/identity.js'
import type { Peer } from '../link/peer.js'
import { parseAddress } from '../link/address.js'
import type { PeerStore } from '../store/peer-store.js'
import type { AnnounceOptions, Reply } from '../overlay/announce.js'
import { Plumtree } from '../overlay/plumtree.js'
import type { Membership } from '../overlay/membership.js'
import type { BroadcastOptions, InboundMessage, RouteHandler } from '../services/app-messages.js'
import type { Service, ServiceContext, ServiceMap } from '../services/context.js'
import type { StateService } from '../services/state/state-service.js'
import type { Member } from '../services/state/members.js'
import type { EventBus } from '../services/events/event-bus.js'
import type { BroadcastStream, BroadcastStreamOptions, BroadcastStreams } from '../services/broadcast-stream.js'
import { allServices } from '../services/registry.js'
import { overlaySignalling } from '../overlay/signalling.js'
import { iceExchange } from './ice-servers.js'
import { acceptInbound } from '../link/inbound.js'
import { pageLifecycle } from './page-lifecycle.js'
import { flood } from '../overlay/flood.js'
import { installJsCrypto } from '../wire/js-crypto.js'
import type { InboundHandler, Middleware } from './middleware.js'
import type { DialOptions, NodeEvents } from './node-events.js'
import type { NodeOptions } from './options.js'
import { checkNodeOptions } from './option-checks.js'
import { checkLegacyOptions } from './legacy-options.js'
import { Kernel } from './kernel.js'
import type { Lifecycle } from './lifecycle.js'
export type { NodeStatus, ProtocolHandler } from '../link/context.js'
export type { DialOptions, NodeEvents } from './node-events.js'

declare module './middleware.js' {
  // middleware sees the whole node (see MiddlewareNode)
  interface MiddlewareNode extends HearsayNode<object> {}
}

/**
 * A hearsay node: the public API over its kernel (node/kernel.ts wires the layers: links,
 * store, overlay, services; docs/api.md, "Layers"). Protocol modules and services never see
 * this class: they get the node's context (`ServiceContext` and the narrower contexts below it).
 */
export class HearsayNode<Services extends object = Record<string, unknown>> extends Emitter<NodeEvents> {
  readonly metrics: Metrics
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly limits: Readonly<Limits>
  /** The abuse limits in force (`abuse` option over `DEFAULT_ABUSE_LIMITS`). */
  readonly abuse: Readonly<AbuseLimits>
  readonly store: PeerStore
  /** The services' APIs by name (`services` option), e.g. `node.services.state`. */
  readonly services: Services
  readonly #k: Kernel

  constructor (opts: NodeOptions = {}) {
    super()
    checkNodeOptions(opts)
    const k = this.#k = new Kernel(opts, this, this)
    this.metrics = k.metrics
    this.clock = k.clock
    this.random = k.random
    this.logger = k.logger
    this.limits = k.limits
    this.abuse = k.abuse
    this.store = k.store
    this.services = k.host.apis as Services
  }

  /** The node's peer id. Known before `start()` only when an identity was passed in. */
  get id (): PeerId { return this.#k.loaded().id }
  get publicKey (): Uint8Array { return this.#k.loaded().publicKey }
  get status (): Lifecycle['status'] { return this.#k.life.status }
  /** Addresses the node listens on, with real ports. */
  get addresses (): string[] { return this.#k.links.addresses }
  /** The peers connected right now. */
  peers (): Peer[] { return this.#k.links.peers() }
  getPeer (id: PeerId): Peer | undefined { return this.#k.links.getPeer(id) }
  /** Aborted when the node stops. */
  get signal (): AbortSignal { return this.#k.life.signal }
  /** True once the node has an overlay neighbour (with `overlay: false`: a peer). */
  get joined (): boolean { return this.#k.reach.joined }

  /**
   * Starts listening and dials the seeds (in the background: a dead seed does not fail start; it
   * is retried with backoff). A stopped node may start again: it keeps its identity, routes,
   * middleware, listeners and replicated state.
   */
  async start (options: AbortOptions = {}): Promise<void> { await this.#k.start(options) }

  /** Closes every link and listener, cancels every timer and pending dial. Idempotent. */
  async stop (): Promise<void> {
    if (this.#k.life.status === 'stopped' || this.#k.life.status === 'stopping') return
    if (this.#k.life.status === 'idle') { this.#k.life.status = 'stopped'; return }
    await this.#k.teardown()
    this.logger.info('node stopped')
    this.emit('stop', undefined)
  }

  /**
   * Opens an authenticated link to `address` (or returns the peer if that address is already
   * being dialled). Rejects with `DialError`, `TimeoutError`, `HandshakeError`, `SelfDialError`,
   * `PeerIdMismatchError`, `NoTransportError`, `InvalidAddressError` or `AbortError`.
   */
  async dial (address: string, options: DialOptions = {}): Promise<Peer> {
    if (options.neighbor !== undefined && typeof options.neighbor !== 'boolean') throw new TypeError('dial option neighbor must be a boolean')
    const peer = await this.#k.ctx.connect(address, options)
    // a peer the application dialled is one it wants to reach the network through
    if (options.neighbor !== false) this.#k.membership?.adopt(peer, parseAddress(address, this.#k.defaultProtocol).address)
    return peer
  }

  /**
   * Closes the link to a peer (saying goodbye first): a `Peer`, a peer id, or an address it was
   * dialled at or advertises. Resolves to whether there was such a link (false: nothing to do).
   */
  async hangUp (peer: Peer | PeerId | string): Promise<boolean> { return await this.#k.links.hangUp(peer) }

  /**
   * Tells the neighbours that this node is paused: its timers may run late or not at all (a
   * hidden or frozen page does it by itself; an Electron app may call it on `powerMonitor`'s
   * `suspend`). They then tolerate up to their `pausedToleranceMs` of silence from it before
   * declaring it down. The node keeps working. Needs the overlay.
   */
  pause (): void { this.#membership().setPaused(true) }

  /**
   * Ends a `pause()` and re-checks every link at once: the failure detector starts afresh (no
   * neighbour is declared down for a silence this node could not hear), and a node below
   * `minPeers` refills, one alone rejoins, without waiting for its backoff. Call it on a wake
   * from sleep (a node notices one by itself when its timers fire far too late) or when the
   * network comes back.
   */
  resume (): void { this.#membership().setPaused(false) }

  /** Whether `pause()` is in force (a hidden page is paused). */
  get paused (): boolean { return this.#k.membership?.paused ?? false }

  #membership (): Membership {
    this.#k.life.assertRunning()
    const m = this.#k.membership
    if (m === undefined) throw new NotStartedError('pause and resume need the overlay')
    return m
  }

  /** Round-trip time to a connected peer in ms. Rejects with `TimeoutError` after `timeout` (default 3000). */
  async ping (peer: Peer | PeerId, options: AbortOptions & { timeout?: number } = {}): Promise<number> { return await this.#k.ping(peer, options) }

  /**
   * Sends an announcement through the overlay (up to `limit` hops) and returns the replies as
   * they arrive. The iterable ends after `timeout`, after `maxReplies`, when the node stops, or
   * rejects with `AbortError` when `signal` aborts. Throws `TypeError` or `TooLargeError` at
   * once for bad arguments, before anything is sent.
   */
  announce (options: AnnounceOptions): AsyncIterable<Reply> {
    this.#k.life.assertRunning()
    if (this.#k.announcer === undefined) throw new NotStartedError('announce needs the overlay (overlay: false was set)')
    if (isReservedType(options.type)) throw new TypeError(`message type "${options.type}" is reserved`)
    return this.#k.announcer.announce(options)
  }

  /**
   * Adds a middleware to the message pipeline (docs/api.md, "Middleware"): an object with
   * `plugin`, `connection`, `inbound` and `outbound` hooks, or a bare inbound function
   * `(msg, ctx, next) => …`. Runs in `use()` order. Returns the node, typed with what the
   * plugin hook added to it.
   */
  use<Ext extends object = {}> (mw: Middleware<Ext> | InboundHandler): this & Ext {
    this.#k.messaging.use(mw as Middleware<object> | InboundHandler)
    return this as this & Ext
  }

  /**
   * Calls `handler(msg, peer)` for every application message of `type` (after the inbound
   * middleware); `'*'` gets the messages of every type without a route. Several handlers of one
   * type run in order. Returns a function that removes the route. `TypeError` for a reserved or
   * empty type, `TooLargeError` above `maxTypeBytes`.
   */
  route (type: string, handler: RouteHandler): () => void { return this.#k.ctx.route(type, handler) }

  /**
   * Sends an application message to every node of the overlay, up to `limit` hops (once each,
   * through the same dissemination as `announce`, without replies); receivers get it as a
   * message with `via: 'broadcast'`. With `overlay: false` it goes to every connected peer.
   * Throws `TypeError` or `TooLargeError` before anything is sent.
   */
  broadcast (type: string, data?: unknown, options: BroadcastOptions = {}): void {
    this.#k.life.assertRunning()
    if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 0)) throw new TypeError('limit must be a non-negative integer')
    this.#k.ctx.broadcast(type, data, options)
  }

  /**
   * The broadcast channel as Web Streams: what you write goes to every node of the overlay, and
   * you read what the other nodes write to broadcast streams of the same `name`.
   */
  createBroadcastStream (options: BroadcastStreamOptions = {}): BroadcastStream {
    const s = this.#k.service<BroadcastStreams>('broadcastStreams')
    this.#k.life.assertRunning()
    return s.create(options)
  }

  /** Runs `fn` once after `ms` on the node's clock; `stop()` cancels it. Returns a cancel function. */
  after (ms: number, fn: TimerCallback): () => void {
    this.#k.life.assertAlive()
    return scheduleAfter(this.#k.timers, ms, fn, (err) => { this.#k.timerFailed(err) })
  }

  /** Runs `fn` every `ms` on the node's clock until cancelled or `stop()`. Returns a cancel function. */
  every (ms: number, fn: TimerCallback): () => void {
    this.#k.life.assertAlive()
    return scheduleEvery(this.#k.timers, ms, fn, (err) => { this.#k.timerFailed(err) })
  }

  /** Replicated key/value state (scuttlebutt anti-entropy): `set`, `get`, `getRemote`, `keys`, `delete`, `believe`, `on('set:…')`. Usable once `start()` resolved. */
  get state (): StateService { return this.#k.service('state') }

  /** Every member of the cluster this node knows of, itself first (`self: true`); needs the state service (`UnsupportedError` otherwise). */
  members (): Member[] { return this.state.members() }

  /** The network-wide event bus: `say`, `hear`, `hearOnce`. Usable once `start()` resolved. */
  get events (): EventBus { return this.#k.service('events') }

  /** The overlay's views, for status pages and tests. */
  get overlay (): { active: PeerId[], passive: PeerId[], drops: Record<string, number> } | undefined {
    const hv = this.#k.membership?.hv
    if (hv === undefined) return undefined
    return { active: [...hv.activeView().keys()], passive: [...hv.passiveView().keys()], drops: { ...hv.drops } }
  }

  /**
   * The broadcast tree of `announce` and `broadcast` as this node sees it: Plumtree's eager
   * (payload) and lazy (IHAVE-only) neighbours of the shared tree and the root it follows;
   * flooding has every neighbour eager and no root. `undefined` with `overlay: false`.
   */
  get tree (): { mode: 'plumtree' | 'flood', eager: PeerId[], lazy: PeerId[], root: PeerId | undefined } | undefined {
    const b = this.#k.announcer?.broadcaster
    if (b === undefined) return undefined
    if (b instanceof Plumtree) return { mode: 'plumtree', eager: b.eagerPeers(), lazy: b.lazyPeers(), root: b.rootPeer(this.clock.now()) }
    return { mode: 'flood', eager: this.overlay?.active ?? [], lazy: [], root: undefined }
  }

  /** Writes the stat events waiting in memory to the store now; resolves when they are written. */
  async flushStats (): Promise<void> { await this.#k.stats.flush() }

  /** The address a peer's stats are kept under: the one dialled, else the first it advertised. @internal */
  statAddress (peer: Peer): string | undefined { return this.#k.statAddress(peer) }

  /** The node's context, as protocol modules and services get it. @internal */
  get context (): ServiceContext { return this.#k.ctx }
  /** The reserved message types with a handler. @internal */
  get protocolTypes (): string[] { return this.#k.links.protocolTypes }
  /** The overlay's membership of this run (benchmarks force their topology through it). @internal */
  get membershipService (): Membership | undefined { return this.#k.membership }
  /** @internal */ get lifetimeTimers (): TimerSet { return this.#k.timers }
  /** @internal */ handle (...a: Parameters<ServiceContext['handle']>): () => void { return this.#k.ctx.handle(...a) }
  /** Sends a protocol message; false when it could not be sent. @internal */
  sendProtocol (peer: Peer, type: string, data: unknown): boolean { return this.#k.ctx.send(peer, type, data) }
  /** Feeds a message into the inbound middleware chain (used by the relays). @internal */
  injectInbound (msg: InboundMessage): void { this.#k.messaging.receive(msg) }
}

/** The built-in services `createNode()` lists when `services` is not given. */
type AllServices = ReturnType<typeof allServices>

/**
 * Creates a node with every built-in service (`services` defaults to `allServices()`), or with
 * the services listed, built-in or the application's own; `node.services` is typed with them.
 * Signalling through the overlay is on (`signalling` defaults to `overlaySignalling()`), and so is
 * the exchange of ICE servers (`iceExchange` defaults to `iceExchange()`).
 * Nothing happens on the network until `start()`.
 */
export function createNode<const S extends readonly Service[] = AllServices> (options: NodeOptions & { services?: S } = {}): HearsayNode<ServiceMap<S>> {
  return new HearsayNode<ServiceMap<S>>(withFullSdk(options))
}

/**
 * The options of the full SDK's `createNode` (`@hearsay/core`'s and `hearsay`'s): advice for
 * the older packages' option names, the JavaScript hashes where WebCrypto is missing, `'flood'`
 * as `flood()`, and by default every service, overlay signalling and the ICE server exchange.
 * `hearsay/lite` takes none of it, so that what an application does not use stays out of its
 * bundle.
 */
export function withFullSdk<O extends Pick<NodeOptions, 'broadcast' | 'services' | 'signalling' | 'iceExchange' | 'pageLifecycle' | 'inbound'>> (options: O): O {
  checkLegacyOptions(options)
  installJsCrypto()
  installBinaryEnvelopes()
  const life = options.pageLifecycle
  return {
    ...options,
    broadcast: options.broadcast === 'flood' ? flood() : options.broadcast,
    services: options.services ?? allServices(),
    signalling: options.signalling ?? overlaySignalling(),
    iceExchange: options.iceExchange ?? iceExchange(),
    inbound: options.inbound ?? acceptInbound(),
    pageLifecycle: life === undefined || life === true ? pageLifecycle() : life
  }
}
