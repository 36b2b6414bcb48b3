import type { AbortOptions } from '../util/abort.js'
import { throwIfAborted, withDeadline } from '../util/abort.js'
import type { Clock, Random } from '../util/clock.js'
import { systemClock, systemRandom, TimerSet } from '../util/clock.js'
import type { Emitter } from '../util/emitter.js'
import { NotStartedError, UnsupportedError } from '../util/errors.js'
import type { AbuseLimits, Limits } from '../util/limits.js'
import { DEFAULT_ABUSE_LIMITS, DEFAULT_LIMITS } from '../util/limits.js'
import type { Logger } from '../util/logger.js'
import { toLogger } from '../util/logger.js'
import { Metrics } from '../util/metrics.js'
import { encodeEnvelope } from '../wire/envelope.js'
import type { Identity } from '../wire/identity.js'
import { claimedIdentity, generateIdentityAsync, identityFromSecretKeyAsync } from '../wire/identity.js'
import { AbuseGuard } from '../link/abuse-guard.js'
import type { Channel } from '../link/channel.js'
import type { SignalRouter, TransportContext } from '../link/transport.js'
import { LinkManager } from '../link/link-manager.js'
import type { Peer } from '../link/peer.js'
import { secureChannel } from '../link/secure-channel.js'
import { memoryStore } from '../store/memory-store.js'
import type { PeerStore } from '../store/peer-store.js'
import { StatRecorder } from '../store/stat-recorder.js'
import { StoreUpkeep } from '../store/store-upkeep.js'
import type { AnnounceService } from '../overlay/announce.js'
import type { Membership } from '../overlay/membership.js'
import { Reach } from '../overlay/reach.js'
import { JOIN_QUEUE_DEFAULTS } from '../overlay/join-queue.js'
import type { BroadcastOptions } from '../services/app-messages.js'
import type { ServiceContext } from '../services/context.js'
import type { OpenStreamOptions, PeerStream, StreamService } from '../services/streams.js'
import { checkAppType, Messaging } from './messages.js'
import type { MiddlewareNode } from './middleware.js'
import type { NodeEvents } from './node-events.js'
import type { NodeOptions } from './options.js'
import { DEFAULTS } from './options.js'
import { Lifecycle } from './lifecycle.js'
import { notEnabled, ServiceHost } from './service-host.js'
import { startOverlay } from './start-overlay.js'
import type { IceServerExchange } from './ice-servers.js'

/**
 * The inside of a node: it makes the layers (platform, store, links, reach, messaging,
 * services, overlay), wires them together and runs start and stop. `HearsayNode` (node.ts) is
 * the public API over it.
 */
export class Kernel {
  readonly metrics = new Metrics()
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly limits: Readonly<Limits>
  readonly abuse: Readonly<AbuseLimits>
  readonly store: PeerStore
  readonly life = new Lifecycle()
  readonly timers: TimerSet
  readonly stats: StatRecorder
  readonly links: LinkManager
  readonly reach: Reach
  readonly messaging: Messaging
  readonly host: ServiceHost
  readonly ctx: ServiceContext
  /** The overlay's signal router (`signalling` option); `undefined` without it. */
  readonly signals: SignalRouter | undefined
  readonly defaultProtocol: string
  /** ICE servers offered to peers and learned from them (`ice.servers`); `undefined` without the `iceExchange` option. */
  readonly ice: IceServerExchange | undefined
  identity: Identity | undefined
  /** The identity came as secret-key bytes: start() checks that their halves agree. */
  #checkIdentity = false
  membership: Membership | undefined
  announcer: AnnounceService | undefined
  #upkeep: StoreUpkeep | undefined
  readonly #ownsStore: boolean
  /** The owned store was closed by the last stop() and must be reopened by the next start(). */
  #storeClosed = false

