import type { AbortOptions } from '../util/abort.js'
import { throwIfAborted, withDeadline } from '../util/abort.js'
import type { Clock, Random } from '../util/clock.js'
import { systemClock, systemRandom, TimerSet } from '../util/clock.js'
import { Emitter } from '../util/emitter.js'
import { NotStartedError } from '../util/errors.js'
import type { AbuseLimits, Limits } from '../util/limits.js'
import { DEFAULT_ABUSE_LIMITS, DEFAULT_LIMITS } from '../util/limits.js'
import type { Logger } from '../util/logger.js'
import { toLogger } from '../util/logger.js'
import { Metrics } from '../util/metrics.js'
import { scheduleAfter, scheduleEvery } from '../util/timers.js'
import type { TimerCallback } from '../util/timers.js'
import { encodeEnvelope, isReservedType } from '../wire/envelope.js'
import type { Identity, PeerId } from '../wire/identity.js'
import { generateIdentity, identityFromSecretKey, signWith } from '../wire/identity.js'
import { AbuseGuard } from '../link/abuse-guard.js'
import type { Channel } from '../link/channel.js'
import type { ConnectOptions } from '../link/context.js'
import { LinkManager } from '../link/link-manager.js'
import type { Peer } from '../link/peer.js'
import { secureChannel } from '../link/secure-channel.js'
import { parseAddress } from '../link/address.js'
import { memoryStore } from '../store/memory-store.js'
import type { PeerStore } from '../store/peer-store.js'
import { StatRecorder } from '../store/stat-recorder.js'
import { StoreUpkeep } from '../store/store-upkeep.js'
import type { AnnounceOptions, AnnounceService, Reply, Request } from '../overlay/announce.js'
import type { Membership } from '../overlay/membership.js'
import { Plumtree } from '../overlay/plumtree.js'
import { Reach } from '../overlay/reach.js'
import { JOIN_QUEUE_DEFAULTS } from '../overlay/join-queue.js'
import { SignalService } from '../overlay/signalling.js'
import type { BroadcastOptions, InboundMessage, RouteHandler } from '../services/app-messages.js'
import type { Service, ServiceContext, ServiceEvents, ServiceMap } from '../services/context.js'
import type { StateService } from '../services/state/state-service.js'
import type { Member } from '../services/state/members.js'
import type { EventBus } from '../services/events/event-bus.js'
import type { OpenStreamOptions, PeerStream, StreamService } from '../services/streams.js'
import type { BroadcastStream, BroadcastStreamOptions, BroadcastStreams } from '../services/broadcast-stream.js'
import { allServices } from '../services/registry.js'
import { checkAppType, Messaging } from './messages.js'
import type { InboundHandler, Middleware } from './middleware.js'
import type { NodeOptions } from './options.js'
import { DEFAULTS } from './options.js'
import { checkNodeOptions } from './option-checks.js'
import { Lifecycle } from './lifecycle.js'
import { nodeContext } from './node-context.js'
import { notEnabled, ServiceHost } from './service-host.js'
import { startOverlay } from './start-overlay.js'
export type { NodeStatus, ProtocolHandler } from '../link/context.js'

declare module './middleware.js' {
  // middleware sees the whole node (see MiddlewareNode)
  interface MiddlewareNode extends HearsayNode<object> {}
}

/** Every event of a node: those its layers and services emit (`ServiceEvents`) and the node's own. */
export interface NodeEvents extends ServiceEvents {
  /** An application message (direct, broadcast or relayed) that passed the inbound middleware. */
  message: InboundMessage
  /** An announcement reached this node; answer with `req.reply(data)`. */
  request: Request
  /** The failure detector suspects a peer (its link is then closed and replaced). */
  'peer:down': { id: PeerId }
  /** A peer reported down was heard from again. */
  'peer:up': { id: PeerId }
}

export interface DialOptions extends ConnectOptions {
  /**
   * Make the peer an overlay neighbour (a JOIN through it when the node has none yet, else a
   * high-priority NEIGHBOR), so that broadcasts, announces, state and events travel over the
   * link. `false` keeps it a plain link (streams, direct messages). Ignored with `overlay: false`.
   * @default true
   */
  neighbor?: boolean
}

/**
 * A hearsay node: the wiring of its layers (links, store, overlay, services; docs/api.md,
 * "Layers") and the public API. Protocol modules and services never see this class: they get
 * the node's context (`ServiceContext` and the narrower contexts below it).
 */
