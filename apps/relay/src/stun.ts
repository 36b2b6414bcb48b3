/**
 * A STUN server for NAT traversal (RFC 8489): it answers Binding requests on a UDP port with the
 * address the request came from (XOR-MAPPED-ADDRESS), which is all a WebRTC peer needs from STUN
 * to learn its server-reflexive candidate. No authentication, no other methods: a request with a
 * comprehension-required attribute this server does not know gets error 420 as the RFC says;
 * anything else that is not a well-formed Binding request is dropped and counted.
 *
 * Written here rather than taken from npm: the codec is the ~60 lines below, and the one STUN
 * package on npm (`stun`, last published 2020) brings ten dependencies, among them `ip`, which
 * has an unfixed advisory. Answers are rate-limited per source address (a token bucket per
 * address, the addresses kept in a bounded map), so the port cannot be used to reflect traffic.
 */
import { createSocket } from 'node:dgram'
import type { RemoteInfo, Socket } from 'node:dgram'
import { isIPv4 } from 'node:net'
import { ExpiringMap, TokenBucket } from '@hearsay/core'
import type { Logger, Metrics } from '@hearsay/core'

export const MAGIC_COOKIE = 0x2112a442
export const BINDING_REQUEST = 0x0001
export const BINDING_SUCCESS = 0x0101
export const BINDING_ERROR = 0x0111
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020
export const ATTR_ERROR_CODE = 0x0009
export const ATTR_UNKNOWN_ATTRIBUTES = 0x000a
export const ATTR_SOFTWARE = 0x8022
const HEADER_BYTES = 20
/** Largest request answered: a Binding request from a browser is under 200 bytes. */
export const MAX_REQUEST_BYTES = 548

/** Why a datagram was not answered; counted as `drops.stun-<reason>`. */
export type StunDrop = 'short' | 'not-stun' | 'not-binding' | 'bad-length' | 'bad-attribute' | 'too-large'

export type ParsedRequest =
  | { ok: true, transactionId: Uint8Array, unknown: number[] }
  | { ok: false, reason: StunDrop }

/**
 * Checks a datagram as a Binding request: header (type, length, magic cookie), then every
 * attribute's length within the message. `unknown` lists comprehension-required attributes
 * (type < 0x8000) that this server does not understand; an answer must name them (error 420).
 */
export function parseBindingRequest (msg: Uint8Array): ParsedRequest {
  if (msg.length > MAX_REQUEST_BYTES) return { ok: false, reason: 'too-large' }
  if (msg.length < HEADER_BYTES) return { ok: false, reason: 'short' }
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
  const type = view.getUint16(0)
  // the two top bits of every STUN message are zero, and RFC 8489 messages carry the cookie
  if ((type & 0xc000) !== 0 || view.getUint32(4) !== MAGIC_COOKIE) return { ok: false, reason: 'not-stun' }
  if (type !== BINDING_REQUEST) return { ok: false, reason: 'not-binding' }
  const length = view.getUint16(2)
  if (length % 4 !== 0 || HEADER_BYTES + length !== msg.length) return { ok: false, reason: 'bad-length' }
  const unknown: number[] = []
  let at = HEADER_BYTES
  while (at < msg.length) {
    if (at + 4 > msg.length) return { ok: false, reason: 'bad-attribute' }
    const attr = view.getUint16(at)
    const len = view.getUint16(at + 2)
    const padded = (len + 3) & ~3
    if (at + 4 + padded > msg.length) return { ok: false, reason: 'bad-attribute' }
    // SOFTWARE, FINGERPRINT and the rest of 0x8000-0xFFFF may be ignored; the request has no
    // comprehension-required attribute this server needs
    if (attr < 0x8000 && unknown.length < 16) unknown.push(attr)
    at += 4 + padded
  }
  return { ok: true, transactionId: msg.slice(8, 20), unknown }
}

function header (type: number, length: number, transactionId: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + length)
  const view = new DataView(out.buffer)
  view.setUint16(0, type)
  view.setUint16(2, length)
  view.setUint32(4, MAGIC_COOKIE)
  out.set(transactionId, 8)
  return out
}

/** A Binding success response carrying XOR-MAPPED-ADDRESS for `address:port` (IPv4 or IPv6). */
export function bindingSuccess (transactionId: Uint8Array, address: string, port: number): Uint8Array {
  const ip = ipBytes(address)
  const valueLength = 4 + ip.length
  const out = header(BINDING_SUCCESS, 4 + valueLength, transactionId)
  const view = new DataView(out.buffer)
  view.setUint16(20, ATTR_XOR_MAPPED_ADDRESS)
  view.setUint16(22, valueLength)
  view.setUint8(25, ip.length === 4 ? 0x01 : 0x02)
  view.setUint16(26, port ^ (MAGIC_COOKIE >>> 16))
  // the address is XORed with the cookie, then (IPv6) with the transaction id
  const mask = out.subarray(4, 20)
  for (let i = 0; i < ip.length; i++) out[28 + i] = ip[i]! ^ mask[i]!
  return out
}

/** A Binding error response 420 (Unknown Attribute) naming the attributes (RFC 8489 §14.13). */
export function unknownAttributes (transactionId: Uint8Array, attrs: number[]): Uint8Array {
  const reason = new TextEncoder().encode('Unknown Attribute')
  const errLength = 4 + reason.length
  const errPadded = (errLength + 3) & ~3
  const listLength = attrs.length * 2
  const listPadded = (listLength + 3) & ~3
  const out = header(BINDING_ERROR, 4 + errPadded + 4 + listPadded, transactionId)
  const view = new DataView(out.buffer)
  view.setUint16(20, ATTR_ERROR_CODE)
  view.setUint16(22, errLength)
  view.setUint8(26, 4)
  view.setUint8(27, 20)
  out.set(reason, 28)
  const at = 24 + errPadded
  view.setUint16(at, ATTR_UNKNOWN_ATTRIBUTES)
  view.setUint16(at + 2, listLength)
  attrs.forEach((a, i) => { view.setUint16(at + 4 + i * 2, a) })
  return out
}

