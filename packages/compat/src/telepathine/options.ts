/**
 * telepathine's constructor arguments: names, defaults, checks (TypeError at the call) and the
 * seed forms it took (`'127.0.0.1:9001'`, `':9000'`, `'9000'`: the last two mean this machine).
 */
import { warnOnce } from '../shared/warn-once.js'

export interface TelepathineOptions {
  /** This node's address: what others are told to dial. '' means this machine (127.0.0.1). @default '' */
  address?: string
  /** Whether to emit value change events on heartbeats. hearsay has no such events: `true` warns once. @default false */
  emitValueOnHeartBeat?: boolean
  /** Manual address translation, `{ from: to }`: applied to this node's advertised address and to the seeds. @default {} */
  addressMap?: Record<string, string>
  /** Pre-shared network key (hearsay's `networkKey`); undefined is the public network. @default undefined */
  network?: string
  /** Whether to run telepathine's UDP server. hearsay has no datagrams: `true` warns once, everything goes over TCP. @default true (ignored, see docs) */
  udp?: boolean
  /** How often (ms) to send gossip updates (hearsay's `state.gossipInterval`). @default 2500 */
  gossipIntervalMS?: number
  /** How often (ms) to send heartbeat updates (hearsay's `state.memberHeartbeatInterval`). @default 2500 */
  heartbeatIntervalMS?: number
}

export interface ResolvedTelepathine {
  port: number
  host: string
  seeds: string[]
  announce: string | undefined
  network: string | undefined
  gossipIntervalMS: number
  heartbeatIntervalMS: number
}

export const TELEPATHINE_DEFAULTS = Object.freeze({
  address: '',
  emitValueOnHeartBeat: false,
  addressMap: Object.freeze({}) as Readonly<Record<string, string>>,
  network: undefined,
  udp: true,
  gossipIntervalMS: 2500,
  heartbeatIntervalMS: 2500
})

const KNOWN = new Set(Object.keys(TELEPATHINE_DEFAULTS))

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535
const positive = (name: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new TypeError(`new Telepathine: options.${name} must be a positive number of ms`)
  return v
}

/** '' → 127.0.0.1; IPv6 in brackets for a URL. */
export const urlHost = (host: string): string => host === '' ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host

/** `'host:port'`, `'[v6]:port'`, `':port'` or `'port'` → `tcp://host:port`. */
export function parseSeed (seed: unknown, map: Readonly<Record<string, string>>): string {
  if (typeof seed !== 'string' && typeof seed !== 'number') throw new TypeError(`new Telepathine: a seed must be a string such as '127.0.0.1:9001' or ':9000' (got ${typeof seed})`)
  const text = String(seed).trim()
  const m = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(text)
  const port = m === null ? NaN : Number(m[2])
  if (m === null || port < 1 || port > 65535) throw new TypeError(`new Telepathine: seed "${text}" is not 'host:port', ':port' or 'port'`)
  const raw = (m[1] ?? '').replace(/^\[|\]$/g, '')
  const host = map[raw] ?? raw
  return `tcp://${urlHost(host)}:${port}`
}

export function resolveTelepathine (port: unknown, seeds: unknown, options: unknown): ResolvedTelepathine {
  if (!isPort(port)) throw new TypeError('new Telepathine(port, seeds, options): port must be an integer 0..65535 (0 picks a free port)')
  if (seeds !== undefined && !Array.isArray(seeds)) throw new TypeError('new Telepathine(port, seeds, options): seeds must be an array of \'host:port\' strings')
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new TypeError('new Telepathine(port, seeds, options): options must be an object')
  const o = (options ?? {}) as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) throw new TypeError(`new Telepathine: unknown option "${k}" (telepathine's options: ${[...KNOWN].join(', ')})`)
  }
  const address = o.address ?? TELEPATHINE_DEFAULTS.address
  if (typeof address !== 'string') throw new TypeError('new Telepathine: options.address must be a string (\'\' is this machine)')
  const map = o.addressMap ?? TELEPATHINE_DEFAULTS.addressMap
  if (map === null || typeof map !== 'object' || Object.values(map).some(v => typeof v !== 'string')) throw new TypeError('new Telepathine: options.addressMap must map address strings to address strings')
  const addressMap = map as Record<string, string>
  const network = o.network
  if (network !== undefined && (typeof network !== 'string' || network.length === 0)) throw new TypeError('new Telepathine: options.network must be a non-empty string (the pre-shared key) or undefined (public)')
  if (o.udp !== undefined && typeof o.udp !== 'boolean') throw new TypeError('new Telepathine: options.udp must be a boolean')
  if (o.emitValueOnHeartBeat !== undefined && typeof o.emitValueOnHeartBeat !== 'boolean') throw new TypeError('new Telepathine: options.emitValueOnHeartBeat must be a boolean')
  // only an explicit request warns: the default `udp: true` was a recommendation, and TCP carries everything
  if (o.udp === true) warnOnce('HEARSAY_COMPAT_TELEPATHINE_UDP', 'telepathine compat: udp: true has no effect: hearsay has no UDP datagrams (every link is an authenticated, encrypted TCP stream, which datagrams would bypass); everything goes over TCP')
  if (o.emitValueOnHeartBeat === true) warnOnce('HEARSAY_COMPAT_TELEPATHINE_HEARTBEAT_VALUES', 'telepathine compat: emitValueOnHeartBeat: true has no effect: hearsay\'s anti-entropy sends only changed values (heartbeats carry no values), so there is no value to emit on a heartbeat; use know() / on(\'set\') for changes')
  const own = address === '' ? '127.0.0.1' : address
  if (Object.keys(addressMap).some(k => k !== address && k !== own)) {
    warnOnce('HEARSAY_COMPAT_TELEPATHINE_ADDRESSMAP', 'telepathine compat: addressMap applies to this node\'s own address and to the seeds only: addresses learned from other peers are dialled as they advertise themselves (set their own address/addressMap there)')
  }
  const mapped = addressMap[address] ?? addressMap[own]
  return {
    port,
    host: own,
    seeds: ((seeds ?? []) as unknown[]).map(s => parseSeed(s, addressMap)),
    announce: mapped === undefined || port === 0 ? undefined : `tcp://${urlHost(mapped)}:${port}`,
    network,
    gossipIntervalMS: positive('gossipIntervalMS', o.gossipIntervalMS ?? TELEPATHINE_DEFAULTS.gossipIntervalMS),
    heartbeatIntervalMS: positive('heartbeatIntervalMS', o.heartbeatIntervalMS ?? TELEPATHINE_DEFAULTS.heartbeatIntervalMS)
  }
}
