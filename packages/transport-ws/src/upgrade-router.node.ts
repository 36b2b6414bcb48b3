import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { InvalidAddressError } from '@hearsay/core'
import { pathOf } from './address.js'

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/**
 * Routes HTTP upgrade requests by path, so several listeners can share one `http.Server`. Each
 * server gets a single `upgrade` listener while it has routes.
 */
const routes = new WeakMap<Server, Map<string, UpgradeHandler>>()

export function addRoute (server: Server, path: string, handler: UpgradeHandler): void {
  let table = routes.get(server)
  if (table === undefined) {
    table = new Map()
    routes.set(server, table)
    server.on('upgrade', dispatch)
  }
  if (table.has(path)) throw new InvalidAddressError(`A WebSocket listener already uses path ${path} on this server`)
  table.set(path, handler)
}

export function removeRoute (server: Server, path: string): void {
  const table = routes.get(server)
  if (table === undefined || !table.delete(path) || table.size > 0) return
  routes.delete(server)
  server.off('upgrade', dispatch)
}

function dispatch (this: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const handler = routes.get(this)?.get(pathOf(req.url ?? '/'))
  if (handler !== undefined) { handler(req, socket, head); return }
  // someone else listens for upgrades on this server: the request may be theirs
  if (this.listenerCount('upgrade') > 1) return
  socket.on('error', () => {})
  socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
}