export class HearsayNode<Services extends object = Record<string, unknown>> extends Emitter<NodeEvents> {
  readonly metrics = new Metrics()
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly limits: Readonly<Limits>
  /** The abuse limits in force (`abuse` option over `DEFAULT_ABUSE_LIMITS`). */
  readonly abuse: Readonly<AbuseLimits>
  readonly store: PeerStore
  /** The services' APIs by name (`services` option), e.g. `node.services.state`. */
  readonly services: Services
  readonly #opts: NodeOptions
  readonly #life = new Lifecycle()
  readonly #timers: TimerSet
  readonly #ownsStore: boolean
  /** The owned store was closed by the last stop() and must be reopened by the next start(). */
  #storeClosed = false
  readonly #stats: StatRecorder
  readonly #links: LinkManager
  readonly #reach: Reach
  readonly #messaging: Messaging
  readonly #host: ServiceHost
  readonly #ctx: ServiceContext
  readonly #signals: SignalService
  #identity: Identity | undefined
  #upkeep: StoreUpkeep | undefined
  #membership: Membership | undefined
  #announcer: AnnounceService | undefined

  constructor (opts: NodeOptions = {}) {
    super()
    checkNodeOptions(opts)
    this.#opts = opts
    this.clock = opts.clock ?? systemClock
    this.random = opts.random ?? systemRandom
    this.logger = toLogger(opts.logger)
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...opts.limits })
    this.abuse = Object.freeze({ ...DEFAULT_ABUSE_LIMITS, ...opts.abuse })
    const channel: Channel = opts.channel ?? secureChannel({ networkKey: opts.networkKey })
    this.#timers = new TimerSet(this.clock)
    this.#ownsStore = opts.closeStore ?? opts.store === undefined
    this.store = opts.store ?? memoryStore()
    this.#stats = new StatRecorder(this.store, {
      flushInterval: opts.statsFlushInterval ?? DEFAULTS.statsFlushInterval,
      maxBatch: opts.statsMaxBatch ?? DEFAULTS.statsMaxBatch,
      schedule: (ms, fn) => this.#timers.after(ms, fn),
      onError: (err, address) => {
        this.metrics.inc('store.errors')
        this.logger.warn('peer store write failed', { address, err })
      }
    })
    if (opts.identity !== undefined) this.#identity = opts.identity instanceof Uint8Array ? identityFromSecretKey(opts.identity) : opts.identity
    this.onListenerError = (err) => {
      this.logger.error('an event listener threw', { err })
      this.#emitError(err)
    }
    const overlay = opts.overlay !== false
    const status = (): Lifecycle['status'] => this.#life.status
    this.#reach = new Reach({
      overlay, joinQueue: { ...JOIN_QUEUE_DEFAULTS, ...opts.joinQueue }, metrics: this.metrics, logger: this.logger, status,
      peerCount: () => this.#links.size, emit: (e) => this.emit(e, undefined), emitError: (err) => { this.#emitError(err) }
    })
    this.#links = new LinkManager({
      clock: this.clock, random: this.random, logger: this.logger, metrics: this.metrics, limits: this.limits, channel,
      guard: new AbuseGuard(this.abuse, this.clock, this.metrics, (e) => { this.emit('peer:ban', e) }),
      transports: [...(opts.transports ?? [])],
      timers: this.#timers,
      identity: () => this.#identity!,
      status,
      whenStopping: (fn) => this.#life.whenStopping(fn),
      emit: (e, p) => this.emit(e, p as NodeEvents[typeof e]),
      defaultProtocol: this.#defaultProtocol,
      handshakeTimeout: opts.handshakeTimeout ?? DEFAULTS.handshakeTimeout,
      dialTimeout: opts.dialTimeout ?? DEFAULTS.dialTimeout,
      duplicateGraceMs: opts.duplicateGraceMs ?? DEFAULTS.duplicateGraceMs,
      observe: (peer) => { this.#membership?.observe(peer) },
      sent: (peer) => { this.#membership?.sent(peer) },
      receive: (peer, type, data) => { this.#messaging.receiveDirect(peer, type, data) },
      advertisedAddress: (peer) => this.#membership?.advertisedAddress(peer),
      peerAdded: () => { this.#reach.peerAdded() },
      peerRemoved: () => { this.#reach.peerRemoved() },
      dialed: (address, peerId) => { this.#stats.add(address, peerId === undefined ? { type: 'dial-fail' } : { type: 'dial-ok', peerId }) }
    })
    this.#links.peerSend = (peer, type, data) => { checkAppType(this.limits, type); this.#messaging.send(peer, type, data) }
    this.#ctx = nodeContext({
      clock: this.clock, random: this.random, logger: this.logger, metrics: this.metrics, limits: this.limits, store: this.store,
      options: opts, overlayEnabled: overlay, broadcastMode: opts.broadcast ?? DEFAULTS.broadcast, plainChannel: channel.name === 'plain',
      life: this.#life, timers: this.#timers, links: this.#links, reach: this.#reach, stats: this.#stats,
      id: () => this.id,
      sign: (m) => signWith(this.#identity!, m),
      on: (e, fn) => this.on(e, fn as (payload: unknown) => void),
      emit: (e, p) => this.emit(e, p as never),
      reportError: (err, where) => { this.onListenerError(err, where) },
      ping: async (peer, o) => await this.ping(peer, o),
      statAddress: (peer) => this.statAddress(peer),
      reserveStoreRows: (n) => this.#upkeep?.reserve(n) ?? n,
      activeView: () => this.overlay?.active,
      messaging: () => this.#messaging,
      broadcastRaw: (type, data, o) => { this.#broadcastRaw(type, data, o) }
    })
    // first peer:connect listener: middleware connection hooks may open streams
    // one opener for every peer (not a closure each: they add up at 10k simulated nodes)
    const openStream = (p: Peer, name: string, o: OpenStreamOptions): PeerStream => this.#service<StreamService>('streams').open(p, name, o)
    this.on('peer:connect', (peer) => { peer.streamOpener = openStream })
    this.#messaging = new Messaging(this, this.#ctx, {
      sendDirect: (peer, type, data) => { this.#links.sendFrame(peer, type, data) },
      sendBroadcast: (type, data, o) => { this.#broadcastRaw(type, data, o) },
      emitMessage: (msg) => this.emit('message', msg),
      emitError: (err) => { this.#emitError(err) }
    })
    this.#host = new ServiceHost(opts.services ?? [], this.#ctx)
    this.services = this.#host.apis as Services
    this.#life.onEveryStop(() => { this.#host.beforeStop() })
    if (this.#host.get('streams') === undefined) {
      // as a node with no `stream` listener does: refuse, so that the opener learns at once
      this.#ctx.handle('st.open', (peer, data) => {
        const id = (data as { s?: unknown } | null)?.s
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) { this.metrics.drop('stream-malformed'); return }
        this.metrics.drop('stream-refused')
        this.#ctx.send(peer, 'st.reset', { s: id, r: 'refused' })
      })
    }
    this.#signals = new SignalService(this.#ctx)
  }

  /** The node's peer id. Known before `start()` only when an identity was passed in. */
  get id (): PeerId { return this.#loaded().id }
  get publicKey (): Uint8Array { return this.#loaded().publicKey }
  get status (): Lifecycle['status'] { return this.#life.status }
  /** Addresses the node listens on, with real ports. */
  get addresses (): string[] { return this.#links.addresses }
  /** The peers connected right now. */
  peers (): Peer[] { return this.#links.peers() }
  getPeer (id: PeerId): Peer | undefined { return this.#links.getPeer(id) }
  /** Aborted when the node stops. */
  get signal (): AbortSignal { return this.#life.signal }
  /** True once the node has an overlay neighbour (with `overlay: false`: a peer). */
  get joined (): boolean { return this.#reach.joined }

  /**
   * Starts listening and dials the seeds (in the background: a dead seed does not fail start; it
   * is retried with backoff). A stopped node may start again: it keeps its identity, routes,
   * middleware, listeners and replicated state.
   */
  async start (options: AbortOptions = {}): Promise<void> {
    this.#life.beginStart()
    try {
      throwIfAborted(options.signal)
      if (this.#storeClosed) {
        if (this.store.reopen === undefined) throw new NotStartedError('this node closed its store when it stopped and the store cannot reopen: pass closeStore: false, or a store with reopen()')
        await this.store.reopen(options)
        this.#storeClosed = false
      }
      this.#stats.reopen()
      await this.#loadIdentity(options)
      await this.#host.start(options)
      // transports that need the node (WebRTC signals through the overlay) get it before listening
      await this.#links.listen(this.#opts.listen ?? [], { peerId: this.id, signals: this.#signals, logger: this.logger }, options)
    } catch (err) {
      await this.#teardown()
      throw err
    }
    this.#life.status = 'running'
    this.logger.info('node started', { id: this.id, addresses: this.addresses })
    const o = this.#opts
    this.#upkeep = new StoreUpkeep(this.#ctx, {
      purgeInterval: o.purgeInterval ?? DEFAULTS.purgeInterval,
      rule: { minFailures: o.purgeMinFailures ?? DEFAULTS.purgeMinFailures, maxSuccessRatio: o.purgeMaxSuccessRatio ?? DEFAULTS.purgeMaxSuccessRatio },
      rttInterval: o.rttInterval ?? DEFAULTS.rttInterval,
      maxStoredPeers: o.maxStoredPeers ?? DEFAULTS.maxStoredPeers
    })
    this.#upkeep.start()
    if (o.overlay === false) {
      this.#host.afterStart()
      for (const seed of o.seeds ?? []) this.dial(seed).catch((err: unknown) => { this.logger.warn('seed dial failed', { seed, err }) })
    } else {
      const run = startOverlay(this.#ctx, o, {
        request: (req) => { this.emit('request', req) },
        broadcast: (b) => { this.#messaging.deliverBroadcast(b) },
        neighbour: (peer, up) => { this.#reach.neighbourChanged(peer, up) },
        event: (e, p) => { this.emit(e, p) }
      })
      this.#announcer = run.announcer
      this.#host.afterStart()
      this.#membership = run.membership
      run.membership.start().catch((err: unknown) => { this.logger.warn('overlay start failed', { err }) })
    }
    this.emit('start', undefined)
  }

  /** Closes every link and listener, cancels every timer and pending dial. Idempotent. */
  async stop (): Promise<void> {
    if (this.#life.status === 'stopped' || this.#life.status === 'stopping') return
    if (this.#life.status === 'idle') { this.#life.status = 'stopped'; return }
    await this.#teardown()
    this.logger.info('node stopped')
    this.emit('stop', undefined)
  }

  async #teardown (): Promise<void> {
    this.#life.beginStop()
    this.#reach.stop()
    // protocol modules are made anew by the next start(); their handlers and listeners go now
    this.#membership?.dispose()
    this.#membership = undefined
    this.#announcer?.dispose()
    this.#announcer = undefined
    this.#reach.clearNeighbours()
    await this.#links.closeLinks()
    this.#timers.clear()
    await this.#links.closeTransports()
    // the last stat events are written, but a store that never answers must not hold stop() up
    await withDeadline(this.#stats.close(), { timeoutMs: 5_000, clock: this.clock }).catch((err: unknown) => {
      this.logger.warn('stat events not written before stop', { err })
    })
    if (this.#ownsStore) {
      await this.store.close().catch(() => {})
      this.#storeClosed = true
    }
    this.#links.forget()
    this.#life.status = 'stopped'
  }

  /**
   * Opens an authenticated link to `address` (or returns the peer if that address is already
   * being dialled). Rejects with `DialError`, `TimeoutError`, `HandshakeError`, `SelfDialError`,
   * `PeerIdMismatchError`, `NoTransportError`, `InvalidAddressError` or `AbortError`.
   */
  async dial (address: string, options: DialOptions = {}): Promise<Peer> {
    if (options.neighbor !== undefined && typeof options.neighbor !== 'boolean') throw new TypeError('dial option neighbor must be a boolean')
    const peer = await this.#ctx.connect(address, options)
    // a peer the application dialled is one it wants to reach the network through
    if (options.neighbor !== false) this.#membership?.adopt(peer, parseAddress(address, this.#defaultProtocol).address)
    return peer
  }

  /**
   * Closes the link to a peer (saying goodbye first): a `Peer`, a peer id, or an address it was
   * dialled at or advertises. Resolves to whether there was such a link (false: nothing to do).
   */
  async hangUp (peer: Peer | PeerId | string): Promise<boolean> { return await this.#links.hangUp(peer) }

  /** Round-trip time to a connected peer in ms. Rejects with `TimeoutError` after `timeout` (default 3000). */
  async ping (peer: Peer | PeerId, options: AbortOptions & { timeout?: number } = {}): Promise<number> {
    this.#life.assertRunning()
    const ms = await this.#links.ping(peer, options.timeout ?? DEFAULTS.pingTimeout, options.signal)
    const p = typeof peer === 'string' ? this.getPeer(peer) : peer
    const address = p === undefined ? undefined : this.statAddress(p)
    if (address !== undefined) this.#stats.add(address, { type: 'rtt', ms })
    return ms
  }

  /**
   * Sends an announcement through the overlay (up to `limit` hops) and returns the replies as
   * they arrive. The iterable ends after `timeout`, after `maxReplies`, when the node stops, or
   * rejects with `AbortError` when `signal` aborts. Throws `TypeError` or `TooLargeError` at
   * once for bad arguments, before anything is sent.
   */
  announce (options: AnnounceOptions): AsyncIterable<Reply> {
    this.#life.assertRunning()
    if (this.#announcer === undefined) throw new NotStartedError('announce needs the overlay (overlay: false was set)')
    if (isReservedType(options.type)) throw new TypeError(`message type "${options.type}" is reserved`)
    return this.#announcer.announce(options)
  }

  /**
   * Adds a middleware to the message pipeline (docs/api.md, "Middleware"): an object with
   * `plugin`, `connection`, `inbound` and `outbound` hooks, or a bare inbound function
   * `(msg, ctx, next) => …`. Runs in `use()` order. Returns the node, typed with what the
   * plugin hook added to it.
   */
  use<Ext extends object = {}> (mw: Middleware<Ext> | InboundHandler): this & Ext {
    this.#messaging.use(mw as Middleware<object> | InboundHandler)
    return this as this & Ext
  }

  /**
   * Calls `handler(msg, peer)` for every application message of `type` (after the inbound
   * middleware); `'*'` gets the messages of every type without a route. Several handlers of one
   * type run in order. Returns a function that removes the route. `TypeError` for a reserved or
   * empty type, `TooLargeError` above `maxTypeBytes`.
   */
  route (type: string, handler: RouteHandler): () => void { return this.#ctx.route(type, handler) }

  /**
   * Sends an application message to every node of the overlay, up to `limit` hops (once each,
   * through the same dissemination as `announce`, without replies); receivers get it as a
   * message with `via: 'broadcast'`. With `overlay: false` it goes to every connected peer.
   * Throws `TypeError` or `TooLargeError` before anything is sent.
   */
  broadcast (type: string, data?: unknown, options: BroadcastOptions = {}): void {
    this.#life.assertRunning()
    if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 0)) throw new TypeError('limit must be a non-negative integer')
    this.#ctx.broadcast(type, data, options)
  }

  /**
   * The broadcast channel as Web Streams: what you write goes to every node of the overlay, and
   * you read what the other nodes write to broadcast streams of the same `name`.
   */
  createBroadcastStream (options: BroadcastStreamOptions = {}): BroadcastStream {
    const s = this.#service<BroadcastStreams>('broadcastStreams')
    this.#life.assertRunning()
    return s.create(options)
  }

  /** Runs `fn` once after `ms` on the node's clock; `stop()` cancels it. Returns a cancel function. */
  after (ms: number, fn: TimerCallback): () => void {
    this.#life.assertAlive()
    return scheduleAfter(this.#timers, ms, fn, (err) => { this.#timerFailed(err) })
  }

  /** Runs `fn` every `ms` on the node's clock until cancelled or `stop()`. Returns a cancel function. */
  every (ms: number, fn: TimerCallback): () => void {
    this.#life.assertAlive()
    return scheduleEvery(this.#timers, ms, fn, (err) => { this.#timerFailed(err) })
  }

  /** Replicated key/value state (scuttlebutt anti-entropy): `set`, `get`, `getRemote`, `keys`, `delete`, `believe`, `on('set:…')`. Usable once `start()` resolved. */
  get state (): StateService { return this.#service('state') }

  /** Every member of the cluster this node knows of, itself first (`self: true`); needs the state service (`UnsupportedError` otherwise). */
  members (): Member[] { return this.state.members() }

  /** The network-wide event bus: `say`, `hear`, `hearOnce`. Usable once `start()` resolved. */
  get events (): EventBus { return this.#service('events') }

  /** The overlay's views, for status pages and tests. */
  get overlay (): { active: PeerId[], passive: PeerId[], drops: Record<string, number> } | undefined {
    const hv = this.#membership?.hv
    if (hv === undefined) return undefined
    return { active: [...hv.activeView().keys()], passive: [...hv.passiveView().keys()], drops: { ...hv.drops } }
  }

  /**
   * The broadcast tree of `announce` and `broadcast` as this node sees it: Plumtree's eager
   * (payload) and lazy (IHAVE-only) neighbours of the shared tree and the root it follows;
   * flooding has every neighbour eager and no root. `undefined` with `overlay: false`.
   */
  get tree (): { mode: 'plumtree' | 'flood', eager: PeerId[], lazy: PeerId[], root: PeerId | undefined } | undefined {
    const b = this.#announcer?.broadcaster
    if (b === undefined) return undefined
    if (b instanceof Plumtree) return { mode: 'plumtree', eager: b.eagerPeers(), lazy: b.lazyPeers(), root: b.rootPeer(this.clock.now()) }
    return { mode: 'flood', eager: this.overlay?.active ?? [], lazy: [], root: undefined }
  }

  /** Writes the stat events waiting in memory to the store now; resolves when they are written. */
  async flushStats (): Promise<void> { await this.#stats.flush() }

  /** The address a peer's stats are kept under: the one dialled, else the first it advertised. @internal */
  statAddress (peer: Peer): string | undefined {
    return peer.direction === 'outbound' ? peer.address : this.#membership?.advertisedAddress(peer.id)
  }

  /** The node's context, as protocol modules and services get it. @internal */
  get context (): ServiceContext { return this.#ctx }
  /** The reserved message types with a handler. @internal */
  get protocolTypes (): string[] { return this.#links.protocolTypes }
  /** @internal */ get lifetimeTimers (): TimerSet { return this.#timers }
  /** @internal */ handle (...a: Parameters<ServiceContext['handle']>): () => void { return this.#ctx.handle(...a) }
  /** Sends a protocol message; false when it could not be sent. @internal */
  sendProtocol (peer: Peer, type: string, data: unknown): boolean { return this.#ctx.send(peer, type, data) }
  /** Feeds a message into the inbound middleware chain (used by the relays). @internal */
  injectInbound (msg: InboundMessage): void { this.#messaging.receive(msg) }

  get #defaultProtocol (): string { return this.#opts.defaultProtocol ?? DEFAULTS.defaultProtocol }

  #loaded (): Identity {
    if (this.#identity === undefined) throw new NotStartedError('The identity is loaded by start()')
    return this.#identity
  }

  #service<T> (name: string): T {
    const s = this.#host.get(name)
    if (s === undefined) throw notEnabled(name)
    return s as T
  }

  async #loadIdentity (options: AbortOptions): Promise<void> {
    if (this.#identity !== undefined) return
    const stored = await this.store.getIdentity(options)
    if (stored !== undefined) { this.#identity = identityFromSecretKey(stored); return }
    this.#identity = generateIdentity(this.random)
    await this.store.setIdentity(this.#identity.secretKey, options)
  }

  #emitError (err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)))
  }

  #timerFailed (err: unknown): void {
    this.metrics.drop('timer-error')
    this.logger.warn('a timer callback failed', { err })
    this.#emitError(err)
  }

  /** A broadcast of any type (checked by the caller): through the overlay, or one hop to every peer without it. */
  #broadcastRaw (type: string, data: unknown, o: BroadcastOptions): void {
    if (this.#announcer !== undefined) { this.#announcer.broadcast(type, data, o.limit); return }
    const frame = encodeEnvelope({ type, data }, this.limits)
    this.#reach.whenJoined(frame.length, () => { this.#links.sendToAll(frame) }, 'a broadcast')
  }
}

/** The built-in services `createNode()` lists when `services` is not given. */
type AllServices = ReturnType<typeof allServices>

/**
 * Creates a node with every built-in service (`services` defaults to `allServices()`), or with
 * the services listed, built-in or the application's own; `node.services` is typed with them.
 * Nothing happens on the network until `start()`.
 */
export function createNode<const S extends readonly Service[] = AllServices> (options: NodeOptions & { services?: S } = {}): HearsayNode<ServiceMap<S>> {
  return new HearsayNode<ServiceMap<S>>(options.services === undefined ? { ...options, services: allServices() } : options)
}
