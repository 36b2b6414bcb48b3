import type { Logger } from '../util/logger.js'
import type { Metrics } from '../util/metrics.js'
import type { PeerId } from '../wire/identity.js'
import type { NodeStatus } from '../link/context.js'
import type { JoinQueueLimits } from './join-queue.js'
import { JoinQueue } from './join-queue.js'

export interface ReachOptions {
  /** The node runs the overlay: it is online with a neighbour; else with a peer. */
  overlay: boolean
  joinQueue: JoinQueueLimits
  metrics: Metrics
  logger: Logger
  status: () => NodeStatus
  peerCount: () => number
  emit: (event: 'online' | 'offline') => void
  emitError: (err: unknown) => void
}

/**
 * Whether the node reaches the network, and what waits until it does: online and offline follow
 * the overlay's neighbours (a link alone does not reach the network; with `overlay: false`, the
 * peers), and sends made before the node joined wait in the bounded join queue.
 */
export class Reach {
  readonly #o: ReachOptions
  readonly #neighbours = new Set<PeerId>()
  readonly #queue: JoinQueue
  readonly #listeners = new Set<(peer: PeerId, up: boolean) => void>()

  constructor (options: ReachOptions) {
    this.#o = options
    this.#queue = new JoinQueue(options.joinQueue)
  }

  /** True once the node has an overlay neighbour (with `overlay: false`: a peer). */
  get joined (): boolean {
    return this.#o.status() === 'running' && (this.#o.overlay ? this.#neighbours.size > 0 : this.#o.peerCount() > 0)
  }

  /** Runs `send` now if the node has joined, else holds it (`QueueFullError` when full). */
  whenJoined (bytes: number, send: () => void, what: string): void {
    // once joined, still behind what is held, so that sends keep their order
    if (this.joined && this.#queue.size === 0) { send(); return }
    this.#queue.push(bytes, send, what)
    this.#o.metrics.inc('join-queue.held')
  }

  onNeighbour (fn: (peer: PeerId, up: boolean) => void): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** A peer entered or left the overlay's active view. */
  neighbourChanged (peer: PeerId, up: boolean): void {
    for (const fn of [...this.#listeners]) fn(peer, up)
    if (up) {
      if (this.#neighbours.has(peer)) return
      this.#neighbours.add(peer)
      if (this.#neighbours.size === 1) this.#joinedNow()
    } else if (this.#neighbours.delete(peer) && this.#neighbours.size === 0 && this.#o.status() === 'running') {
      this.#o.emit('offline')
    }
  }

  /** Without the overlay: a peer connected (the first one joins the node) or left. */
  peerAdded (): void { if (!this.#o.overlay && this.#o.peerCount() === 1) this.#joinedNow() }
  peerRemoved (): void { if (!this.#o.overlay && this.#o.peerCount() === 0) this.#o.emit('offline') }

  /** The node reached the network: `online`, then what was held in the join queue goes out. */
  #joinedNow (): void {
    this.#o.emit('online')
    // after the overlay's current actions (the JOIN or NEIGHBOR reply that made the link a
    // neighbour goes out first; a broadcast ahead of it would reach a peer that has not taken
    // this node in yet)
    queueMicrotask(() => { if (this.joined) this.#flush() })
  }

  #flush (): void {
    const n = this.#queue.flush((err) => {
      this.#o.metrics.drop('join-queue-failed')
      this.#o.logger.warn('a send held until the node joined failed', { err })
      this.#o.emitError(err)
    })
    if (n > 0) this.#o.metrics.inc('join-queue.sent', n)
  }

  /** The node stops: what is held is dropped (and counted); `offline` if it had joined. */
  stop (): void {
    const lost = this.#queue.clear()
    if (lost > 0) {
      this.#o.metrics.inc('drops.join-queue-stopped', lost)
      this.#o.logger.warn('the node stopped before it joined the overlay: sends held for the join were not sent', { count: lost })
    }
  }

  /** After the overlay's modules are disposed: the neighbours are gone. */
  clearNeighbours (): void {
    const wasJoined = this.#neighbours.size > 0
    this.#neighbours.clear()
    if (wasJoined) this.#o.emit('offline')
  }
}
