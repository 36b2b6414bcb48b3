import type { InboundFactory } from '../link/inbound.js'
import type { PageLifecycle } from './page-lifecycle.js'
import type { Channel } from '../link/channel.js'
import type { Clock, Random } from '../util/clock.js'
import type { Identity } from '../wire/identity.js'
import type { AbuseLimits, Limits } from '../util/limits.js'
import type { Logger, LoggerLike } from '../util/logger.js'
import type { PeerStore } from '../store/peer-store.js'
import type { SignalRouter, Transport } from '../link/transport.js'
import type { OverlayContext } from '../overlay/context.js'
import type { EventBusOptions, StateOptions } from '../services/state/options.js'
import type { Service } from '../services/context.js'
import type { JoinQueueLimits } from '../overlay/join-queue.js'
import type { FloodBroadcast } from '../overlay/broadcast.js'
import type { IceExchangeFactory, IceServerOfferer } from './ice-servers.js'

/** Every option of `createNode()`. Defaults live in `DEFAULTS` below and in docs/api.md. */
export interface NodeOptions {
  /** Transports the node dials and listens with. @default [] (the `hearsay` package adds the platform's) */
  transports?: Transport[]
  /** Addresses to listen on, e.g. `ws://127.0.0.1:0`. @default [] */
  listen?: string[]
  /** Addresses dialled at start and when the node loses every peer. @default [] */
  seeds?: string[]
  /** Where peers, stats and the identity are kept. @default memoryStore() */
  store?: PeerStore
  /** Close `store` when the node stops. @default true for the default store (and for stores the `hearsay` package opens from a name), false for a store passed in */
  closeStore?: boolean
  /** Longest time a stat event (dial outcome, peer-exchange count, rtt) waits in memory before the batched store write, ms. @default 1000 */
  statsFlushInterval?: number
  /** Stat events waiting that trigger the batched write at once. @default 1000 */
  statsMaxBatch?: number
  /** Period of the purge of dead addresses from the store, ms; 0 disables it. @default 60000 */
  purgeInterval?: number
  /** The purge removes an address only after at least this many failed dials… @default 3 */
  purgeMinFailures?: number
  /** …and only while its success ratio ok / (ok + fail) is below this. @default 0.2 */
  purgeMaxSuccessRatio?: number
  /** Most addresses the peer store keeps: the purge removes the lowest-scored beyond it (connected peers stay), and addresses learned from peers' gossip are not saved while the store is full (`membership.learned-skipped`). @default 10000 */
  maxStoredPeers?: number
  /** Period of the round-trip sample (one ping to one connected peer, in turn; the result goes to the store), ms; 0 disables it. @default 30000 */
  rttInterval?: number
  /** The node's identity, or its 64-byte secret key. @default loaded from the store, else generated and saved */
  identity?: Identity | Uint8Array
  /** Closed-network key (32 bytes or a passphrase). @default the public network */
  networkKey?: Uint8Array | string
  /** Any object with some of `trace`, `debug`, `info`, `warn`, `error`, `fatal` (`console` works; a missing level is a no-op). @default silentLogger */
  logger?: Logger | LoggerLike
  /** Size limits. @default { maxFrameBytes: 262144, maxTypeBytes: 64, maxIdBytes: 64 } */
  limits?: Partial<Limits>
  /** Abuse limits: per-peer inbound rates, invalid-frame and handshake-failure bans, ban length, concurrent handshakes, connections per address. Defaults in `DEFAULT_ABUSE_LIMITS` (limits.ts). @default {} */
  abuse?: Partial<AbuseLimits>
  /** Time allowed for the secure handshake, in ms (an inbound one holds a slot of `abuse.maxPendingHandshakes` that long at most). @default 10000 */
  handshakeTimeout?: number
  /** Time allowed for a transport dial, in ms. @default 10000 */
  dialTimeout?: number
  /** Protocol for bare `host:port` addresses. @default 'tcp' ('ws' in browsers through the `hearsay` package) */
  defaultProtocol?: string
  /** How long a duplicate-closed link waits for its replacement before reporting a disconnect, in ms. @default 5000 */
  duplicateGraceMs?: number
  /** Injected time source (the simulator's virtual clock). @default systemClock */
  clock?: Clock
  /** Injected randomness. @default systemRandom (crypto.getRandomValues) */
  random?: Random
  /** Run the overlay (HyParView membership, failure detection, announce). `false` gives a plain point-to-point node. @default true */
  overlay?: boolean
  /** The overlay keeps at least this many active peers (HyParView's active view lower bound). @default 3 */
  minPeers?: number
  /** Most active peers (open overlay links). @default 12 */
  maxPeers?: number
  /**
   * For a relay: above this many active peers, ask `webrtc:`-only neighbours (pages) that have
   * `minPeers` other neighbours to leave the view (`hv.sb`), longest-linked first, once per
   * `shuffleInterval`; a full view evicts such a page first. Keeps room for newcomers instead of
   * churning a full view. 0 = off. @default 0
   */
  stepBackAbove?: number
  /**
   * Most neighbours a JOIN this node takes is passed on to (FORWARD_JOIN walks); each walk ends
   * at a node that dials the newcomer, so this is how many links a newcomer is offered at once.
   * @default 12 (a relay: 6, `RELAY_MAX_FORWARD_JOINS`)
   */
  maxForwardJoins?: number
  /** Known-but-unconnected peers kept (HyParView's passive view). @default 6 × maxPeers */
  passiveSize?: number
  /** Period of the membership shuffle and repair, ms. @default 10000 */
  shuffleInterval?: number
  /** Heartbeat period on idle active links, ms. @default 1000 */
  heartbeatInterval?: number
  /** Phi-accrual threshold at which a silent peer is declared down. @default 8 */
  phiThreshold?: number
  /**
   * Longest silence tolerated from a neighbour that announced it is paused (`hs.pause`: a hidden
   * or frozen page, whose timers run about once a minute or not at all; a node the application
   * paused with `node.pause()`), ms; past it the neighbour is declared down as any other.
   * @default 300000
   */
  pausedToleranceMs?: number
  /**
   * In a page, follow its lifecycle: hidden or frozen → `node.pause()`, visible again →
   * `node.resume()`; `pagehide` closes every link with a goodbye; `online` and a return from the
   * back-forward cache re-check the links and rejoin at once. No effect outside pages. `false`
   * turns it off.
   * @default `pageLifecycle()` with `createNode` of `@hearsay/core` and `hearsay`; off with
   * `hearsay/lite`'s and `new HearsayNode()` (pass `pageLifecycle: pageLifecycle()`: ~0.3 kB gzip)
   */
  pageLifecycle?: boolean | PageLifecycle
  /** First delay before rejoining after losing every peer, ms (doubles, ±50 % jitter). @default 1000 */
  rejoinDelay?: number
  /** Longest rejoin delay, ms: a node alone redials its seeds at least this often (a page's relay is its way back in). @default 5000 */
  rejoinMaxDelay?: number
  /** Period of the netsplit check through the seeds, ms; 0 disables it. @default 30000 */
  healInterval?: number
  /** Addresses advertised to other peers. @default the listening addresses */
  announceAddresses?: string[]
  /** Broadcast mode of `announce`, `broadcast` and the event bus: `plumtree` (≈ one message per node, a tree around an elected root, lazy IHAVEs and GRAFTs to repair it) or `flood` (every message over every link: degree × the traffic, nothing to repair). Every node of a network must use the same mode (docs/decisions.md). `hearsay/lite`'s `createNode` leaves flooding out of its bundle: there, write `broadcast: flood()`. @default 'plumtree' */
  broadcast?: 'plumtree' | 'flood' | FloodBroadcast
  /** Default hop limit of `announce`. @default 6 */
  announceLimit?: number
  /**
   * Default hop limit of `broadcast` and broadcast streams: the most a broadcast may travel, so
   * that it reaches every node of a large, clustered overlay (a page mesh through one relay is
   * 20+ hops deep; at 6, half of 1k pages missed each broadcast, uncounted). A copy stopped by its
   * limit where other neighbours may lack it is counted (`drops.broadcast-stopped-at-limit`). @default 32
   */
  broadcastLimit?: number
  /** Default time `announce` waits for replies, ms. @default 5000 */
  announceTimeout?: number
  /** Most announce reverse paths kept (requests whose replies this node can still relay back), each for 60 s. @default 10000 */
  announceRoutes?: number
  /** Plumtree tuning: `lazyDelayMs` (100), `graftTimeoutMs` (500), `originTreeAfter` (3), `maxOriginTrees` (64), `optimizeThreshold` (1; 0 = off), `rootIntervalMs` (10000; 0 = no root), and the payloads kept to answer GRAFTs: `storeMaxEntries` (10000), `storeMaxBytes` (8 MiB), `storeMaxAgeMs` (10000); `catchUpMs` (10000; 0 = off): a new neighbour is told the ids of the messages of that last while, and GRAFTs those said since it first had a neighbour. @default {} */
  plumtree?: { lazyDelayMs?: number, graftTimeoutMs?: number, originTreeAfter?: number, maxOriginTrees?: number, optimizeThreshold?: number, rootIntervalMs?: number, storeMaxEntries?: number, storeMaxBytes?: number, storeMaxAgeMs?: number, catchUpMs?: number }
  /** How raw connections are authenticated. @default secureChannel({ networkKey }) — `plainChannel()` is for simulation only */
  channel?: Channel
  /** Replicated state (`node.state`): gossip period, message budget, bounds, ownership proofs. Defaults in `STATE_DEFAULTS` (state/options.ts). @default {} */
  state?: StateOptions
  /** Event bus (`node.events`): name and size limits, replay for late joiners. Defaults in `EVENT_DEFAULTS` (state/options.ts). @default {} */
  events?: EventBusOptions
  /** Receive window of a peer stream: bytes the peer may send before this side reads them (memory per stream is bounded by it). @default 1048576 */
  streamWindow?: number
  /** Most peer streams open at once with one peer; more are refused (`st.reset` `refused`). @default 256 */
  maxStreamsPerPeer?: number
  /**
   * The application-layer services the node carries: `stateService()` (`node.state`),
   * `eventsService()` (`node.events`), `streamsService()` (`peer.openStream`, the `stream`
   * event), `broadcastStreamsService()` (`node.createBroadcastStream`). Using one that is not
   * listed throws `UnsupportedError`. A bundler drops the code of every service not listed.
   * Services written by the application go in the same list (`Service`: a name and
   * `create(ctx)`); their APIs are `node.services.<name>`.
   * @default allServices() with `@hearsay/core`'s `createNode()`; [] with `hearsay`'s and with `new HearsayNode()`
   */
  services?: readonly Service[]
  /**
   * Bounds of the join queue: broadcasts, announces, events and broadcast-stream writes made
   * while the node has no overlay neighbour (right after `start()`, or between losing every
   * neighbour and rejoining) are held and sent, in order, once it has one. A send that does not
   * fit throws `QueueFullError`; what is held when the node stops is dropped, counted
   * (`drops.join-queue-stopped`) and logged. @default { maxMessages: 1000, maxBytes: 1048576 }
   */
  joinQueue?: Partial<JoinQueueLimits>
  /**
   * Signalling through the overlay: `overlaySignalling()` forwards WebRTC signals for the
   * neighbours and gives the transports their `SignalRouter`. Without it a WebRTC transport
   * cannot signal (`UnsupportedError`) and the node drops `rtc.*` frames.
   * @default overlaySignalling() with `@hearsay/core`'s and `hearsay`'s `createNode()`; none with `hearsay/lite`'s and with `new HearsayNode()`
   */
  signalling?: (ctx: OverlayContext) => SignalRouter
  /**
   * The STUN/TURN servers this node offers to each peer that connects (`ice.servers`,
   * docs/protocol.md), e.g. a relay's STUN port and short-lived TURN credentials. An offer
   * names no host: each receiver uses the host it dialled this node at, and ignores offers
   * from peers it did not dial by host (so a peer can only offer servers on its own host).
   * Every node keeps what its dialled peers offer and gives it to its transports (WebRTC
   * uses it unless the application set `iceServers`). @default undefined (offers nothing)
   */
  offerIceServers?: IceServerOfferer
  /**
   * The exchange of ICE servers (`ice.servers`): offers `offerIceServers` and keeps what dialled
   * peers offer, for the transports. `offerIceServers` without it is a `TypeError`.
   * @default iceExchange() with @hearsay/core's and hearsay's createNode; none with hearsay/lite's and with `new HearsayNode()` (offers from peers are then dropped as `unknown-type`)
   */
  iceExchange?: IceExchangeFactory
  /** Period at which the offer is sent again to every peer (renews TURN credentials), ms; 0: only at connect. @default 0 */
  iceOfferRefresh?: number
  /**
   * The accept path for links peers open to this node (admission under the abuse limits, the
   * responder's handshake). `listen` without it is a `TypeError`.
   * @default acceptInbound() with @hearsay/core's and hearsay's createNode and with hearsay/lite in Node; none with hearsay/lite in browsers (a page on WebSockets only dials) and with `new HearsayNode()`
   */
  inbound?: InboundFactory
}

export const DEFAULTS = Object.freeze({
  handshakeTimeout: 10_000,
  dialTimeout: 10_000,
  defaultProtocol: 'tcp',
  duplicateGraceMs: 5_000,
  pingTimeout: 3_000,
  statsFlushInterval: 1_000,
  statsMaxBatch: 1_000,
  purgeInterval: 60_000,
  purgeMinFailures: 3,
  purgeMaxSuccessRatio: 0.2,
  rttInterval: 30_000,
  maxStoredPeers: 10_000,
  minPeers: 3,
  maxPeers: 12,
  shuffleInterval: 10_000,
  heartbeatInterval: 1_000,
  phiThreshold: 8,
  pausedToleranceMs: 300_000,
  rejoinDelay: 1_000,
  rejoinMaxDelay: 5_000,
  healInterval: 30_000,
  broadcast: 'plumtree' as 'plumtree' | 'flood',
  announceLimit: 6,
  broadcastLimit: 32,
  announceTimeout: 5_000,
  maxRoutes: 10_000,
  routeTtl: 60_000,
  streamWindow: 1024 * 1024,
  maxStreamsPerPeer: 256
})
