import { parseAddress } from './address.js'
import { AbuseGuard } from './abuse-guard.js'
import type { BanEvent } from './abuse-guard.js'
import type { AbortOptions } from './abort.js'
import { throwIfAborted, toAbortError, withDeadline } from './abort.js'
import type { Channel, UpgradedConnection } from './channel.js'
import type { Clock, Random } from './clock.js'
import { systemClock, systemRandom, TimerSet } from './clock.js'
import { Emitter } from './emitter.js'
import { decodeEnvelope, encodeEnvelope, isReservedType } from './envelope.js'
import {
  BannedError, ConnectionClosedError, DialError, HearsayError, InvalidFrameError, NoTransportError, NotStartedError,
  SelfDialError, TimeoutError, UnsupportedError
} from './errors.js'
import type { Identity, PeerId } from './identity.js'
import { generateIdentity, identityFromSecretKey, isPeerId, signWith } from './identity.js'
import type { AbuseLimits, Limits } from './limits.js'
import { DEFAULT_ABUSE_LIMITS, DEFAULT_LIMITS } from './limits.js'
import type { Logger } from './logger.js'
import { toLogger } from './logger.js'
import { memoryStore } from './memory-store.js'
import { StatRecorder } from './stat-recorder.js'
import { StoreUpkeep } from './store-upkeep.js'
import { Metrics } from './metrics.js'
import type { NodeOptions } from './options.js'
import { DEFAULTS } from './options.js'
import type { Link } from './peer.js'
import { Peer } from './peer.js'
import type { PeerStore, StatEvent } from './peer-store.js'
import { secureChannel } from './secure-channel.js'
import { Membership } from './membership.js'
import { AnnounceService } from './announce.js'
import type { AnnounceOptions, Reply, Request } from './announce.js'
import type { Connection, Listener, Transport } from './transport.js'
import { checkAppType, Messaging } from './messages.js'
import type { BroadcastOptions, RouteHandler } from './messages.js'
import type { InboundHandler, InboundMessage, Middleware } from './middleware.js'
import type { OpenStreamOptions, PeerStream, StreamService } from './streams.js'
import type { BroadcastStream, BroadcastStreamOptions, BroadcastStreams } from './broadcast-stream.js'
import { scheduleAfter, scheduleEvery } from './timers.js'
import type { TimerCallback } from './timers.js'
import type { StateService } from './state/state-service.js'
import type { Member } from './state/members.js'
import type { EventBus } from './events/event-bus.js'
import { allServices, indexServices } from './services.js'
import type { ServiceContext, ServiceName } from './services.js'
import { SignalService } from './signalling.js'
import { Plumtree } from './overlay/plumtree.js'
import { JOIN_QUEUE_DEFAULTS, JoinQueue } from './join-queue.js'
import { checkNodeOptions } from './option-checks.js'

export type NodeStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped'

export interface NodeEvents extends Record<string, unknown> {
  /** A peer connected (once per peer, however many links it opens). */
  'peer:connect': Peer
  /** A peer's last link closed; `reason` is set when an error caused it. */
  'peer:disconnect': { peer: Peer, reason?: Error }
  /**
   * The node can reach the network: its first overlay neighbour is established (with
   * `overlay: false`, its first peer). Sends made before it were held in the join queue and go
   * out now.
   */
  online: undefined
  /** The node lost its last overlay neighbour (with `overlay: false`, its last peer); sends are held until it rejoins. */
  offline: undefined
  /** `start()` finished (every time: a node can stop and start again). */
  start: undefined
  /** `stop()` finished. */
  stop: undefined
  /** An application message (direct, broadcast or relayed) that passed the inbound middleware. */
  message: InboundMessage
  /** A peer opened a stream to this node (`peer.openStream`); without a listener streams are refused. */
  stream: PeerStream
  /** An announcement reached this node; answer with `req.reply(data)`. */
  request: Request
  /** The failure detector suspects a peer (its link is then closed and replaced). */
  'peer:down': { id: PeerId }
  /** A peer reported down was heard from again. */
  'peer:up': { id: PeerId }
  /** A peer id and/or remote address was banned for abuse (limits in `abuse`); its link is cut off. */
  'peer:ban': BanEvent
  /** Cluster membership (`state` service): a member's heartbeat reached this node for the first time (or again after it was forgotten). */
  'member:join': Member
  /** Cluster membership: a member's phi crossed `state.memberPhiThreshold` (once per transition). */
  'member:down': Member
  /** Cluster membership: a member reported down has a newer heartbeat (once per transition). */
  'member:up': Member
  /** Something the application should know went wrong locally (listener, store, a throwing listener). */
  error: Error
}

/** A handler for one of hearsay's own message types (`hv.*`, `pt.*`, …); `bytes` is the frame's size. @internal */
export type ProtocolHandler = (peer: Peer, data: unknown, bytes: number) => void

export interface DialOptions extends AbortOptions {
  /** Refuse the link unless the remote proves this id. */
  peerId?: PeerId
  /** @default the node's dialTimeout + handshakeTimeout */
  timeout?: number
  /**
   * Make the peer an overlay neighbour (a JOIN through it when the node has none yet, else a
   * high-priority NEIGHBOR), so that broadcasts, announces, state and events travel over the
   * link. `false` keeps it a plain link (streams, direct messages). Ignored with `overlay: false`.
   * @default true
   */
  neighbor?: boolean
}

/**
 * A hearsay node: it owns its transports, listeners and connections, authenticates every link
 * and keeps exactly one link per peer. Higher protocols (membership, broadcast, state) plug in
 * through `handle()` and the peer events.
 */
