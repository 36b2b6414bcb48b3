/**
 * `coalescent.router()`: `app.route(type, (socket, message) => …)` for messages parsed by the
 * courier (use it after `courier()`). One handler per type, a later one replaces it; messages
 * pass on to the app's output whether routed or not. A handler that throws is reported as
 * `error (err, socket)`.
 */
import { Transform } from 'node:stream'
import type { TransformCallback } from 'node:stream'
import type { CoalescentApp } from './app.js'
import type { CourierMessage } from './courier.js'
import type { CoalescentMiddleware } from './middleware.js'
import type { CoalescentSocket } from './socket.js'

export type RouteHandler = (socket: CoalescentSocket, message: CourierMessage) => void

export class Router extends Transform {
  #app: CoalescentApp | undefined
  #socket: CoalescentSocket | undefined
  readonly #routes: Map<string, RouteHandler>

  constructor (routes: Map<string, RouteHandler>) {
    super({ objectMode: true })
    this.#routes = routes
  }

  _init (app: CoalescentApp, socket: CoalescentSocket): void { this.#app = app; this.#socket = socket }

  override _transform (message: CourierMessage, _encoding: BufferEncoding, done: TransformCallback): void {
    const handler = typeof message?.type === 'string' ? this.#routes.get(message.type) : undefined
    if (handler !== undefined && this.#socket !== undefined) {
      try { handler(this.#socket, message) } catch (err) { this.#app?.emit('error', err, this.#socket) }
    }
    done(null, message)
  }
}

export function router (): CoalescentMiddleware<CoalescentApp> {
  const routes = new Map<string, RouteHandler>()
  const middleware: CoalescentMiddleware<CoalescentApp> = function router () { return new Router(routes) }
  middleware._plugin = (app) => {
    app.route = (type: string, handler: RouteHandler) => {
      if (typeof type !== 'string' || type.length === 0) throw new TypeError('coalescent: app.route(type, handler) needs a non-empty type')
      if (typeof handler !== 'function') throw new TypeError('coalescent: app.route(type, handler) needs a handler function')
      routes.set(type, handler)
    }
  }
  return middleware
}
