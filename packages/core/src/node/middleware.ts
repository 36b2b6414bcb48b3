import type { Peer } from '../link/peer.js'
import type { LinkContext } from '../link/context.js'
import type { InboundMessage, OutboundMessage } from '../services/app-messages.js'
export type { InboundMessage, OutboundMessage, Via } from '../services/app-messages.js'

/**
 * The node as middleware sees it: the whole `MiddlewareNode`. node.ts fills this interface in by
 * declaration merging (`interface MiddlewareNode extends MiddlewareNode`), so that this file, which
 * the node imports, does not import the node back.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface MiddlewareNode {}

/**
 * Middleware over the application message pipeline (coalescent's `use()`, without its streams):
 *
 * ```
 * inbound:  frame → decode → inbound middleware, in `use()` order → routes, `'*'`, the `message` event
 * outbound: peer.send / node.broadcast → outbound middleware, in `use()` order → encode → link(s)
 * ```
 *
 * Only application messages pass through it; hearsay's own protocols (`hs.`, `hv.`, `st.` …)
 * never do. A middleware is an object with any of the hooks below, or a bare inbound handler
 * function.
 */

export interface InboundContext {
  readonly direction: 'in'
  readonly node: MiddlewareNode
  /** The neighbour the message arrived from (same as `msg.from`). */
  readonly peer: Peer
}

export interface OutboundContext {
  readonly direction: 'out'
  readonly node: MiddlewareNode
  /** The destination of `peer.send`; `undefined` for `node.broadcast`. */
  readonly peer: Peer | undefined
  /** True for `node.broadcast`. */
  readonly broadcast: boolean
}

/**
 * Passes the message (or a replacement) to the next middleware, and finally to the routes or
 * the link. Not calling it drops the message. Calling it twice throws `TypeError`.
 */
export type Next<M> = (msg?: M) => void

/**
 * An inbound step. Synchronous or `async`: a middleware may call `next` later (e.g. after a
 * lookup), which lets later messages overtake this one.
 */
export type InboundHandler = (msg: InboundMessage, ctx: InboundContext, next: Next<InboundMessage>) => void | Promise<void>

/**
 * An outbound step. If every outbound middleware calls `next` synchronously, errors (a
 * `TooLargeError`, a closed link, a `TypeError` thrown by a middleware) reach the caller of
 * `send` / `broadcast`. Errors after a deferred `next`, or from an `async` middleware, go to the
 * node's `error` event and `drops.send-failed` instead.
 */
export type OutboundHandler = (msg: OutboundMessage, ctx: OutboundContext, next: Next<OutboundMessage>) => void | Promise<void>

/**
 * A middleware: every hook is optional. `Ext` is what the plugin hook adds to the node; `use()`
 * returns the node typed with it:
 *
 * ```ts
 * const greeter: Middleware<{ greet: (peer: Peer) => void }> = {
 *   name: 'greeter',
 *   plugin: (node) => ({ greet: (peer) => peer.send('greet', { from: node.id }) }),
 *   connection: (peer) => { peer.send('hello', null) },
 *   inbound: (msg, ctx, next) => { if (msg.type !== 'spam') next() }
 * }
 * const node = createNode(opts).use(greeter)
 * node.greet(somePeer)
 * ```
 */
export interface Middleware<Ext extends object = {}> {
  /** Used in logs and in error messages. */
  readonly name?: string
  /**
   * The plugin hook, called once by `use()` (before or after `start()`). It may register
   * routes, timers and event listeners, and may return members to add to the node; a member
   * that already exists on the node is refused with `TypeError`.
   */
  readonly plugin?: (node: MiddlewareNode) => Ext | undefined | void
  /**
   * The per-connection hook (coalescent's `_connect`): called for every peer that is connected
   * when the middleware is added and for every peer that connects later, before any of its
   * messages is routed. It may return a cleanup function, called when the peer disconnects
   * or the node stops.
   */
  readonly connection?: (peer: Peer, node: MiddlewareNode) => void | (() => void)
  readonly inbound?: InboundHandler
  readonly outbound?: OutboundHandler
}

/** A middleware's name for logs. */
function nameOf (mw: Middleware<object>, i: number): string { return mw.name ?? `middleware #${i}` }

/**
 * The ordered middleware stack of one node, with its connection hooks. @internal: applications
 * use `node.use()`.
 */
export class Pipeline {
  readonly #inboundChain: InboundHandler[] = []
  readonly #outboundChain: OutboundHandler[] = []
  readonly #connectionHooks: Array<{ name: string, hook: (peer: Peer, node: MiddlewareNode) => void | (() => void) }> = []
  readonly #cleanups = new Map<Peer, Array<() => void>>()
  #count = 0

