import { checkType, isReservedType } from './envelope.js'
import type { PeerId } from './identity.js'
import type { InboundHandler, InboundMessage, Middleware, OutboundMessage } from './middleware.js'
import { Pipeline } from './middleware.js'
import type { HearsayNode } from './node.js'
import type { Peer } from './peer.js'

/**
 * Typed application messages: `peer.send(type, data)`, `node.broadcast(type, data)` and
 * `node.route(type, handler)` (coalescent's courier and router), on top of the middleware
 * pipeline.
 */

/** Handles the messages of one type (or every type without a route, for `'*'`). */
export type RouteHandler = (msg: InboundMessage, peer: Peer) => void

export interface BroadcastOptions {
  /** Most overlay hops the message travels. @default the node's `broadcastLimit` (32) */
  limit?: number
}

/** A broadcast as the overlay delivers it. @internal */
export interface BroadcastDelivery {
  type: string
  data: unknown
  origin: PeerId
  hops: number
  from: PeerId
}

/** Receives broadcasts of one of hearsay's own payload types (e.g. `st.bc`). @internal */
export type BroadcastProtocolHandler = (delivery: BroadcastDelivery) => void

export interface MessagingHooks {
  /** Encodes and sends one application frame to a peer; throws `TooLargeError`, `ConnectionClosedError`. */
  sendDirect: (peer: Peer, type: string, data: unknown) => void
  /** Sends a broadcast of any type (checked by the caller) through the overlay, or to every peer without one. */
  sendBroadcast: (type: string, data: unknown, options: BroadcastOptions) => void
}

/** Checks an application type: `TypeError` if it is not a string or is reserved, `TooLargeError` above `maxTypeBytes`. */
export function checkAppType (node: HearsayNode, type: unknown): asserts type is string {
  checkType(type, node.limits)
  if (isReservedType(type)) throw new TypeError(`message type "${type}" is reserved`)
}

/** The node's application messaging. @internal: applications use the node's methods. */
export class Messaging {
  readonly pipeline: Pipeline
  readonly #routes = new Map<string, RouteHandler[]>()
  readonly #broadcastProtocols = new Map<string, BroadcastProtocolHandler>()

  constructor (private readonly node: HearsayNode, private readonly hooks: MessagingHooks) {
    this.pipeline = new Pipeline(node, (err, what, drop) => { this.#fail(err, what, drop) })
  }

  use (mw: Middleware<object> | InboundHandler): void { this.pipeline.use(mw) }

  route (type: string, handler: RouteHandler): () => void {
    if (type !== '*') checkAppType(this.node, type)
    if (typeof handler !== 'function') throw new TypeError('a route handler must be a function')
    let list = this.#routes.get(type)
    if (list === undefined) { list = []; this.#routes.set(type, list) }
    list.push(handler)
    return () => {
      const l = this.#routes.get(type)
      if (l === undefined) return
      const i = l.indexOf(handler)
      if (i >= 0) l.splice(i, 1)
      if (l.length === 0) this.#routes.delete(type)
    }
  }

  /** `peer.send`: type already checked by the node. */
  send (peer: Peer, type: string, data: unknown): void {
    this.pipeline.outbound({ type, data }, peer, (m) => {
      if (m.type !== type) checkAppType(this.node, m.type)
      this.hooks.sendDirect(peer, m.type, m.data)
      this.node.metrics.inc('messages.out')
    })
  }

  broadcast (type: string, data: unknown, options: BroadcastOptions): void {
    checkAppType(this.node, type)
    this.pipeline.outbound({ type, data }, undefined, (m: OutboundMessage) => {
      if (m.type !== type) checkAppType(this.node, m.type)
      this.hooks.sendBroadcast(m.type, m.data, options)
      this.node.metrics.inc('broadcast.sent')
    })
  }

  /** A decoded application frame from a direct peer. */
  receiveDirect (from: Peer, type: string, data: unknown): void {
    this.receive({ type, data, from, origin: from.id, via: 'direct', hops: 1 })
  }

  /** A message entering the inbound chain (direct, broadcast or relayed). */
  receive (msg: InboundMessage): void {
    this.node.metrics.inc('messages.in')
    this.pipeline.inbound(msg, (m) => { this.#dispatch(m) })
  }

  /** A broadcast delivered by the overlay: hearsay's own payload types go to their handler. */
  deliverBroadcast (b: BroadcastDelivery): void {
    if (isReservedType(b.type)) {
      const h = this.#broadcastProtocols.get(b.type)
      if (h === undefined) { this.node.metrics.drop('unknown-type'); return }
      try { h(b) } catch (err) { this.#fail(err, `broadcast handler ${b.type}`, 'handler-error') }
      return
    }
    const from = this.node.getPeer(b.from)
    if (from === undefined) { this.node.metrics.drop('broadcast-no-link'); return }
    this.node.metrics.inc('broadcast.delivered')
    this.receive({ type: b.type, data: b.data, from, origin: b.origin, via: 'broadcast', hops: b.hops })
  }

  /** Registers the receiver of one reserved broadcast payload type. @internal */
  handleBroadcast (type: string, handler: BroadcastProtocolHandler): () => void {
    if (!isReservedType(type)) throw new TypeError(`"${type}" is not a reserved type`)
    if (this.#broadcastProtocols.has(type)) throw new TypeError(`"${type}" already has a broadcast handler`)
    this.#broadcastProtocols.set(type, handler)
    return () => { this.#broadcastProtocols.delete(type) }
  }

  #dispatch (msg: InboundMessage): void {
    let handled = false
    const handlers = this.#routes.get(msg.type) ?? this.#routes.get('*')
    if (handlers !== undefined) {
      for (const h of [...handlers]) {
        handled = true
        try { h(msg, msg.from) } catch (err) { this.#fail(err, `route ${msg.type}`, 'handler-error') }
      }
    }
    if (this.node.emit('message', msg)) handled = true
    if (!handled) this.node.metrics.drop('unknown-type')
  }

  #fail (err: unknown, what: string, drop: string): void {
    this.node.metrics.drop(drop)
    this.node.logger.warn(`${what} failed`, { err })
    if (this.node.listenerCount('error') > 0) this.node.emit('error', err instanceof Error ? err : new Error(String(err)))
  }
}
