import { checkType, isReservedType } from '../wire/envelope.js'
import type { InboundHandler, InboundMessage, Middleware, MiddlewareNode, OutboundMessage } from './middleware.js'
import { Pipeline } from './middleware.js'
import type { Limits } from '../util/limits.js'
import type { LinkContext } from '../link/context.js'
import type { BroadcastDelivery, BroadcastOptions, BroadcastProtocolHandler, RouteHandler } from '../services/app-messages.js'
export type { BroadcastDelivery, BroadcastOptions, BroadcastProtocolHandler, RouteHandler } from '../services/app-messages.js'
import type { Peer } from '../link/peer.js'

/**
 * Typed application messages: `peer.send(type, data)`, `node.broadcast(type, data)` and
 * `node.route(type, handler)` (coalescent's courier and router), on top of the middleware
 * pipeline.
 */

export interface MessagingHooks {
  /** Encodes and sends one application frame to a peer; throws `TooLargeError`, `ConnectionClosedError`. */
  sendDirect: (peer: Peer, type: string, data: unknown) => void
  /** Sends a broadcast of any type (checked by the caller) through the overlay, or to every peer without one. */
  sendBroadcast: (type: string, data: unknown, options: BroadcastOptions) => void
  /** Emits the node's `message` event; true when a listener took it. */
  emitMessage: (msg: InboundMessage) => boolean
  /** Emits the node's `error` event when it has a listener. */
  emitError: (err: unknown) => void
}

/** Checks an application type: `TypeError` if it is not a string or is reserved, `TooLargeError` above `maxTypeBytes`. */
export function checkAppType (limits: Readonly<Limits>, type: unknown): asserts type is string {
  checkType(type, limits)
  if (isReservedType(type)) throw new TypeError(`message type "${type}" is reserved`)
}

/** The node's application messaging. @internal: applications use the node's methods. */
export class Messaging {
  readonly pipeline: Pipeline
  readonly #routes = new Map<string, RouteHandler[]>()
  readonly #broadcastProtocols = new Map<string, BroadcastProtocolHandler>()

  constructor (node: MiddlewareNode, private readonly ctx: LinkContext, private readonly hooks: MessagingHooks) {
    this.pipeline = new Pipeline(node, ctx, (err, what, drop) => { this.#fail(err, what, drop) })
  }

  use (mw: Middleware<object> | InboundHandler): void { this.pipeline.use(mw) }

  route (type: string, handler: RouteHandler): () => void {
    if (type !== '*') checkAppType(this.ctx.limits, type)
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
      if (m.type !== type) checkAppType(this.ctx.limits, m.type)
      this.hooks.sendDirect(peer, m.type, m.data)
      this.ctx.metrics.inc('messages.out')
    })
  }

  broadcast (type: string, data: unknown, options: BroadcastOptions): void {
    checkAppType(this.ctx.limits, type)
    this.pipeline.outbound({ type, data }, undefined, (m: OutboundMessage) => {
      if (m.type !== type) checkAppType(this.ctx.limits, m.type)
      this.hooks.sendBroadcast(m.type, m.data, options)
      this.ctx.metrics.inc('broadcast.sent')
    })
  }

  /** A decoded application frame from a direct peer. */
  receiveDirect (from: Peer, type: string, data: unknown): void {
    this.receive({ type, data, from, origin: from.id, via: 'direct', hops: 1 })
  }

  /** A message entering the inbound chain (direct, broadcast or relayed). */
  receive (msg: InboundMessage): void {
    this.ctx.metrics.inc('messages.in')
    this.pipeline.inbound(msg, (m) => { this.#dispatch(m) })
  }

  /** A broadcast delivered by the overlay: hearsay's own payload types go to their handler. */
  deliverBroadcast (b: BroadcastDelivery): void {
    if (isReservedType(b.type)) {
      const h = this.#broadcastProtocols.get(b.type)
      if (h === undefined) { this.ctx.metrics.drop('unknown-type'); return }
      try { h(b) } catch (err) { this.#fail(err, `broadcast handler ${b.type}`, 'handler-error') }
      return
    }
    const from = b.peer ?? this.ctx.getPeer(b.from)
    if (from === undefined) { this.ctx.metrics.drop('broadcast-no-link'); return }
    this.ctx.metrics.inc('broadcast.delivered')
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
    if (this.hooks.emitMessage(msg)) handled = true
    if (!handled) this.ctx.metrics.drop('unknown-type')
  }

  #fail (err: unknown, what: string, drop: string): void {
    this.ctx.metrics.drop(drop)
    this.ctx.logger.warn(`${what} failed`, { err })
    this.hooks.emitError(err)
  }
}
