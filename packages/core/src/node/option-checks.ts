import { parseAddress } from '../link/address.js'
import type { NodeOptions } from './options.js'

/**
 * `createNode()`'s options are checked when the node is made: an unknown name or a wrong type
 * throws `TypeError` naming it. Options that only looked accepted (smokesignal's `port`, a seed as
 * `{ port, address }`) used to leave a node that listened on nothing, without a word.
 */

type Check = (value: unknown) => string | undefined

const number = (min = 0): Check => (v) => typeof v === 'number' && !Number.isNaN(v) && v >= min ? undefined : `a number ≥ ${min}`
const integer = (min = 0): Check => (v) => Number.isInteger(v) && (v as number) >= min ? undefined : `an integer ≥ ${min}`
const bool: Check = (v) => typeof v === 'boolean' ? undefined : 'a boolean'
const object: Check = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) ? undefined : 'an object'
const array: Check = (v) => Array.isArray(v) ? undefined : 'an array'
const strings: Check = (v) => Array.isArray(v) && v.every(s => typeof s === 'string') ? undefined : 'an array of address strings'
const string: Check = (v) => typeof v === 'string' && v.length > 0 ? undefined : 'a non-empty string'

const CHECKS: Record<keyof NodeOptions, Check> = {
  transports: array,
  listen: strings,
  seeds: array, // each seed is checked below, with advice for the older packages' shapes
  store: object,
  closeStore: bool,
  statsFlushInterval: number(),
  statsMaxBatch: integer(1),
  purgeInterval: number(),
  purgeMinFailures: integer(),
  purgeMaxSuccessRatio: number(),
  maxStoredPeers: integer(),
  rttInterval: number(),
  identity: object,
  networkKey: (v) => typeof v === 'string' || v instanceof Uint8Array ? undefined : 'a string or a Uint8Array',
  logger: (v) => v !== null && (typeof v === 'object' || typeof v === 'function') ? undefined : 'an object with some of trace, debug, info, warn, error, fatal (console works)',
  limits: object,
  abuse: object,
  handshakeTimeout: number(1),
  dialTimeout: number(1),
  defaultProtocol: string,
  duplicateGraceMs: number(),
  clock: object,
  random: object,
  overlay: bool,
  minPeers: integer(),
  maxPeers: integer(1),
  passiveSize: integer(),
  shuffleInterval: number(1),
  heartbeatInterval: number(1),
  phiThreshold: number(),
  rejoinDelay: number(1),
  rejoinMaxDelay: number(1),
  healInterval: number(),
  announceAddresses: strings,
  broadcast: (v) => v === 'plumtree' || v === 'flood' ? undefined : "'plumtree' or 'flood'",
  announceLimit: integer(),
  announceTimeout: number(),
  announceRoutes: integer(),
  plumtree: object,
  channel: object,
  state: object,
  events: object,
  streamWindow: integer(1),
  maxStreamsPerPeer: integer(1),
  services: array,
  joinQueue: object
}

/** What to write instead, for the names the four older packages used. */
const INSTEAD: Record<string, string> = {
  port: "listen: ['tcp://0.0.0.0:<port>'] (or ws://…; hearsay listens on what `listen` names)",
  address: "listen: ['tcp://<address>:<port>'] and, if others must dial another address, announceAddresses",
  minPeerNo: 'minPeers',
  maxPeerNo: 'maxPeers',
  connections: 'minPeers (peernet: connections to maintain)',
  pingTimeout: 'heartbeatInterval and phiThreshold (the failure detector)',
  debug: 'logger: console (or jsonLogger())',
  bootstrap: 'nothing: a node with too few neighbours always dials its seeds and stored peers',
  interval: 'shuffleInterval',
  purge: 'purgeInterval',
  transport: 'transports: [tcp(), webSockets()]',
  wrtc: "transports: [webRTC()] from @hearsay/transport-webrtc ('hearsay' adds it where it loads)",
  network: 'networkKey',
  gossipIntervalMS: 'state: { gossipInterval }',
  heartbeatIntervalMS: 'heartbeatInterval',
  udp: 'nothing: hearsay has no UDP transport (tcp, ws and WebRTC data channels carry every message)',
  emitValueOnHeartBeat: "nothing: state events fire on changes only (node.state.on('set', …))",
  addressMap: 'announceAddresses',
  relayMessages: 'node.use(smartRelay())'
}

const COMPAT = 'the older packages\' programs run unchanged on @hearsay/compat/<coalescent|peernet|smokesignal|telepathine>'

/** Throws `TypeError` for an unknown option, a value of the wrong type, or a seed that is not an address. */
export function checkNodeOptions (opts: unknown): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError('createNode() takes an options object')
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined) continue
    const check = (CHECKS as Record<string, Check | undefined>)[key]
    if (check === undefined) {
      const instead = INSTEAD[key]
      throw new TypeError(instead === undefined
        ? `unknown option "${key}" (docs/api.md lists every option)`
        : `unknown option "${key}": use ${instead}; ${COMPAT}`)
    }
    const wanted = check(value)
    if (wanted !== undefined) throw new TypeError(`option ${key} must be ${wanted}`)
  }
  const o = opts as NodeOptions
  const protocol = typeof o.defaultProtocol === 'string' ? o.defaultProtocol : 'tcp'
  for (const [i, seed] of (o.seeds ?? []).entries()) checkSeed(seed, i, protocol)
  for (const key of ['listen', 'announceAddresses'] as const) {
    for (const [i, a] of (o[key] ?? []).entries()) checkAddress(a, `${key}[${i}]`, protocol)
  }
}

function checkSeed (seed: unknown, i: number, protocol: string): void {
  if (seed !== null && typeof seed === 'object' && 'port' in seed) {
    const { port, address } = seed as { port?: unknown, address?: unknown }
    throw new TypeError(`seeds[${i}] must be an address string: write 'tcp://${typeof address === 'string' && address !== '' ? address : '127.0.0.1'}:${String(port)}' instead of { port, address }; ${COMPAT}`)
  }
  if (typeof seed !== 'string') throw new TypeError(`seeds[${i}] must be an address string such as 'tcp://host:port' or 'ws://host:port'`)
  if (/^:\d+$/.test(seed.trim())) throw new TypeError(`seeds[${i}] '${seed}' has no host: write '127.0.0.1${seed.trim()}'`)
  checkAddress(seed, `seeds[${i}]`, protocol)
}

function checkAddress (address: string, where: string, protocol: string): void {
  try { parseAddress(address, protocol) } catch (err) {
    throw new TypeError(`${where} '${address}' is not an address: ${(err as Error).message}`, { cause: err })
  }
}

