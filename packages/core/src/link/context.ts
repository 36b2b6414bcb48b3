import type { AbortOptions } from '../util/abort.js'
import type { Clock, Random, TimerSet } from '../util/clock.js'
import type { Limits } from '../util/limits.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../util/metrics.js'
import type { PeerId } from '../wire/identity.js'
import type { BanEvent } from './abuse-guard.js'
import type { Peer } from './peer.js'

/** A node's lifecycle: `idle` → `starting` → `running` → `stopping` → `stopped` (→ `starting` again). */
export type NodeStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped'

/** A handler for one of hearsay's own message types (`hv.*`, `pt.*`, …); `bytes` is the frame's size. */
export type ProtocolHandler = (peer: Peer, data: unknown, bytes: number) => void

/** The node events a link-level module may listen to (the node's `NodeEvents` holds them all). */
export interface LinkEvents extends Record<string, unknown> {
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
  /** A peer id and/or remote address was banned for abuse (limits in `abuse`); its link is cut off. */
  'peer:ban': BanEvent
  /** Something the application should know went wrong locally (listener, store, a throwing listener). */
  error: Error
}

export interface ConnectOptions extends AbortOptions {
  /** Refuse the link unless the remote proves this id. */
  peerId?: PeerId
  /** @default the node's dialTimeout + handshakeTimeout */
  timeout?: number
}

/**
 * What a link-level module gets from its node: the injected platform (clock, random source,
 * logger, metrics, limits), the node's identity and life, its peers, and the protocol messages
 * (`handle` / `send`). The store, overlay and service contexts extend it; the node builds one
 * object that is all of them (node/context.ts). Nothing here is the node class itself.
 */
export interface LinkContext<E extends LinkEvents = LinkEvents> {
  readonly clock: Clock
  readonly random: Random
  readonly logger: Logger
  readonly metrics: Metrics
  readonly limits: Readonly<Limits>
  /** The node's peer id; throws `NotStartedError` before `start()` loaded the identity. */
  readonly id: PeerId
  readonly status: NodeStatus
  /** The addresses the node listens on, with real ports. */
  readonly addresses: string[]
  /** Aborted when the node stops (a new one for every run). */
  readonly signal: AbortSignal
  /** Timers tied to the node's life: `stop()` clears them. */
  readonly timers: TimerSet
  /** Runs `fn` once when the node starts stopping (at once if it already has); returns the canceller. */
  whenStopping: (fn: (reason: unknown) => void) => () => void
  /** Runs `fn` at the start of every `stop()` for the node's whole life (a node may stop and start again). */
  onEveryStop: (fn: () => void) => () => void
  /** Listens to a node event; returns the function that removes the listener. */
  on: <K extends keyof E & string>(event: K, fn: (payload: E[K]) => void) => () => void
  /** Reports an exception of an application callback (a listener, a route): logged, then the `error` event. */
  reportError: (err: unknown, where: PropertyKey) => void
  /** Registers the handler of a reserved message type (`xx.name`); returns the function that removes it. */
  handle: (type: string, handler: ProtocolHandler) => () => void
  /** Sends a reserved-type message; false (the drop counted) when the link is gone or the message cannot be sent. */
  send: (peer: Peer, type: string, data: unknown) => boolean
  /** The peers connected right now. */
  peers: () => Peer[]
  getPeer: (id: PeerId) => Peer | undefined
  /** Opens an authenticated link (a plain link: the overlay decides what it becomes). */
  connect: (address: string, options?: ConnectOptions) => Promise<Peer>
  /** Closes a link, saying goodbye first; resolves to whether there was one. */
  hangUp: (peer: Peer | PeerId | string) => Promise<boolean>
  /** Round-trip time to a connected peer in ms (recorded in the peer store). */
  ping: (peer: Peer | PeerId, options?: AbortOptions & { timeout?: number }) => Promise<number>
}