export class HearsayNode extends Emitter<NodeEvents> {
  readonly metrics = new Metrics()
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly limits: Readonly<Limits>
  /** The abuse limits in force (`abuse` option over `DEFAULT_ABUSE_LIMITS`). */
  readonly abuse: Readonly<AbuseLimits>
  readonly store: PeerStore
  readonly #guard: AbuseGuard
  readonly #opts: NodeOptions
  readonly #transports: Transport[]
  readonly #channel: Channel
  readonly #timers: TimerSet
  readonly #ownsStore: boolean
  readonly #statRecorder: StatRecorder
  #upkeep: StoreUpkeep | undefined
  #identityValue: Identity | undefined
  /** Lifecycle status (`status` getter); `state` is the replicated key/value state. */
  #lifecycle: NodeStatus = 'idle'
  #lifetime = new AbortController()
  /** The owned store was closed by the last stop() and must be reopened by the next start(). */
  #storeClosed = false
  /** Overlay neighbours (the active view as the node saw it come and go). */
  readonly #neighbours = new Set<PeerId>()
  readonly #joinQueue: JoinQueue
  /** Runs at the start of every stop() (not once, as whenStopping's hooks do). */
  readonly #everyStop = new Set<() => void>()
  /**
   * What waits for `stop()` while it runs (dials, inbound handshakes, announces): one list
   * here instead of one 'abort' listener each on the lifetime signal, where more than ten at
   * once make Node warn of a leak although every one is removed.
   */
  readonly #stopHooks = new Set<(reason: unknown) => void>()
  readonly #listeners: Listener[] = []
  readonly #peersById = new Map<PeerId, Peer>()
  readonly #dialing = new Map<string, Promise<Peer>>()
  readonly #selfAddresses = new Set<string>()
  private readonly protocols = new Map<string, ProtocolHandler>()
  readonly #graceTimers = new Map<PeerId, () => void>()
  readonly #pings = new Map<number, () => void>()
  readonly #pendingConns = new Set<Connection>()
  #pingSeq = 0
  private membershipService: Membership | undefined
  #announcer: AnnounceService | undefined
  // the optional services (`services` option): undefined when not listed
  readonly #stateService: StateService | undefined
  readonly #eventBus: EventBus | undefined
  readonly #messaging: Messaging
  readonly #streams: StreamService | undefined
  readonly #broadcastStreams: BroadcastStreams | undefined
  readonly #signals: SignalService

