import * as net from 'node:net'
import { networkInterfaces } from 'node:os'
import {
  DEFAULT_MAX_FRAME_BYTES,
  DialError,
  InvalidAddressError,
  formatAddress,
  parseAddress,
  throwIfAborted,
  toAbortError
} from '@hearsay/core'
import type { Connection, DialOptions, Listener, ListenOptions, ParsedAddress, Transport } from '@hearsay/core'
import { TcpConnection } from './connection.js'
import { checkMaxFrameBytes } from './frame-decoder.js'
import type { TcpInit } from './options.js'

interface ServerRecord {
  server: net.Server
  /** server.close() was called (by the listener or the transport). */
  stopped: boolean
  /** Resolves on the server's 'close' event (after its last connection is gone). */
  gone: Promise<void>
}

/**
 * A TCP transport for Node: `tcp://host:port` addresses, 4-byte big-endian length-prefixed
 * frames. In browsers the package's `browser` entry provides a `tcp()` that rejects instead.
 */
export function tcp (init: TcpInit = {}): Transport {
  return new TcpTransport(init)
}

class TcpTransport implements Transport {
  readonly name = 'tcp'
  readonly protocols = ['tcp'] as const
  readonly supports = { listen: true }
  private readonly maxFrameBytes: number
  private readonly noDelay: boolean
  private readonly keepAlive: number
  /** Every socket this transport holds: pending dials and open connections, both directions. */
  private readonly sockets = new Map<net.Socket, TcpConnection | undefined>()
  private readonly servers = new Set<ServerRecord>()

  constructor (init: TcpInit) {
    if (init === null || typeof init !== 'object') throw new TypeError('tcp() options must be an object')
    this.maxFrameBytes = checkMaxFrameBytes(init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
    if (init.noDelay !== undefined && typeof init.noDelay !== 'boolean') throw new TypeError('noDelay must be a boolean')
    this.noDelay = init.noDelay ?? true
    const keepAlive = init.keepAlive ?? 10_000
    if (typeof keepAlive !== 'number' || !Number.isFinite(keepAlive) || keepAlive < 0) {
      throw new TypeError('keepAlive must be a number of milliseconds >= 0 (0 turns it off)')
    }
    this.keepAlive = keepAlive
  }

  async dial (address: string, options: DialOptions = {}): Promise<Connection> {
    throwIfAborted(options.signal)
    const target = parseTcpAddress(address, 'dial')
    if (target.port === 0) throw new InvalidAddressError(`Cannot dial port 0: ${address}`)
    const maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes ?? this.maxFrameBytes)
    const signal = options.signal

    return await new Promise<Connection>((resolve, reject) => {
      const socket = net.connect({ host: target.host, port: target.port })
      this.track(socket)
      let settled = false
      const cleanup = (): void => {
        settled = true
        socket.off('connect', onConnect)
        socket.off('error', onError)
        socket.off('close', onClose)
        signal?.removeEventListener('abort', onAbort)
      }
      const fail = (err: Error): void => {
        if (settled) return
        cleanup()
        // the half-open socket must not outlive the failed dial; keep a no-op error handler so
        // that a late error on it cannot crash the process
        socket.on('error', () => {})
        socket.destroy()
        reject(err)
      }
      const onError = (err: Error): void => { fail(new DialError(`Could not connect to ${target.address}: ${err.message}`, { cause: err })) }
      const onClose = (): void => { fail(new DialError(`Socket to ${target.address} closed before it connected`)) }
      const onAbort = (): void => { fail(toAbortError(signal?.reason)) }
      const onConnect = (): void => {
        if (settled) return
        this.configure(socket)
        const conn = new TcpConnection({ socket, remoteAddress: target.address, direction: 'outbound', maxFrameBytes })
        if (this.sockets.has(socket)) this.sockets.set(socket, conn)
        cleanup()
        resolve(conn)
      }
      socket.on('error', onError)
      socket.once('close', onClose)
      socket.once('connect', onConnect)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  async listen (address: string, onConnection: (conn: Connection) => void, options: ListenOptions = {}): Promise<Listener> {
    throwIfAborted(options.signal)
    if (typeof onConnection !== 'function') throw new TypeError('listen needs an onConnection function')
    const target = parseTcpAddress(address, 'listen')
    const maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes ?? this.maxFrameBytes)
    const signal = options.signal

    const server = net.createServer()
    let resolveGone = (): void => {}
    const record: ServerRecord = { server, stopped: false, gone: new Promise<void>(resolve => { resolveGone = resolve }) }
    server.once('close', () => { this.servers.delete(record); resolveGone() })
    this.servers.add(record)

    server.on('connection', (socket: net.Socket) => {
      this.track(socket)
      const remote = socket.remoteAddress
      const port = socket.remotePort
      if (remote === undefined || port === undefined) {
        // already gone (reset between accept and here)
        socket.on('error', () => {})
        socket.destroy()
        return
      }
      this.configure(socket)
      const conn = new TcpConnection({ socket, remoteAddress: formatAddress('tcp', remote, port), direction: 'inbound', maxFrameBytes })
      this.sockets.set(socket, conn)
      try {
        onConnection(conn)
      } catch (err) {
        conn.close(err instanceof Error ? err : new Error(String(err)))
      }
    })

    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        server.off('listening', onListening)
        server.off('error', onError)
        signal?.removeEventListener('abort', onAbort)
      }
      const onListening = (): void => { done(); resolve() }
      const onError = (err: Error): void => {
        done()
        this.stopServer(record)
        reject(new InvalidAddressError(`Cannot listen on ${target.address}: ${err.message}`, { cause: err }))
      }
      const onAbort = (): void => {
        done()
        this.stopServer(record)
        reject(toAbortError(signal?.reason))
      }
      server.once('listening', onListening)
      server.once('error', onError)
      signal?.addEventListener('abort', onAbort, { once: true })
      server.listen({ host: target.host, port: target.port })
    })
    // accept errors (e.g. EMFILE) are reported on the server; they must not crash the process
    server.on('error', () => {})

