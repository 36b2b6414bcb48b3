import { DialError, InvalidAddressError, UnsupportedError, throwIfAborted, toAbortError } from '@hearsay/core'
import type { Connection, DialOptions, Listener, Transport } from '@hearsay/core'
import { PROTOCOLS, parseWsAddress } from './address.js'
import { BrowserWsConnection } from './connection.browser.js'
import { positiveInteger, resolveLimits } from './options.js'
import type { Limits, WebSocketsInit } from './options.js'

export type WebSocketConstructor = new (url: string) => WebSocket

/**
 * A dial-only WebSocket transport over a WHATWG `WebSocket` constructor (the browser's own, or
 * any implementation of the same interface).
 */
export function browserWebSockets (WebSocketImpl: WebSocketConstructor | null | undefined, init: WebSocketsInit = {}): Transport {
  return new BrowserWebSocketTransport(WebSocketImpl, init)
}

class BrowserWebSocketTransport implements Transport {
  readonly name = 'ws'
  readonly protocols = PROTOCOLS
  readonly supports = { listen: false }
  private readonly limits: Limits
  /** Sockets still dialling, and open connections. */
  private readonly dialling = new Set<WebSocket>()
  private readonly connections = new Set<BrowserWsConnection>()

  constructor (private readonly WebSocketImpl: WebSocketConstructor | null | undefined, init: WebSocketsInit) {
    this.limits = resolveLimits(init)
  }

  async dial (address: string, options: DialOptions = {}): Promise<Connection> {
    const a = parseWsAddress(address, 'dial')
    const maxFrameBytes = positiveInteger(options.maxFrameBytes, this.limits.maxFrameBytes, 'maxFrameBytes')
    const signal = options.signal
    throwIfAborted(signal)
    if (typeof this.WebSocketImpl !== 'function') throw new UnsupportedError('This runtime has no WebSocket')
    let socket: WebSocket
    try {
      socket = new this.WebSocketImpl(a.address)
    } catch (err) {
      // SyntaxError for a URL the browser rejects, SecurityError for a blocked port or scheme
      if ((err as { name?: string }).name === 'SyntaxError') throw new InvalidAddressError(`Invalid address: ${a.address}`, { cause: err })
      throw new DialError(`Could not dial ${a.address}`, { cause: err })
    }
    socket.binaryType = 'arraybuffer'
    // always some error listener: WHATWG-style implementations built on EventEmitter throw without one
    socket.addEventListener('error', () => {})
    this.dialling.add(socket)
    return await new Promise<Connection>((resolve, reject) => {
      const settle = (err?: Error): void => {
        socket.removeEventListener('open', onOpen)
        socket.removeEventListener('error', onError)
        socket.removeEventListener('close', onClose)
        signal?.removeEventListener('abort', onAbort)
        this.dialling.delete(socket)
        if (err !== undefined) { reject(err); return }
        // built inside the 'open' handler so that no message event can slip past it
        const conn = new BrowserWsConnection({ socket, remoteAddress: a.address, maxFrameBytes, highWaterMark: this.limits.highWaterMark })
        this.connections.add(conn)
        socket.addEventListener('close', () => { this.connections.delete(conn) })
        resolve(conn)
      }
      const onOpen = (): void => { settle() }
      const onError = (ev: Event): void => { settle(new DialError(`Could not dial ${a.address}`, { cause: (ev as { error?: unknown }).error ?? ev })) }
      const onClose = (ev: CloseEvent): void => { settle(new DialError(`Could not dial ${a.address}: closed with code ${ev.code}`)) }
      const onAbort = (): void => {
        settle(toAbortError(signal?.reason))
        socket.close()
      }
      socket.addEventListener('open', onOpen)
      socket.addEventListener('error', onError)
      socket.addEventListener('close', onClose)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  async listen (): Promise<Listener> {
    throw new UnsupportedError('Browsers cannot accept WebSocket connections; listen in Node instead')
  }

  async close (): Promise<void> {
    for (const socket of this.dialling) socket.close()
    for (const conn of this.connections) conn.close()
    this.connections.clear()
  }
}