/** Reads XOR-MAPPED-ADDRESS from a Binding success response (for tests and probes). */
export function readMappedAddress (msg: Uint8Array): { address: string, port: number } | undefined {
  if (msg.length < HEADER_BYTES) return undefined
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
  if (view.getUint16(0) !== BINDING_SUCCESS || view.getUint32(4) !== MAGIC_COOKIE) return undefined
  let at = HEADER_BYTES
  while (at + 4 <= msg.length) {
    const attr = view.getUint16(at)
    const len = view.getUint16(at + 2)
    if (attr === ATTR_XOR_MAPPED_ADDRESS && at + 4 + len <= msg.length && (len === 8 || len === 20)) {
      const port = view.getUint16(at + 6) ^ (MAGIC_COOKIE >>> 16)
      const bytes = msg.slice(at + 8, at + 4 + len)
      for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ msg[4 + i]!
      return { address: bytes.length === 4 ? bytes.join('.') : ipv6Text(bytes), port }
    }
    at += 4 + ((len + 3) & ~3)
  }
  return undefined
}

function ipBytes (address: string): Uint8Array {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  const v4 = mapped?.[1] ?? address
  if (isIPv4(v4)) return Uint8Array.from(v4.split('.').map(Number))
  // IPv6: expand `::` and read the eight groups
  const [head = '', tail] = address.split('%')[0]!.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  const out = new Uint8Array(16)
  groups.forEach((g, i) => { const n = parseInt(g, 16); out[i * 2] = n >> 8; out[i * 2 + 1] = n & 0xff })
  return out
}

function ipv6Text (bytes: Uint8Array): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  return groups.join(':')
}

export interface StunServerOptions {
  host: string
  port: number
  metrics: Metrics
  logger: Logger
  /** Answers per second per source address, with a burst of twice that. @default 20 */
  ratePerAddress?: number
  /** Source addresses whose buckets are remembered; the oldest is forgotten first. @default 10000 */
  maxAddresses?: number
  /** Clock in ms for the rate limit. @default Date.now */
  now?: () => number
}

export interface StunServer {
  /** The UDP port it listens on. */
  readonly port: number
  close: () => Promise<void>
}

/**
 * 100 answers/s per source address (burst 200): one address may be a household, an office or a
 * carrier's CGNAT, and every WebRTC session gathers (and retransmits) on its own: at 20/s the mesh
 * e2e run (100 peers behind one address) dropped 13,507 requests, each a session without its
 * server-reflexive candidate. Still a bound on reflection: an answer is at most ~1.6× its request,
 * so a spoofed victim gets a few kB/s from a relay.
 */
export const STUN_DEFAULTS = Object.freeze({ ratePerAddress: 100, maxAddresses: 10_000 })

/**
 * Listens on UDP `host:port` and answers Binding requests. Counters: `stun.requests`,
 * `stun.answers`, `drops.stun-<reason>` (see `StunDrop`) and `drops.stun-rate-limit`. Socket
 * errors are logged and the socket stays open; nothing a datagram holds can throw out of it.
 */
export async function startStunServer (options: StunServerOptions): Promise<StunServer> {
  const { metrics, logger } = options
  const rate = options.ratePerAddress ?? STUN_DEFAULTS.ratePerAddress
  const now = options.now ?? Date.now
  const buckets = new ExpiringMap<string, TokenBucket>(options.maxAddresses ?? STUN_DEFAULTS.maxAddresses, 60_000)
  const socket: Socket = createSocket({ type: options.host.includes(':') ? 'udp6' : 'udp4' })
  const onMessage = (msg: Buffer, from: RemoteInfo): void => {
    try {
      metrics.inc('stun.requests')
      const parsed = parseBindingRequest(msg)
      if (!parsed.ok) { metrics.drop(`stun-${parsed.reason}`); return }
      const t = now()
      let bucket = buckets.get(from.address, t)
      if (bucket === undefined) { bucket = new TokenBucket(rate, rate * 2, t); buckets.set(from.address, bucket, t) }
      if (!bucket.take(1, t)) { metrics.drop('stun-rate-limit'); return }
      const answer = parsed.unknown.length > 0
        ? unknownAttributes(parsed.transactionId, parsed.unknown)
        : bindingSuccess(parsed.transactionId, from.address, from.port)
      socket.send(answer, from.port, from.address, (err) => {
        if (err !== null && err !== undefined) metrics.drop('stun-send-failed')
      })
      metrics.inc('stun.answers')
    } catch (err) {
      metrics.drop('stun-error')
      logger.debug('stun datagram failed', { err })
    }
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => { reject(new Error(`cannot listen for STUN on udp ${options.host}:${options.port}: ${err.message}`, { cause: err })) }
    socket.once('error', onError)
    socket.bind({ address: options.host, port: options.port }, () => {
      socket.off('error', onError)
      resolve()
    })
  })
  socket.on('error', (err) => { logger.warn('stun socket error', { err }) })
  socket.on('message', onMessage)
  let closed: Promise<void> | undefined
  return {
    port: socket.address().port,
    close: async () => {
      closed ??= new Promise<void>(resolve => { socket.close(() => { resolve() }) })
      await closed
    }
  }
}
