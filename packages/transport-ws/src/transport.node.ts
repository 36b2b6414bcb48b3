import { createServer } from 'node:http'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { DialError, InvalidAddressError, formatAddress, throwIfAborted, toAbortError } from '@hearsay/core'
import type { Connection, DialOptions, Listener, ListenOptions, Transport } from '@hearsay/core'
import { PROTOCOLS, parseWsAddress, pathOf } from './address.js'
import { NodeWsConnection } from './connection.node.js'
import { positiveInteger, resolveLimits } from './options.js'
import type { Limits, WebSocketsInit } from './options.js'
import { addRoute, removeRoute } from './upgrade-router.node.js'

export interface NodeWebSocketsInit extends WebSocketsInit {
  /**
   * Accept connections through this existing (listening) `http.Server` or `https.Server`
   * instead of opening a server per `listen` call. The listen address then only contributes its
   * path; the transport never closes this server.
   */
  server?: Server
}

/** A WebSocket transport for Node, built on `ws`: dials and listens. */
export function webSockets (init: NodeWebSocketsInit = {}): Transport {
  return new NodeWebSocketTransport(init)
}

class NodeWebSocketTransport implements Transport {
  readonly name = 'ws'
  readonly protocols = PROTOCOLS
  readonly supports = { listen: true }
  private readonly limits: Limits
  private readonly userServer: Server | undefined
  /** Every socket not yet closed, dialling or accepted. */
  private readonly sockets = new Map<WebSocket, Promise<void>>()
  private readonly listeners = new Set<{ close: () => Promise<void> }>()
  /** Servers this transport created, with a promise of their `close` event. */
  private readonly servers = new Map<Server, Promise<void>>()

  constructor (init: NodeWebSocketsInit) {
    this.limits = resolveLimits(init)
    this.userServer = init.server
  }

  async dial (address: string, options: DialOptions = {}): Promise<Connection> {
    const a = parseWsAddress(address, 'dial')
    const maxFrameBytes = positiveInteger(options.maxFrameBytes, this.limits.maxFrameBytes, 'maxFrameBytes')
    const signal = options.signal
    throwIfAborted(signal)
    let socket: WebSocket
    try {
      socket = new WebSocket(a.address, { maxPayload: maxFrameBytes, perMessageDeflate: false })
    } catch (err) {
      throw new InvalidAddressError(`Invalid address: ${a.address}`, { cause: err })
    }
    this.track(socket)
    return await new Promise<Connection>((resolve, reject) => {
      let settled = false
      const settle = (err?: Error): void => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        if (err !== undefined) { reject(err); return }
        // built inside the 'open' handler: a frame may follow on the next tick, before any await resumes
        resolve(new NodeWsConnection({ socket, remoteAddress: a.address, direction: 'outbound', maxFrameBytes, highWaterMark: this.limits.highWaterMark }))
      }
      const onAbort = (): void => {
        settle(toAbortError(signal?.reason))
        socket.terminate()
      }
      socket.once('open', () => { settle() })
      socket.on('error', err => { settle(new DialError(`Could not dial ${a.address}: ${err.message}`, { cause: err })) })
      socket.once('close', () => { settle(new DialError(`Could not dial ${a.address}: closed during the handshake`)) })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  async listen (address: string, onConnection: (conn: Connection) => void, options: ListenOptions = {}): Promise<Listener> {
    const a = parseWsAddress(address, 'listen')
    const maxFrameBytes = positiveInteger(options.maxFrameBytes, this.limits.maxFrameBytes, 'maxFrameBytes')
    throwIfAborted(options.signal)
    const own = this.userServer === undefined
    if (own && a.protocol === 'wss') throw new InvalidAddressError(`Listening on wss needs an https server passed as init.server: ${address}`)
    const server = this.userServer ?? this.createServer()
    try {
      await whenListening(server, options.signal, own ? () => server.listen({ host: a.host, port: a.port }) : undefined)
    } catch (err) {
      if (own) server.close()
      throw err
    }
    const bound = server.address()
    if (bound === null || typeof bound === 'string') {
      if (own) server.close()
      throw new InvalidAddressError(`The server does not listen on a TCP port: ${String(bound)}`)
    }
    const path = pathOf(a.path)
    const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes, perMessageDeflate: false, clientTracking: false })
    const accept = (ws: WebSocket, req: IncomingMessage): void => { this.accept(ws, req, maxFrameBytes, onConnection) }
    try {
      addRoute(server, path, (req, socket, head) => { wss.handleUpgrade(req, socket, head, accept) })
    } catch (err) {
      if (own) server.close()
      throw err
    }
    const listener = {
      addresses: [formatAddress(a.protocol, unmapped(bound.address), bound.port) + (path === '/' ? '' : path)],
      close: async (): Promise<void> => {
        if (!this.listeners.delete(listener)) return
        removeRoute(server, path)
        wss.close()
        // stops accepting at once; the `close` event waits for accepted sockets, which stay open
        if (own) server.close()
      }
    }
    this.listeners.add(listener)
    return listener
  }

  async close (): Promise<void> {
    await Promise.all([...this.listeners].map(async l => { await l.close() }))
    const closing = [...this.sockets.values()]
    for (const socket of this.sockets.keys()) socket.terminate()
    await Promise.all(closing)
    for (const server of this.servers.keys()) server.closeAllConnections()
    await Promise.all(this.servers.values())
  }

  private createServer (): Server {
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' })
      res.end('This endpoint only accepts WebSocket connections\n')
    })
    // accept() failures such as EMFILE are reported here; the server keeps listening
    server.on('error', () => {})
    this.servers.set(server, new Promise(resolve => server.once('close', () => {
      this.servers.delete(server)
      resolve()
    })))
    return server
  }

  private accept (ws: WebSocket, req: IncomingMessage, maxFrameBytes: number, onConnection: (conn: Connection) => void): void {
    this.track(ws)
    const remoteAddress = formatAddress('ws', unmapped(req.socket.remoteAddress ?? 'unknown'), req.socket.remotePort ?? 0)
    const conn = new NodeWsConnection({ socket: ws, remoteAddress, direction: 'inbound', maxFrameBytes, highWaterMark: this.limits.highWaterMark })
    try {
      onConnection(conn)
    } catch (err) {
      conn.close(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private track (socket: WebSocket): void {
    // an error handler from the first moment: a reset socket must never crash the process
    socket.on('error', () => {})
    this.sockets.set(socket, new Promise(resolve => socket.once('close', () => {
      this.sockets.delete(socket)
      resolve()
    })))
  }
}

/** Resolves once `server` listens, calling `start` to make it; rejects on error or abort. */
async function whenListening (server: Server, signal: AbortSignal | undefined, start?: () => void): Promise<void> {
  if (server.listening) return
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      server.off('listening', onListening)
      server.off('error', onError)
      signal?.removeEventListener('abort', onAbort)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onListening = (): void => { done() }
    const onError = (err: Error): void => { done(new InvalidAddressError(`Cannot listen: ${err.message}`, { cause: err })) }
    const onAbort = (): void => { done(toAbortError(signal?.reason)) }
    server.once('listening', onListening)
    server.once('error', onError)
    signal?.addEventListener('abort', onAbort, { once: true })
    start?.()
  })
}

/** `::ffff:127.0.0.1` → `127.0.0.1`. */
function unmapped (host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host
}
