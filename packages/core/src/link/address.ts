import { InvalidAddressError } from '../util/errors.js'

export interface ParsedAddress {
  /** The scheme without the colon: `ws`, `wss`, `tcp`, `memory`, `webrtc`. */
  protocol: string
  /** Host for socket addresses (IPv6 without brackets), else empty. */
  host: string
  /** Port for socket addresses, else 0. */
  port: number
  /** Everything after the scheme for opaque addresses (`memory:<name>`, `webrtc:<peerId>`). */
  name: string
  /** Path and query for ws(s) URLs. */
  path: string
  /** The normalised address string. */
  address: string
}

const OPAQUE = new Set(['memory', 'webrtc'])

/**
 * Addresses are URLs: `ws://host:port`, `tcp://host:port`, `memory:<name>`, `webrtc:<peerId>`.
 * A bare `host:port` takes `defaultProtocol` (tcp in Node, ws in browsers).
 */
export function parseAddress (input: string, defaultProtocol = 'tcp'): ParsedAddress {
  if (typeof input !== 'string' || input.length === 0 || input.length > 2048) {
    throw new InvalidAddressError(`Invalid address: ${String(input).slice(0, 100)}`)
  }
  let text = input.trim()
  if (!/^[a-z][a-z0-9+.-]*:/i.test(text) || /^[^:/]+:\d+$/.test(text) || /^\[[^\]]+\]:\d+$/.test(text)) {
    text = `${defaultProtocol}://${text}`
  }
  const colon = text.indexOf(':')
  const protocol = text.slice(0, colon).toLowerCase()
  if (OPAQUE.has(protocol)) {
    const name = text.slice(colon + 1).replace(/^\/\//, '')
    if (name.length === 0) throw new InvalidAddressError(`Address has no name: ${input}`)
    return { protocol, host: '', port: 0, name, path: '', address: `${protocol}:${name}` }
  }
  let url: URL
  try { url = new URL(text) } catch (err) { throw new InvalidAddressError(`Invalid address: ${input}`, { cause: err }) }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = url.port === '' ? defaultPort(protocol) : Number(url.port)
  if (host === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidAddressError(`Address needs a host and a port: ${input}`)
  }
  const path = url.pathname === '/' ? '' : url.pathname
  const hostText = host.includes(':') ? `[${host}]` : host
  return { protocol, host, port, name: '', path: path + url.search, address: `${protocol}://${hostText}:${port}${path}${url.search}` }
}

function defaultPort (protocol: string): number {
  if (protocol === 'ws') return 80
  if (protocol === 'wss') return 443
  return Number.NaN
}

export function formatAddress (protocol: string, host: string, port: number): string {
  const hostText = host.includes(':') ? `[${host}]` : host
  return `${protocol}://${hostText}:${port}`
}