    const info = server.address() as net.AddressInfo
    const addresses = listenerAddresses(info)
    return {
      addresses,
      close: async () => { this.stopServer(record) }
    }
  }

  async close (): Promise<void> {
    for (const record of this.servers) this.stopServer(record)
    const closing: Array<Promise<void>> = []
    for (const [socket, conn] of this.sockets) {
      if (!socket.closed) closing.push(new Promise<void>(resolve => { socket.once('close', () => resolve()) }))
      if (conn !== undefined) conn.destroy()
      else socket.destroy()
    }
    await Promise.all(closing)
    await Promise.all([...this.servers].map(async r => await r.gone))
  }

  private track (socket: net.Socket): void {
    this.sockets.set(socket, undefined)
    socket.once('close', () => { this.sockets.delete(socket) })
  }

  private configure (socket: net.Socket): void {
    socket.setNoDelay(this.noDelay)
    if (this.keepAlive > 0) socket.setKeepAlive(true, this.keepAlive)
  }

  /** Stops accepting; connections already accepted stay open. Idempotent. */
  private stopServer (record: ServerRecord): void {
    if (record.stopped) return
    record.stopped = true
    // the callback swallows ERR_SERVER_NOT_RUNNING when listen never succeeded
    record.server.close(() => {})
  }
}

function parseTcpAddress (address: string, what: 'dial' | 'listen'): ParsedAddress {
  const a = parseAddress(address, 'tcp')
  if (a.protocol !== 'tcp') throw new InvalidAddressError(`The tcp transport cannot ${what} ${address}`)
  if (a.path !== '') throw new InvalidAddressError(`A tcp address has no path: ${address}`)
  return a
}

/** The dialable addresses of a bound server: a wildcard bind lists the host's interfaces. */
function listenerAddresses (info: net.AddressInfo): string[] {
  const wildcard4 = info.address === '0.0.0.0'
  const wildcard6 = info.address === '::'
  if (!wildcard4 && !wildcard6) return [formatAddress('tcp', info.address, info.port)]
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const nic of list ?? []) {
      if (nic.family === 'IPv4') out.push(formatAddress('tcp', nic.address, info.port))
      // link-local IPv6 needs a zone id to be dialled; leave it out
      else if (wildcard6 && !nic.address.toLowerCase().startsWith('fe80:')) out.push(formatAddress('tcp', nic.address, info.port))
    }
  }
  // loopback last: prefer addresses that other hosts can dial
  out.sort((x, y) => Number(isLoopback(x)) - Number(isLoopback(y)))
  return out.length > 0 ? out : [formatAddress('tcp', info.address, info.port)]
}

function isLoopback (address: string): boolean {
  return address.startsWith('tcp://127.') || address.startsWith('tcp://[::1]')
}