  constructor (private readonly node: MiddlewareNode, private readonly ctx: LinkContext, private readonly report: (err: unknown, what: string, drop: string) => void) {
    ctx.on('peer:connect', (peer) => { for (const c of this.#connectionHooks) this.#runConnectionHook(c, peer) })
    ctx.on('peer:disconnect', ({ peer }) => { this.#runCleanups(peer) })
    ctx.onEveryStop(() => { for (const peer of [...this.#cleanups.keys()]) this.#runCleanups(peer) })
  }

  use (mw: Middleware<object> | InboundHandler): void {
    if (typeof mw === 'function' && mw.length > 0 && mw.length < 3) {
      // (socket) => Transform is coalescent's middleware; a handler without `next` would drop
      // every message without a word, so it is refused here instead
      throw new TypeError(`use() takes an inbound handler (msg, ctx, next) or a middleware object; this function takes ${mw.length} argument${mw.length === 1 ? '' : 's'} and could never pass a message on. A coalescent-style middleware factory (socket) => stream.Transform runs on @hearsay/compat/coalescent`)
    }
    const m: Middleware<object> = typeof mw === 'function' ? { inbound: mw } : mw
    if (m === null || typeof m !== 'object') throw new TypeError('use() takes a middleware object or an inbound handler function')
    for (const k of ['plugin', 'connection', 'inbound', 'outbound'] as const) {
      if (m[k] !== undefined && typeof m[k] !== 'function') throw new TypeError(`middleware.${k} must be a function`)
    }
    const name = nameOf(m, this.#count++)
    if (m.plugin !== undefined) {
      const ext = m.plugin(this.node)
      if (ext !== undefined && ext !== null) {
        if (typeof ext !== 'object') throw new TypeError(`plugin ${name} must return an object or nothing`)
        const descriptors = Object.getOwnPropertyDescriptors(ext)
        for (const key of Reflect.ownKeys(descriptors)) {
          if (key in this.node) throw new TypeError(`plugin ${name} cannot redefine node.${String(key)}`)
        }
        for (const key of Reflect.ownKeys(descriptors)) {
          Object.defineProperty(this.node, key, { ...descriptors[key as string], enumerable: false, configurable: true })
        }
      }
    }
    if (m.inbound !== undefined) this.#inboundChain.push(m.inbound)
    if (m.outbound !== undefined) this.#outboundChain.push(m.outbound)
    if (m.connection !== undefined) {
      const c = { name, hook: m.connection }
      this.#connectionHooks.push(c)
      if (this.ctx.status === 'running') for (const peer of this.ctx.peers()) this.#runConnectionHook(c, peer)
    }
  }

  /** Runs the inbound chain; `deliver` gets the message if every middleware passes it on. */
  inbound (msg: InboundMessage, deliver: (msg: InboundMessage) => void): void {
    const ctx: InboundContext = { direction: 'in', node: this.node, peer: msg.from }
    try {
      run(this.#inboundChain, msg, ctx, deliver, (err) => { this.report(err, 'inbound middleware', 'middleware-error') })
    } catch (err) {
      this.report(err, 'inbound middleware', 'middleware-error')
    }
  }

  /** Runs the outbound chain; errors of a synchronous chain are thrown to the caller. */
  outbound (msg: OutboundMessage, peer: Peer | undefined, send: (msg: OutboundMessage) => void): void {
    if (this.#outboundChain.length === 0) { send(msg); return }
    const ctx: OutboundContext = { direction: 'out', node: this.node, peer, broadcast: peer === undefined }
    run(this.#outboundChain, msg, ctx, send, (err) => { this.report(err, 'outbound middleware', 'send-failed') })
  }

  #runConnectionHook (c: { name: string, hook: (peer: Peer, node: MiddlewareNode) => void | (() => void) }, peer: Peer): void {
    try {
      const cleanup = c.hook(peer, this.node)
      if (typeof cleanup === 'function') {
        let list = this.#cleanups.get(peer)
        if (list === undefined) { list = []; this.#cleanups.set(peer, list) }
        list.push(cleanup)
      }
    } catch (err) {
      this.report(err, `connection hook of ${c.name}`, 'middleware-error')
    }
  }

  #runCleanups (peer: Peer): void {
    const list = this.#cleanups.get(peer)
    if (list === undefined) return
    this.#cleanups.delete(peer)
    for (const fn of list) {
      try { fn() } catch (err) { this.report(err, 'connection cleanup', 'middleware-error') }
    }
  }
}

/**
 * Runs `chain` then `terminal`. A step that calls `next` while it runs propagates errors
 * synchronously; a deferred `next` or a rejected `async` step reports to `onAsyncError`.
 */
function run<M, C> (
  chain: ReadonlyArray<(msg: M, ctx: C, next: Next<M>) => void | Promise<void>>,
  msg: M,
  ctx: C,
  terminal: (msg: M) => void,
  onAsyncError: (err: unknown) => void
): void {
  const step = (i: number, m: M): void => {
    const h = chain[i]
    if (h === undefined) { terminal(m); return }
    let called = false
    let running = true
    const next: Next<M> = (replacement) => {
      if (called) throw new TypeError('next() was called twice')
      called = true
      const nm = replacement === undefined ? m : replacement
      if (running) { step(i + 1, nm); return }
      try { step(i + 1, nm) } catch (err) { onAsyncError(err) }
    }
    let r: void | Promise<void>
    try { r = h(m, ctx, next) } finally { running = false }
    if (r !== undefined && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, onAsyncError)
  }
  step(0, msg)
}