  constructor (readonly opts: NodeOptions, private readonly events: Emitter<NodeEvents>, node: MiddlewareNode) {
    this.clock = opts.clock ?? systemClock
    this.random = opts.random ?? systemRandom
    this.logger = toLogger(opts.logger)
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...opts.limits })
    this.abuse = Object.freeze({ ...DEFAULT_ABUSE_LIMITS, ...opts.abuse })
    this.defaultProtocol = opts.defaultProtocol ?? DEFAULTS.defaultProtocol
    const channel: Channel = opts.channel ?? secureChannel({ networkKey: opts.networkKey })
    this.timers = new TimerSet(this.clock)
    this.#ownsStore = opts.closeStore ?? opts.store === undefined
    this.store = opts.store ?? memoryStore()
    this.stats = new StatRecorder(this.store, {
      flushInterval: opts.statsFlushInterval ?? DEFAULTS.statsFlushInterval,
      maxBatch: opts.statsMaxBatch ?? DEFAULTS.statsMaxBatch,
      schedule: (ms, fn) => this.timers.after(ms, fn),
      onError: (err, address) => {
        this.metrics.inc('store.errors')
        this.logger.warn('peer store write failed', { address, err })
      }
    })
    // a secret key given as bytes names the node at once; start() checks that its halves agree
    if (opts.identity !== undefined) this.identity = opts.identity instanceof Uint8Array ? claimedIdentity(opts.identity) : opts.identity
    this.#checkIdentity = opts.identity instanceof Uint8Array
    events.onListenerError = (err) => {
      this.logger.error('an event listener threw', { err })
      this.emitError(err)
    }
    const overlay = opts.overlay !== false
    const status = (): Lifecycle['status'] => this.life.status
    this.reach = new Reach({
      overlay, joinQueue: { ...JOIN_QUEUE_DEFAULTS, ...opts.joinQueue }, metrics: this.metrics, logger: this.logger, status,
      peerCount: () => this.links.size, emit: (e) => events.emit(e, undefined), emitError: (err) => { this.emitError(err) }
    })
    this.links = new LinkManager({
      clock: this.clock, random: this.random, logger: this.logger, metrics: this.metrics, limits: this.limits, channel,
      guard: new AbuseGuard(this.abuse, this.clock, this.metrics, (e) => { events.emit('peer:ban', e) }),
      ...(opts.inbound === undefined ? {} : { inbound: opts.inbound }),
      transports: [...(opts.transports ?? [])],
      timers: this.timers,
      identity: () => this.identity!,
      status,
      whenStopping: (fn) => this.life.whenStopping(fn),
      emit: (e, p) => events.emit(e, p as NodeEvents[typeof e]),
      defaultProtocol: this.defaultProtocol,
      handshakeTimeout: opts.handshakeTimeout ?? DEFAULTS.handshakeTimeout,
      dialTimeout: opts.dialTimeout ?? DEFAULTS.dialTimeout,
      duplicateGraceMs: opts.duplicateGraceMs ?? DEFAULTS.duplicateGraceMs,
      observe: (peer) => { this.membership?.observe(peer) },
      sent: (peer) => { this.membership?.sent(peer) },
      receive: (peer, type, data) => { this.messaging.receiveDirect(peer, type, data) },
      advertisedAddress: (peer) => this.membership?.advertisedAddress(peer),
      peerAdded: () => { this.reach.peerAdded() },
      peerRemoved: () => { this.reach.peerRemoved() },
      dialed: (address, peerId) => { this.stats.add(address, peerId === undefined ? { type: 'dial-fail' } : { type: 'dial-ok', peerId }) }
    })
    this.links.peerSend = (peer, type, data) => { checkAppType(this.limits, type); this.messaging.send(peer, type, data) }
    this.ctx = this.#context(overlay, channel.name === 'plain')
    // first peer:connect listener: middleware connection hooks may open streams
    // one opener for every peer (not a closure each: they add up at 10k simulated nodes)
    const openStream = (p: Peer, name: string, o: OpenStreamOptions): PeerStream => this.service<StreamService>('streams').open(p, name, o)
    events.on('peer:connect', (peer) => { peer.streamOpener = openStream })
    this.messaging = new Messaging(node, this.ctx, {
      sendDirect: (peer, type, data) => { this.links.sendFrame(peer, type, data) },
      sendBroadcast: (type, data, o) => { this.broadcastRaw(type, data, o) },
      emitMessage: (msg) => events.emit('message', msg),
      emitError: (err) => { this.emitError(err) }
    })
    this.host = new ServiceHost(opts.services ?? [], this.ctx)
    this.life.onEveryStop(() => { this.host.beforeStop() })
    if (this.host.get('streams') === undefined) {
      // as a node with no `stream` listener does: refuse, so that the opener learns at once
      this.ctx.handle('st.open', (peer, data) => {
        const id = (data as { s?: unknown } | null)?.s
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) { this.metrics.drop('stream-malformed'); return }
        this.metrics.drop('stream-refused')
        this.ctx.send(peer, 'st.reset', { s: id, r: 'refused' })
      })
    }
    this.signals = opts.signalling?.(this.ctx)
    if (opts.inbound === undefined && (opts.listen?.length ?? 0) > 0) throw new TypeError('listen needs the inbound option (acceptInbound(); on by default with createNode, and with hearsay/lite in Node)')
    if (opts.iceExchange === undefined && opts.offerIceServers !== undefined) throw new TypeError('offerIceServers needs the iceExchange option (iceExchange(); on by default with createNode)')
    this.ice = opts.iceExchange?.(this.ctx, opts)
  }

  /**
   * The one context object of the node: what every protocol module and service receives (typed
   * as the narrowest context its layer defines: `LinkContext`, `StoreContext`, `OverlayContext`,
   * `ServiceContext`). A plain object of functions and getters over the kernel's parts.
   */
  #context (overlayEnabled: boolean, plainChannel: boolean): ServiceContext {
    const { life, events } = this
    const k = this
    const b = this.opts.broadcast
    // the string names a broadcaster this bundle may not hold: createNode of @hearsay/core and hearsay map it to flood()
    if (b === 'flood') throw new UnsupportedError("broadcast: 'flood' needs the flood broadcaster here: write broadcast: flood() (hearsay/lite leaves flooding out of its bundle)")
    const flood = typeof b === 'object' ? b : undefined
    return {
      clock: this.clock,
      random: this.random,
      logger: this.logger,
      metrics: this.metrics,
      limits: this.limits,
      store: this.store,
      options: this.opts,
      overlayEnabled,
      broadcastMode: flood === undefined ? 'plumtree' : 'flood',
      floodBroadcast: flood,
      plainChannel,
      timers: this.timers,
      get id () { return k.loaded().id },
      get status () { return life.status },
      get addresses () { return k.links.addresses },
      get signal () { return life.signal },
      whenStopping: (fn) => life.whenStopping(fn),
      onEveryStop: (fn) => life.onEveryStop(fn),
      on: (e, fn) => events.on(e, fn as (payload: unknown) => void),
      emit: (e, p) => events.emit(e, p as never),
      reportError: (err, where) => { events.onListenerError(err, where) },
      handle: (type, handler) => this.links.handle(type, handler),
      send: (peer, type, data) => this.links.send(peer, type, data),
      peers: () => this.links.peers(),
      getPeer: (id) => this.links.getPeer(id),
      // no async wrapper: a dial's continuation runs as soon as it would on the link manager
      connect: (address, options) => life.status === 'running' ? this.links.connect(address, options) : Promise.reject(new NotStartedError(`The node is ${life.status}`)),
      hangUp: (peer) => this.links.hangUp(peer),
      ping: (peer, o = {}) => this.ping(peer, o),
      recordStat: (address, event) => { this.stats.add(address, event) },
      statAddress: (peer) => this.statAddress(peer),
      reserveStoreRows: (n) => this.#upkeep?.reserve(n) ?? n,
      activeView: () => this.membership === undefined ? undefined : [...this.membership.hv.activeView().keys()],
      onNeighbour: (fn) => this.reach.onNeighbour(fn),
      whenJoined: (bytes, send, what) => { this.reach.whenJoined(bytes, send, what) },
      get identity () { return k.loaded() },
      route: (type, handler) => this.messaging.route(type, handler),
      broadcast: (type, data, options = {}) => {
        life.assertRunning()
        this.messaging.broadcast(type, data, options)
      },
      broadcastRaw: (type, data, o) => { this.broadcastRaw(type, data, o) },
      handleBroadcast: (type, handler) => this.messaging.handleBroadcast(type, handler)
    }
  }

  /** What transports get in `start()`: the node's id, signalling and, with the exchange, the ICE servers it learned. */
  #transportContext (): TransportContext {
    const base = { peerId: this.loaded().id, signals: this.signals ?? NO_SIGNALS, logger: this.logger, metrics: this.metrics }
    const ice = this.ice
    return ice === undefined ? base : { ...base, iceServers: () => ice.servers() }
  }

  loaded (): Identity {
    if (this.identity === undefined) throw new NotStartedError('The identity is loaded by start()')
    return this.identity
  }

  /** A listed service's API; `UnsupportedError` naming the factory when it is not listed. */
  service<T> (name: string): T {
    const s = this.host.get(name)
    if (s === undefined) throw notEnabled(name)
    return s as T
  }

  async start (options: AbortOptions): Promise<void> {
    this.life.beginStart()
    try {
      throwIfAborted(options.signal)
      if (this.#storeClosed) {
        if (this.store.reopen === undefined) throw new NotStartedError('this node closed its store when it stopped and the store cannot reopen: pass closeStore: false, or a store with reopen()')
        await this.store.reopen(options)
        this.#storeClosed = false
      }
      this.stats.reopen()
      await this.#loadIdentity(options)
      await this.host.start(options)
      this.ice?.start()
      // transports that need the node (WebRTC signals through the overlay) get it before listening
      await this.links.listen(this.opts.listen ?? [], this.#transportContext(), options)
    } catch (err) {
      await this.teardown()
      throw err
    }
    this.life.status = 'running'
    this.logger.info('node started', { id: this.loaded().id, addresses: this.links.addresses })
    const o = this.opts
    this.#upkeep = new StoreUpkeep(this.ctx, {
      purgeInterval: o.purgeInterval ?? DEFAULTS.purgeInterval,
      rule: { minFailures: o.purgeMinFailures ?? DEFAULTS.purgeMinFailures, maxSuccessRatio: o.purgeMaxSuccessRatio ?? DEFAULTS.purgeMaxSuccessRatio },
      rttInterval: o.rttInterval ?? DEFAULTS.rttInterval,
      maxStoredPeers: o.maxStoredPeers ?? DEFAULTS.maxStoredPeers
    })
    this.#upkeep.start()
    if (o.overlay === false) {
      this.host.afterStart()
      for (const seed of o.seeds ?? []) this.ctx.connect(seed).catch((err: unknown) => { this.logger.warn('seed dial failed', { seed, err }) })
    } else {
      const run = startOverlay(this.ctx, o, {
        request: (req) => { this.events.emit('request', req) },
        broadcast: (b) => { this.messaging.deliverBroadcast(b) },
        neighbour: (peer, up) => { this.reach.neighbourChanged(peer, up) },
        event: (e, p) => { this.events.emit(e, p) }
      }, this.signals)
      this.announcer = run.announcer
      this.host.afterStart()
      this.membership = run.membership
      run.membership.start().catch((err: unknown) => { this.logger.warn('overlay start failed', { err }) })
      const stop = typeof o.pageLifecycle === 'function' ? o.pageLifecycle(run.membership, () => { for (const peer of this.links.peers()) void this.links.hangUp(peer) }) : undefined
      if (stop !== undefined) this.life.whenStopping(stop)
    }
    this.events.emit('start', undefined)
  }

  async teardown (): Promise<void> {
    this.life.beginStop()
    this.reach.stop()
    // protocol modules are made anew by the next start(); their handlers and listeners go now
    this.membership?.dispose()
    this.membership = undefined
    this.announcer?.dispose()
    this.announcer = undefined
    this.reach.clearNeighbours()
    await this.links.closeLinks()
    this.timers.clear()
    await this.links.closeTransports()
    // the last stat events are written, but a store that never answers must not hold stop() up
    await withDeadline(this.stats.close(), { timeoutMs: 5_000, clock: this.clock }).catch((err: unknown) => {
      this.logger.warn('stat events not written before stop', { err })
    })
    if (this.#ownsStore) {
      await this.store.close().catch(() => {})
      this.#storeClosed = true
    }
    this.links.forget()
    this.life.status = 'stopped'
  }

  async ping (peer: Peer | string, options: AbortOptions & { timeout?: number }): Promise<number> {
    this.life.assertRunning()
    const ms = await this.links.ping(peer, options.timeout ?? DEFAULTS.pingTimeout, options.signal)
    const p = typeof peer === 'string' ? this.links.getPeer(peer) : peer
    const address = p === undefined ? undefined : this.statAddress(p)
    if (address !== undefined) this.stats.add(address, { type: 'rtt', ms })
    return ms
  }

  /** The address a peer's stats are kept under: the one dialled, else the first it advertised. */
  statAddress (peer: Peer): string | undefined {
    return peer.direction === 'outbound' ? peer.address : this.membership?.advertisedAddress(peer.id)
  }

  emitError (err: unknown): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err instanceof Error ? err : new Error(String(err)))
  }

  timerFailed (err: unknown): void {
    this.metrics.drop('timer-error')
    this.logger.warn('a timer callback failed', { err })
    this.emitError(err)
  }

  /** A broadcast of any type (checked by the caller): through the overlay, or one hop to every peer without it. */
  broadcastRaw (type: string, data: unknown, o: BroadcastOptions): void {
    if (this.announcer !== undefined) { this.announcer.broadcast(type, data, o.limit); return }
    const frame = encodeEnvelope({ type, data }, this.limits)
    this.reach.whenJoined(frame.length, () => { this.links.sendToAll(frame) }, 'a broadcast')
  }

  async #loadIdentity (options: AbortOptions): Promise<void> {
    // hashed with WebCrypto: the sync ed25519 of services is left out of bundles without them
    if (this.identity !== undefined) {
      if (this.#checkIdentity) this.identity = await identityFromSecretKeyAsync(this.identity.secretKey)
      this.#checkIdentity = false
      return
    }
    const stored = await this.store.getIdentity(options)
    if (stored !== undefined) { this.identity = await identityFromSecretKeyAsync(stored); return }
    this.identity = await generateIdentityAsync(this.random)
    await this.store.setIdentity(this.identity.secretKey, options)
  }
}

/** What a transport gets for signalling on a node without the `signalling` option. */
const NO_SIGNALS: SignalRouter = {
  send: () => { throw new UnsupportedError('this node has no overlay signalling: pass signalling: overlaySignalling() to createNode') },
  fail: () => {},
  setHandlers: () => () => {}
}