  constructor (opts: NodeOptions = {}) {
    super()
    checkNodeOptions(opts)
    this.#opts = opts
    this.#joinQueue = new JoinQueue({ ...JOIN_QUEUE_DEFAULTS, ...opts.joinQueue })
    this.clock = opts.clock ?? systemClock
    this.random = opts.random ?? systemRandom
    this.logger = toLogger(opts.logger)
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...opts.limits })
    this.abuse = Object.freeze({ ...DEFAULT_ABUSE_LIMITS, ...opts.abuse })
    this.#guard = new AbuseGuard(this.abuse, this.clock, this.metrics, (e) => { this.emit('peer:ban', e) })
    this.#transports = [...(opts.transports ?? [])]
    this.#channel = opts.channel ?? secureChannel({ networkKey: opts.networkKey })
    this.#timers = new TimerSet(this.clock)
    this.#ownsStore = opts.closeStore ?? opts.store === undefined
    this.store = opts.store ?? memoryStore()
    this.#statRecorder = new StatRecorder(this.store, {
      flushInterval: opts.statsFlushInterval ?? DEFAULTS.statsFlushInterval,
      maxBatch: opts.statsMaxBatch ?? DEFAULTS.statsMaxBatch,
      schedule: (ms, fn) => this.#timers.after(ms, fn),
      onError: (err, address) => {
        this.metrics.inc('store.errors')
        this.logger.warn('peer store write failed', { address, err })
      }
    })
    if (opts.identity !== undefined) {
      this.#identityValue = opts.identity instanceof Uint8Array ? identityFromSecretKey(opts.identity) : opts.identity
    }
    this.onListenerError = (err) => {
      this.logger.error('an event listener threw', { err })
      if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)))
    }
    this.handle('hs.bye', (peer, data) => {
      const reason = (data as { reason?: unknown } | null)?.reason
      peer.link.byeReason = typeof reason === 'string' ? reason.slice(0, 64) : 'unspecified'
    })
    // one-way heartbeat: receiving any frame is what the failure detector needs
    this.handle('hs.hb', () => {})
    this.handle('hs.ping', (peer, data) => { this.sendProtocol(peer, 'hs.pong', data) })
    this.handle('hs.pong', (_peer, data) => {
      const n = (data as { n?: unknown } | null)?.n
      const done = typeof n === 'number' ? this.#pings.get(n) : undefined
      if (done === undefined) { this.metrics.drop('unexpected-pong'); return }
      done()
    })
    // first peer:connect listener: middleware connection hooks may open streams
    // one opener for every peer (not a closure each: they add up at 10k simulated nodes)
    const openStream = (p: Peer, name: string, o: OpenStreamOptions): PeerStream => {
      if (this.#streams === undefined) throw notEnabled('streams')
      return this.#streams.open(p, name, o)
    }
    this.on('peer:connect', (peer) => { peer.streamOpener = openStream })
    this.#messaging = new Messaging(this, {
      sendDirect: (peer, type, data) => { this.#sendFrame(peer, type, data) },
      sendBroadcast: (type, data, o) => { this.#broadcastRaw(type, data, o) }
    })
    const services = indexServices(opts.services ?? [])
    const ctx: ServiceContext = {
      options: opts,
      sign: (m) => signWith(this.#identityValue!, m),
      plainChannel: this.#channel.name === 'plain',
      messaging: this.#messaging,
      broadcastRaw: (type, data, o) => { this.#broadcastRaw(type, data, o) },
      acceptStream: (stream) => this.emit('stream', stream)
    }
    const create = (name: ServiceName): unknown => services.get(name)?.create(this, ctx)
    this.#stateService = create('state') as StateService | undefined
    this.#eventBus = create('events') as EventBus | undefined
    this.#streams = create('streams') as StreamService | undefined
    this.#broadcastStreams = create('broadcastStreams') as BroadcastStreams | undefined
    if (this.#streams === undefined) {
      // as a node with no `stream` listener does: refuse, so that the opener learns at once
      this.handle('st.open', (peer, data) => {
        const id = (data as { s?: unknown } | null)?.s
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) { this.metrics.drop('stream-malformed'); return }
        this.metrics.drop('stream-refused')
        this.sendProtocol(peer, 'st.reset', { s: id, r: 'refused' })
      })
    }
    this.#signals = new SignalService(this)
  }

  /** The node's peer id. Known before `start()` only when an identity was passed in. */
  get id (): PeerId {
    if (this.#identityValue === undefined) throw new NotStartedError('The identity is loaded by start()')
    return this.#identityValue.id
  }

  get publicKey (): Uint8Array {
    if (this.#identityValue === undefined) throw new NotStartedError('The identity is loaded by start()')
    return this.#identityValue.publicKey
  }

  get status (): NodeStatus { return this.#lifecycle }

  /** Addresses the node listens on, with real ports. */
  get addresses (): string[] { return this.#listeners.flatMap(l => l.addresses) }

  /** The peers connected right now. */
  peers (): Peer[] { return [...this.#peersById.values()] }

  getPeer (id: PeerId): Peer | undefined { return this.#peersById.get(id) }

  /**
   * Starts listening and dials the seeds (in the background: a dead seed does not fail start; it
   * is retried with backoff). A stopped node may start again: it keeps its identity, routes,
   * middleware, listeners and replicated state.
   */
  async start (options: AbortOptions = {}): Promise<void> {
    if (this.#lifecycle !== 'idle' && this.#lifecycle !== 'stopped') throw new NotStartedError(`start() called while ${this.#lifecycle}`)
    this.#lifecycle = 'starting'
    if (this.#lifetime.signal.aborted) this.#lifetime = new AbortController()
    try {
      throwIfAborted(options.signal)
      if (this.#storeClosed) {
        if (this.store.reopen === undefined) throw new NotStartedError('this node closed its store when it stopped and the store cannot reopen: pass closeStore: false, or a store with reopen()')
        await this.store.reopen(options)
        this.#storeClosed = false
      }
      this.#statRecorder.reopen()
      await this.#loadIdentity(options)
      await this.#stateService?.start(options)
      // transports that need the node (WebRTC signals through the overlay) get it before listening
      const context = { peerId: this.id, signals: this.#signals, logger: this.logger }
      for (const t of this.#transports) await t.start?.(context, options)
      for (const address of this.#opts.listen ?? []) {
        const parsed = parseAddress(address, this.#defaultProtocol)
        const transport = this.#transportFor(parsed.protocol)
        const listener = await transport.listen(parsed.address, (conn) => { this.#accept(conn) }, {
          maxFrameBytes: this.limits.maxFrameBytes + this.#channel.overhead,
          signal: options.signal
        })
        this.#listeners.push(listener)
        for (const a of listener.addresses) this.#selfAddresses.add(a)
      }
    } catch (err) {
      await this.#teardown()
      throw err
    }
    this.#lifecycle = 'running'
    this.logger.info('node started', { id: this.id, addresses: this.addresses })
    this.#upkeep = new StoreUpkeep(this, {
      purgeInterval: this.#opts.purgeInterval ?? DEFAULTS.purgeInterval,
      rule: { minFailures: this.#opts.purgeMinFailures ?? DEFAULTS.purgeMinFailures, maxSuccessRatio: this.#opts.purgeMaxSuccessRatio ?? DEFAULTS.purgeMaxSuccessRatio },
      rttInterval: this.#opts.rttInterval ?? DEFAULTS.rttInterval,
      maxStoredPeers: this.#opts.maxStoredPeers ?? DEFAULTS.maxStoredPeers
    })
    this.#upkeep.start()
    if (this.#opts.overlay === false) {
      this.#eventBus?.start(this.#opts.broadcast ?? DEFAULTS.broadcast, false)
      for (const seed of this.#opts.seeds ?? []) {
        this.dial(seed).catch((err: unknown) => {
          this.logger.warn('seed dial failed', { seed, err })
        })
      }
    } else {
      this.#startOverlay()
    }
    this.emit('start', undefined)
  }

  #startOverlay (): void {
    const o = this.#opts
    const announcer = new AnnounceService(this, {
      mode: o.broadcast ?? DEFAULTS.broadcast,
      plumtree: o.plumtree,
      defaultLimit: o.announceLimit ?? DEFAULTS.announceLimit,
      broadcastLimit: o.broadcastLimit ?? DEFAULTS.broadcastLimit,
      defaultTimeout: o.announceTimeout ?? DEFAULTS.announceTimeout,
      maxRoutes: o.announceRoutes ?? DEFAULTS.maxRoutes,
      routeTtl: DEFAULTS.routeTtl
    }, (req) => { this.emit('request', req) }, (b) => { this.#messaging.deliverBroadcast(b) }, (bytes, send, what) => { this.whenJoined(bytes, send, what) })
    this.#announcer = announcer
    this.#eventBus?.start(o.broadcast ?? DEFAULTS.broadcast, true)
    const membership = new Membership(this, {
      minPeers: o.minPeers ?? DEFAULTS.minPeers,
      maxPeers: o.maxPeers ?? DEFAULTS.maxPeers,
      passiveSize: o.passiveSize,
      shuffleInterval: o.shuffleInterval ?? DEFAULTS.shuffleInterval,
      heartbeatInterval: o.heartbeatInterval ?? DEFAULTS.heartbeatInterval,
      phiThreshold: o.phiThreshold ?? DEFAULTS.phiThreshold,
      rejoinDelay: o.rejoinDelay ?? DEFAULTS.rejoinDelay,
      rejoinMaxDelay: o.rejoinMaxDelay ?? DEFAULTS.rejoinMaxDelay,
      healInterval: o.healInterval ?? DEFAULTS.healInterval,
      announceAddresses: o.announceAddresses
    }, o.seeds ?? [], (peer, up) => {
      announcer.neighbor(peer, up)
      this.#eventBus?.neighbor(peer, up)
      this.#neighbourChanged(peer, up)
    }, (e, p) => { this.emit(e, p) })
    this.membershipService = membership
    membership.start().catch((err: unknown) => { this.logger.warn('overlay start failed', { err }) })
  }

  /** Online and offline follow the overlay's neighbours: a link alone does not reach the network. */
  #neighbourChanged (peer: PeerId, up: boolean): void {
    if (up) {
      if (this.#neighbours.has(peer)) return
      this.#neighbours.add(peer)
      if (this.#neighbours.size === 1) this.#joined()
    } else if (this.#neighbours.delete(peer) && this.#neighbours.size === 0 && this.#lifecycle === 'running') {
      this.emit('offline', undefined)
    }
  }

  /** The node reached the network: `online`, then what was held in the join queue goes out. */
  #joined (): void {
    this.emit('online', undefined)
    // after the overlay's current actions (the JOIN or NEIGHBOR reply that made the link a
    // neighbour goes out first; a broadcast ahead of it would reach a peer that has not taken
    // this node in yet)
    queueMicrotask(() => { if (this.joined) this.#flushJoinQueue() })
  }

  #flushJoinQueue (): void {
    const n = this.#joinQueue.flush((err) => {
      this.metrics.drop('join-queue-failed')
      this.logger.warn('a send held until the node joined failed', { err })
      if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)))
    })
    if (n > 0) this.metrics.inc('join-queue.sent', n)
  }

  /** True once the node has an overlay neighbour (with `overlay: false`: a peer). */
  get joined (): boolean {
    return this.#lifecycle === 'running' && (this.#opts.overlay === false ? this.#peersById.size > 0 : this.#neighbours.size > 0)
  }

  /**
   * Runs `send` now if the node has joined, else holds it in the join queue until it does.
   * Throws `QueueFullError` when the queue is full, before anything is held. @internal
   */
  whenJoined (bytes: number, send: () => void, what: string): void {
    // once joined, still behind what is held, so that sends keep their order
    if (this.joined && this.#joinQueue.size === 0) { send(); return }
    this.#joinQueue.push(bytes, send, what)
    this.metrics.inc('join-queue.held')
  }

  /**
   * Sends an announcement through the overlay (up to \`limit\` hops) and returns the replies
   * as they arrive. The iterable ends after \`timeout\`, after \`maxReplies\`, when the node
   * stops, or rejects with \`AbortError\` when \`signal\` aborts. Throws \`TypeError\` or
   * \`TooLargeError\` at once for bad arguments, before anything is sent.
   */
  announce (options: AnnounceOptions): AsyncIterable<Reply> {
    this.#assertRunning()
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
  route (type: string, handler: RouteHandler): () => void {
    return this.#messaging.route(type, handler)
  }

  /**
   * Sends an application message to every node of the overlay, up to `limit` hops (once each,
   * through the same dissemination as `announce`, without replies); receivers get it as a
   * message with `via: 'broadcast'`. With `overlay: false` it goes to every connected peer.
   * Throws `TypeError` or `TooLargeError` before anything is sent.
   */
  broadcast (type: string, data?: unknown, options: BroadcastOptions = {}): void {
    this.#assertRunning()
    if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 0)) throw new TypeError('limit must be a non-negative integer')
    this.#messaging.broadcast(type, data, options)
  }

  /**
   * The broadcast channel as Web Streams: what you write goes to every node of the overlay, and
   * you read what the other nodes write to broadcast streams of the same `name`.
   */
  createBroadcastStream (options: BroadcastStreamOptions = {}): BroadcastStream {
    if (this.#broadcastStreams === undefined) throw notEnabled('broadcastStreams')
    this.#assertRunning()
    return this.#broadcastStreams.create(options)
  }

  /** Runs `fn` once after `ms` on the node's clock; `stop()` cancels it. Returns a cancel function. */
  after (ms: number, fn: TimerCallback): () => void {
    this.#assertAlive()
    return scheduleAfter(this.#timers, ms, fn, (err) => { this.#timerFailed(err) })
  }

  /** Runs `fn` every `ms` on the node's clock until cancelled or `stop()`. Returns a cancel function. */
  every (ms: number, fn: TimerCallback): () => void {
    this.#assertAlive()
    return scheduleEvery(this.#timers, ms, fn, (err) => { this.#timerFailed(err) })
  }

  /** Feeds a message into the inbound middleware chain (used by the relays). @internal */
  injectInbound (msg: InboundMessage): void { this.#messaging.receive(msg) }

  #assertAlive (): void {
    if (this.#lifecycle === 'stopping' || this.#lifecycle === 'stopped') throw new NotStartedError(`The node is ${this.#lifecycle}`)
  }

  #timerFailed (err: unknown): void {
    this.metrics.drop('timer-error')
    this.logger.warn('a timer callback failed', { err })
    if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)))
  }

  /** A broadcast of any type (checked by the caller): through the overlay, or one hop to every peer without it. */
  #broadcastRaw (type: string, data: unknown, o: BroadcastOptions): void {
    if (this.#announcer !== undefined) { this.#announcer.broadcast(type, data, o.limit); return }
    const frame = encodeEnvelope({ type, data }, this.limits)
    this.whenJoined(frame.length, () => {
      for (const peer of this.#peersById.values()) {
        try {
          peer.link.conn.send(frame)
          this.metrics.inc('frames.out')
          this.metrics.inc('bytes.out', frame.length)
        } catch { this.metrics.drop('send-closed') }
      }
    }, 'a broadcast')
  }

  /** Replicated key/value state (scuttlebutt anti-entropy): `set`, `get`, `getRemote`, `keys`, `delete`, `believe`, `on('set:…')`. Usable once `start()` resolved. */
  get state (): StateService { return this.#stateService ?? throwNotEnabled('state') }

  /** Every member of the cluster this node knows of, itself first (`self: true`); needs the state service (`UnsupportedError` otherwise). */
  members (): Member[] { return this.state.members() }

  /** The network-wide event bus: `say`, `hear`, `hearOnce`. Usable once `start()` resolved. */
  get events (): EventBus { return this.#eventBus ?? throwNotEnabled('events') }

  /** The overlay's views, for status pages and tests. */
  get overlay (): { active: PeerId[], passive: PeerId[], drops: Record<string, number> } | undefined {
    const m = this.membershipService
    if (m === undefined) return undefined
    return { active: [...m.hv.activeView().keys()], passive: [...m.hv.passiveView().keys()], drops: { ...m.hv.drops } }
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

  /** Closes every link and listener, cancels every timer and pending dial. Idempotent. */
  async stop (): Promise<void> {
    if (this.#lifecycle === 'stopped' || this.#lifecycle === 'stopping') return
    if (this.#lifecycle === 'idle') { this.#lifecycle = 'stopped'; return }
    this.#lifecycle = 'stopping'
    await this.#teardown()
    this.logger.info('node stopped')
    this.emit('stop', undefined)
  }

  /** Runs `fn` at the start of every `stop()` for the node's whole life (a node may stop and start again). @internal */
  onEveryStop (fn: () => void): () => void {
    this.#everyStop.add(fn)
    return () => { this.#everyStop.delete(fn) }
  }

  async #teardown (): Promise<void> {
    this.#lifecycle = 'stopping'
    this.#lifetime.abort(new NotStartedError('The node is stopping'))
    for (const hook of [...this.#stopHooks]) hook(this.#lifetime.signal.reason)
    this.#stopHooks.clear()
    for (const hook of [...this.#everyStop]) hook()
    const lost = this.#joinQueue.clear()
    if (lost > 0) {
      this.metrics.inc('drops.join-queue-stopped', lost)
      this.logger.warn('the node stopped before it joined the overlay: sends held for the join were not sent', { count: lost })
    }
    // protocol modules are made anew by the next start(); their handlers and listeners go now
    this.membershipService?.dispose()
    this.membershipService = undefined
    this.#announcer?.dispose()
    this.#announcer = undefined
    const wasJoined = this.#neighbours.size > 0
    this.#neighbours.clear()
    if (wasJoined) this.emit('offline', undefined)
    await Promise.allSettled(this.#listeners.map(async l => { await l.close() }))
    this.#listeners.length = 0
    for (const conn of this.#pendingConns) conn.close()
    this.#pendingConns.clear()
    for (const peer of [...this.#peersById.values()]) {
      this.sendProtocol(peer, 'hs.bye', { reason: 'shutdown' })
      peer.link.conn.close()
    }
    await Promise.allSettled([...this.#dialing.values()])
    this.#timers.clear()
    for (const cancel of this.#graceTimers.values()) cancel()
    this.#graceTimers.clear()
    await Promise.allSettled(this.#transports.map(async t => { await t.close() }))
    // the last stat events are written, but a store that never answers must not hold stop() up
    await withDeadline(this.#statRecorder.close(), { timeoutMs: 5_000, clock: this.clock }).catch((err: unknown) => {
      this.logger.warn('stat events not written before stop', { err })
    })
    if (this.#ownsStore) {
      await this.store.close().catch(() => {})
      this.#storeClosed = true
    }
    this.#selfAddresses.clear()
    // links whose close is still on its way: the peers are gone for this run all the same
    for (const peer of [...this.#peersById.values()]) this.#removePeer(peer)
    this.#lifecycle = 'stopped'
  }

  /**
   * Opens an authenticated link to `address` (or returns the peer if that address is already
   * being dialled). Rejects with `DialError`, `TimeoutError`, `HandshakeError`, `SelfDialError`,
   * `PeerIdMismatchError`, `NoTransportError`, `InvalidAddressError` or `AbortError`.
   */
  async dial (address: string, options: DialOptions = {}): Promise<Peer> {
    if (options.neighbor !== undefined && typeof options.neighbor !== 'boolean') throw new TypeError('dial option neighbor must be a boolean')
    const peer = await this.connect(address, options)
    // a peer the application dialled is one it wants to reach the network through
    if (options.neighbor !== false) this.membershipService?.adopt(peer, parseAddress(address, this.#defaultProtocol).address)
    return peer
  }

  /**
   * `dial` without making the peer an overlay neighbour: the protocol modules' own dials (the
   * overlay decides itself what a link becomes). @internal
   */
  async connect (address: string, options: DialOptions = {}): Promise<Peer> {
    this.#assertRunning()
    throwIfAborted(options.signal)
    const parsed = parseAddress(address, this.#defaultProtocol)
    if (this.#selfAddresses.has(parsed.address)) throw new SelfDialError()
    const banned = this.#guard.banned(options.peerId, parsed.address)
    if (banned !== undefined) { this.#guard.refusedBanned(); throw new BannedError(banned) }
    const existing = this.#dialing.get(parsed.address)
    if (existing !== undefined) return await existing
    const p = this.#dialOnce(parsed.address, parsed.protocol, options)
    this.#dialing.set(parsed.address, p)
    try { return await p } finally { this.#dialing.delete(parsed.address) }
  }

  async #dialOnce (address: string, protocol: string, options: DialOptions): Promise<Peer> {
    const transport = this.#transportFor(protocol)
    const timeout = options.timeout ?? (this.#opts.dialTimeout ?? DEFAULTS.dialTimeout) + this.#handshakeTimeout
    const ac = new AbortController()
    const abort = (reason: unknown): void => { ac.abort(reason) }
    const cancelTimer = this.#timers.after(timeout, () => { abort(new TimeoutError(`dial to ${address} timed out`)) })
    const offStop = this.whenStopping(abort)
    const onCaller = (): void => { abort(options.signal?.reason) }
    options.signal?.addEventListener('abort', onCaller, { once: true })
    try {
      let raw: Connection
      try {
        raw = await transport.dial(address, { signal: ac.signal, maxFrameBytes: this.limits.maxFrameBytes + this.#channel.overhead })
      } catch (err) {
        throw ac.signal.aborted ? reasonError(ac.signal.reason) : err
      }
      let up: UpgradedConnection
      this.#pendingConns.add(raw)
      try {
        up = await this.#channel.upgrade(raw, {
          role: 'initiator',
          identity: this.#identityValue!,
          expectedPeer: options.peerId ?? raw.remotePeer,
          timeoutMs: this.#handshakeTimeout,
          clock: this.clock,
          random: this.random,
          maxFrameBytes: this.limits.maxFrameBytes,
          signal: ac.signal
        })
      } catch (err) {
        this.metrics.inc('handshake.failures')
        if (err instanceof SelfDialError) this.#selfAddresses.add(address)
        throw ac.signal.aborted && !(err instanceof HearsayError && err.code !== 'ERR_ABORTED') ? reasonError(ac.signal.reason) : err
      } finally {
        this.#pendingConns.delete(raw)
      }
      const banned = this.#guard.banned(up.remotePeer, undefined)
      if (banned !== undefined) {
        up.conn.close()
        this.#guard.refusedBanned()
        throw new BannedError(banned)
      }
      this.#record(address, { type: 'dial-ok', peerId: up.remotePeer })
      this.metrics.inc('dials.ok')
      return this.#addLink(up, 'outbound', address)
    } catch (err) {
      // a dial cancelled by its caller or by stop() says nothing about the address
      if (!(err instanceof SelfDialError) && (err as { code?: unknown }).code !== 'ERR_ABORTED') this.#record(address, { type: 'dial-fail' })
      this.metrics.inc('dials.failed')
      throw err instanceof HearsayError ? err : new DialError(`dial to ${address} failed`, { cause: err })
    } finally {
      cancelTimer()
      offStop()
      options.signal?.removeEventListener('abort', onCaller)
    }
  }

  /**
   * Closes the link to a peer (saying goodbye first): a `Peer`, a peer id, or an address it was
   * dialled at or advertises. Resolves to whether there was such a link (false: nothing to do).
   */
  async hangUp (peer: Peer | PeerId | string): Promise<boolean> {
    const p = this.#findPeer(peer)
    if (p === undefined) return false
    this.sendProtocol(p, 'hs.bye', { reason: 'hang-up' })
    p.link.conn.close()
    return true
  }

  /** A connected peer by object, id or address (dialled or advertised); `InvalidAddressError` for a string that is neither. */
  #findPeer (peer: Peer | PeerId | string): Peer | undefined {
    if (typeof peer !== 'string') {
      if (peer === null || typeof peer !== 'object' || typeof peer.id !== 'string') throw new TypeError('expected a Peer, a peer id or an address')
      return this.#peersById.get(peer.id)
    }
    if (isPeerId(peer)) return this.#peersById.get(peer)
    const address = parseAddress(peer, this.#defaultProtocol).address
    for (const p of this.#peersById.values()) {
      if (p.address === address || this.membershipService?.advertisedAddress(p.id) === address) return p
    }
    return undefined
  }

  /** Round-trip time to a connected peer in ms. Rejects with `TimeoutError` after `timeout` (default 3000). */
  async ping (peer: Peer | PeerId, options: AbortOptions & { timeout?: number } = {}): Promise<number> {
    this.#assertRunning()
    const p = typeof peer === 'string' ? this.#peersById.get(peer) : peer
    if (p === undefined || !p.connected) throw new ConnectionClosedError('not connected to that peer')
    const n = ++this.#pingSeq
    const started = this.clock.now()
    const pong = new Promise<void>((resolve) => { this.#pings.set(n, resolve) })
    try {
      this.sendProtocol(p, 'hs.ping', { n })
      await withDeadline(pong, { signal: options.signal, timeoutMs: options.timeout ?? DEFAULTS.pingTimeout, clock: this.clock, timeoutMessage: 'ping timed out' })
      const ms = this.clock.now() - started
      const address = this.statAddress(p)
      if (address !== undefined) this.#record(address, { type: 'rtt', ms })
      return ms
    } finally {
      this.#pings.delete(n)
    }
  }

  /**
   * Registers the handler of one of hearsay's own message types. Used by the protocol modules
   * (membership, broadcast, state); returns a function that removes it. @internal
   */
  handle (type: string, handler: ProtocolHandler): () => void {
    if (!isReservedType(type)) throw new TypeError(`"${type}" is not a reserved protocol type`)
    if (this.protocols.has(type)) throw new TypeError(`"${type}" already has a handler`)
    this.protocols.set(type, handler)
    return () => { this.protocols.delete(type) }
  }

  /**
   * Sends a protocol message; returns false (and counts the drop) instead of throwing when the
   * link is gone or the message cannot be sent. @internal
   */
  sendProtocol (peer: Peer, type: string, data: unknown): boolean {
    try {
      this.#sendFrame(peer, type, data)
      return true
    } catch (err) {
      this.metrics.drop(err instanceof ConnectionClosedError ? 'send-closed' : 'send-failed')
      this.logger.debug('protocol send failed', { type, peer: peer.id, err })
      return false
    }
  }

  /** Schedules work tied to the node's life: cancelled by stop(). @internal */
  get lifetimeTimers (): TimerSet { return this.#timers }

  /** Aborted when the node stops. */
  get signal (): AbortSignal { return this.#lifetime.signal }

  /**
   * Runs `fn` once when the node starts stopping (at once if it already has); returns the
   * function that cancels it. Prefer it to an 'abort' listener on `signal` for things that come
   * and go by the dozen. @internal
   */
  whenStopping (fn: (reason: unknown) => void): () => void {
    if (this.#lifetime.signal.aborted) { fn(this.#lifetime.signal.reason); return () => {} }
    this.#stopHooks.add(fn)
    return () => { this.#stopHooks.delete(fn) }
  }

  /** `Peer.send` of every peer, one function shared by all. */
  readonly #peerSend = (p: Peer, type: string, data: unknown): void => { this.#sendApp(p, type, data) }

  #sendApp (peer: Peer, type: string, data: unknown): void {
    checkAppType(this, type)
    this.#messaging.send(peer, type, data)
  }

  #sendFrame (peer: Peer, type: string, data: unknown): void {
    const frame = encodeEnvelope({ type, data }, this.limits)
    peer.link.conn.send(frame)
    this.metrics.inc('frames.out')
    this.metrics.inc('bytes.out', frame.length)
    // any traffic proves liveness to the far end: no heartbeat is needed on a busy link
    this.membershipService?.sent(peer.id)
  }

  get #defaultProtocol (): string { return this.#opts.defaultProtocol ?? DEFAULTS.defaultProtocol }
  get #handshakeTimeout (): number { return this.#opts.handshakeTimeout ?? DEFAULTS.handshakeTimeout }

  #assertRunning (): void {
    if (this.#lifecycle !== 'running') throw new NotStartedError(`The node is ${this.#lifecycle}`)
  }

  #transportFor (protocol: string): Transport {
    const t = this.#transports.find(t => t.protocols.includes(protocol))
    if (t === undefined) throw new NoTransportError(protocol)
    return t
  }

  async #loadIdentity (options: AbortOptions): Promise<void> {
    if (this.#identityValue !== undefined) return
    const stored = await this.store.getIdentity(options)
    if (stored !== undefined) {
      this.#identityValue = identityFromSecretKey(stored)
      return
    }
    this.#identityValue = generateIdentity(this.random)
    await this.store.setIdentity(this.#identityValue.secretKey, options)
  }

  #accept (raw: Connection): void {
    if (this.#lifecycle !== 'running') { raw.close(); return }
    this.metrics.inc('connections.inbound')
    // bans, the concurrent-handshake cap and the per-address cap, before any crypto is spent
    if (!this.#guard.admit(raw)) { raw.close(); return }
    this.#pendingConns.add(raw)
    const ac = new AbortController()
    const offStop = this.whenStopping((reason) => { ac.abort(reason) })
    this.#channel.upgrade(raw, {
      role: 'responder',
      identity: this.#identityValue!,
      timeoutMs: this.#handshakeTimeout,
      clock: this.clock,
      random: this.random,
      maxFrameBytes: this.limits.maxFrameBytes,
      signal: ac.signal
    }).then(
      (up) => {
        offStop()
        this.#pendingConns.delete(raw)
        this.#guard.settled(raw)
        if (this.#lifecycle !== 'running') { up.conn.close(); return }
        const banned = this.#guard.banned(up.remotePeer, undefined)
        if (banned !== undefined) { this.#guard.refusedBanned(); this.#cutOff(up.conn, banned); return }
        // a transport that named the dialler (webrtc:<peerId>) must have named the one who proved itself
        if (raw.remotePeer !== undefined && raw.remotePeer !== up.remotePeer) { this.metrics.inc('handshake.failures'); up.conn.close(); return }
        this.#addLink(up, 'inbound', raw.remoteAddress)
      },
      (err: unknown) => {
        offStop()
        this.#pendingConns.delete(raw)
        this.#guard.settled(raw, err)
        if (this.#lifecycle !== 'running') return
        this.metrics.inc('handshake.failures')
        this.logger.debug('inbound handshake failed', { remote: raw.remoteAddress, err })
      }
    )
  }

  #addLink (up: UpgradedConnection, direction: 'inbound' | 'outbound', address: string): Peer {
    if (this.#lifecycle !== 'running') {
      up.conn.close()
      throw new NotStartedError('The node stopped during the dial')
    }
    const dialer = direction === 'outbound' ? this.id : up.remotePeer
    const link: Link = { linkId: up.linkId, rank: `${dialer}:${up.linkId}`, conn: up.conn, address, direction }
    let peer = this.#peersById.get(up.remotePeer)
    if (peer === undefined) {
      peer = new Peer(up.remotePeer, link, this.clock.now(), this.#peerSend)
      this.#peersById.set(peer.id, peer)
      this.metrics.inc('peers.connected')
      this.logger.debug('peer connected', { peer: peer.id, address, direction })
      // the connect event first: frames the peer sent right behind its handshake are buffered
      // and must reach protocol handlers that know the peer
      this.emit('peer:connect', peer)
      if (this.#peersById.size === 1 && this.#opts.overlay === false) this.#joined()
      this.#attach(peer, link)
      return peer
    }
    // A second link to a known peer: both ends keep the lowest rank, so they agree without talking.
    this.metrics.inc('links.duplicate')
    if (peer.link.rank <= link.rank && !peer.link.conn.closed) {
      this.#attach(peer, link)
      this.#retire(peer, link)
    } else {
      const old = peer.link
      peer.link = link
      this.#attach(peer, link)
      this.#graceTimers.get(peer.id)?.()
      this.#graceTimers.delete(peer.id)
      if (!old.conn.closed) this.#retire(peer, old)
    }
    return peer
  }

  #retire (peer: Peer, link: Link): void {
    try { link.conn.send(encodeEnvelope({ type: 'hs.bye', data: { reason: 'duplicate' } }, this.limits)) } catch { /* already closing */ }
    // Not closed at once: frames the far end sent on it before it heard of the duplicate are
    // still read (closing at once lost them, as overlay-made simultaneous WebRTC dials showed).
    // It closes when the far end's own bye arrives on it (onFrame), or after the linger.
    const conn = link.conn
    this.#pendingConns.add(conn)
    this.#timers.after(RETIRE_LINGER_MS, () => { this.#pendingConns.delete(conn); conn.close() })
    void peer
  }

  #attach (peer: Peer, link: Link): void {
    const meter = this.#guard.meter()
    link.conn.setHandlers({
      onMessage: (frame) => {
        if (meter.admit(frame.length)) { this.#onFrame(peer, link, frame); return }
        // over its rate for a whole second's burst: not a fast peer but a flood
        this.metrics.drop('rate-limit')
        this.#guard.ban(peer.id, link.address, 'rate-limit')
        this.#cutOff(link.conn, 'rate-limit')
      },
      onClose: (reason) => { this.#onLinkClosed(peer, link, reason) }
    })
  }

  #onFrame (peer: Peer, link: Link, frame: Uint8Array): void {
    this.metrics.inc('frames.in')
    this.metrics.inc('bytes.in', frame.length)
    let type: string
    let data: unknown
    try {
      ({ type, data } = decodeEnvelope(frame, this.limits))
    } catch (err) {
      // a peer that sends undecodable frames after authenticating is broken or hostile
      this.metrics.drop('invalid-frame')
      this.logger.warn('invalid frame; closing the link', { peer: peer.id, err })
      // one closes the link; `abuse.maxInvalidFrames` of them in the window also ban the sender
      if (this.#guard.invalidFrame(peer.id, link.address)) { this.#cutOff(link.conn, 'invalid-frame'); return }
      link.conn.close(err instanceof HearsayError ? err : new InvalidFrameError('invalid frame', { cause: err }))
      return
    }
    this.membershipService?.observe(peer)
    if (type === 'hs.bye' && link !== peer.link) {
      // a bye on a link this side already replaced: both ends are done with it
      this.#pendingConns.delete(link.conn)
      link.conn.close()
      return
    }
    if (isReservedType(type)) {
      const handler = this.protocols.get(type)
      if (handler === undefined) { this.metrics.drop('unknown-type'); return }
      try { handler(peer, data, frame.length) } catch (err) {
        this.metrics.drop('handler-error')
        this.logger.warn('protocol handler failed', { type, peer: peer.id, err })
      }
      return
    }
    this.#messaging.receiveDirect(peer, type, data)
  }

  /** Closes a link to a banned peer, telling it why (a buggy peer's operator can see it). */
  #cutOff (conn: Connection, reason: string): void {
    try { conn.send(encodeEnvelope({ type: 'hs.bye', data: { reason: 'banned' } }, this.limits)) } catch { /* already closing */ }
    conn.close(new BannedError(reason))
  }

  #onLinkClosed (peer: Peer, link: Link, reason?: Error): void {
    if (peer.link !== link || this.#peersById.get(peer.id) !== peer) return
    if (link.byeReason === 'duplicate' && this.#lifecycle === 'running') {
      // the remote kept another link that has not finished its handshake here yet
      const grace = this.#opts.duplicateGraceMs ?? DEFAULTS.duplicateGraceMs
      const cancel = this.#timers.after(grace, () => {
        this.#graceTimers.delete(peer.id)
        if (peer.link === link) this.#removePeer(peer, reason)
      })
      this.#graceTimers.set(peer.id, cancel)
      return
    }
    this.#removePeer(peer, reason)
  }

  #removePeer (peer: Peer, reason?: Error): void {
    this.#peersById.delete(peer.id)
    this.metrics.inc('peers.disconnected')
    this.logger.debug('peer disconnected', { peer: peer.id, reason })
    this.emit('peer:disconnect', reason === undefined ? { peer } : { peer, reason })
    if (this.#peersById.size === 0 && this.#opts.overlay === false) this.emit('offline', undefined)
  }

  #record (address: string, event: StatEvent): void {
    // never on the message path's critical section: batched in memory, written by the recorder
    this.#statRecorder.add(address, event)
  }

  /** Queues a stat event for the peer store (batched; nothing waits for the write). @internal */
  recordStat (address: string, event: StatEvent): void { this.#record(address, event) }

  /** How many of `n` addresses learned from peers the store may take now (see `maxStoredPeers`). @internal */
  reserveStoreRows (n: number): number { return this.#upkeep?.reserve(n) ?? n }

  /** Writes the stat events waiting in memory to the store now; resolves when they are written. */
  async flushStats (): Promise<void> { await this.#statRecorder.flush() }

  /**
   * The address a peer's stats are kept under: the one this node dialled, else the first
   * address the peer advertised in the overlay (an inbound link's remote port is not dialable).
   * @internal
   */
  statAddress (peer: Peer): string | undefined {
    if (peer.direction === 'outbound') return peer.address
    return this.membershipService?.advertisedAddress(peer.id)
  }
}

/** Longest time a duplicate link stays open after this side retired it, ms. */
const RETIRE_LINGER_MS = 1_000

function reasonError (reason: unknown): Error {
  if (reason instanceof HearsayError) return reason.code === 'ERR_NOT_STARTED' ? toAbortError(reason) : reason
  return toAbortError(reason)
}

/** A service that is not in the node's `services` option was used. */
function notEnabled (name: ServiceName): UnsupportedError {
  const factory = `${name}Service()`
  return new UnsupportedError(`${name} is not enabled on this node: list it in createNode({ services: [${factory}] }) (or use allServices())`)
}

function throwNotEnabled (name: ServiceName): never { throw notEnabled(name) }

/**
 * Creates a node with every service (`services` defaults to `allServices()`). Nothing happens
 * on the network until `start()`.
 */
export function createNode (options: NodeOptions = {}): HearsayNode {
  return new HearsayNode(options.services === undefined ? { ...options, services: allServices() } : options)
}
