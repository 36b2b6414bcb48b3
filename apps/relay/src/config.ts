/**
 * Command line and environment → relay configuration. Pure: no I/O, no process globals; the
 * caller passes `process.argv.slice(2)` and `process.env`. Flags win over environment variables,
 * which win over defaults; an empty environment variable counts as unset.
 */
import { parseArgs } from 'node:util'
import { DEFAULTS, parseAddress } from '@hearsay/core'
import type { AbuseLimits, LogLevel } from '@hearsay/core'
import { ABUSE_FLAGS, abuseUsage, parseAbuse } from './abuse-config.js'
import { parseTurnUrl } from './turn.js'

export interface RelayConfig {
  /** Interface both listeners bind. */
  host: string
  /** WebSocket port; TCP listens on `port + 1`. `0` gives each listener a free port. */
  port: number
  /** Addresses dialled at start (and by the overlay when the relay is alone), normalised. */
  seeds: string[]
  /** File whose trimmed contents are the closed-network passphrase; unset: the public network. */
  networkKeyFile?: string
  logLevel: LogLevel
  /** Most active overlay peers; unset: `RELAY_MAX_PEERS` (64), not core's 12 (see there). */
  maxPeers?: number
  /** Fewest active overlay peers the overlay tries to keep; unset: core's default. */
  minPeers?: number
  /** Page links above which pages with links of their own are asked to leave; 0 = never. @default RELAY_STEP_BACK_ABOVE (16) */
  stepBackAbove?: number
  /** Most connections from one IP (IPv6: one /64); 0 = no cap. @default RELAY_MAX_CONNS_PER_IP (256) */
  maxConnsPerIp?: number
  /**
   * LevelDB directory of the peer store (identity, known peers, stats). Unset or `:memory:`:
   * an in-memory store, so a new identity at every start. `parseConfig` sets `./data` by default.
   */
  data?: string
  /** Directory of the chat demo's build that `/` serves; unset: apps/chat/dist/web next to this app. */
  chatDir?: string
  /** UDP port of the STUN server; unset: the WebSocket port's number (with `port` 0, a free UDP port); `false`: no STUN server. */
  stunPort?: number | false
  /** coturn's URL as peers reach it, e.g. `turn:relay.example:3478?transport=udp`; unset: no TURN. Needs `turnSecretFile`. */
  turnUrl?: string
  /** File whose trimmed contents are coturn's `static-auth-secret`. */
  turnSecretFile?: string
  /** Lifetime of a TURN credential, seconds. @default DEFAULT_TURN_TTL (3600) */
  turnTtl?: number
  /** Abuse limits set by flags or environment (abuse-config.ts); unset ones: `RELAY_ABUSE_DEFAULTS`, then core's. */
  abuse?: Partial<AbuseLimits>
}

/** What the command line asks for. */
export type Command =
  | { action: 'help' }
  | { action: 'run', config: RelayConfig }

/** A bad flag, flag value or environment variable. The CLI prints it with the usage and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

export const DEFAULT_PORT = 8080
export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'
export const DEFAULT_DATA = './data'
/** Lifetime of a TURN credential the relay issues, seconds; it renews them at half that. */
export const DEFAULT_TURN_TTL = 3600
/**
 * The relay's default active view: browsers have no listen address, so until they link to each
 * other (WebRTC) each one needs a slot in a relay's active view; with core's 12, a 13th page
 * evicts one, which rejoins and evicts another, round and round.
 */
export const RELAY_MAX_PEERS = 64
/**
 * Page links the relay keeps at steady state (`stepBackAbove`): above it, pages that have
 * `minPeers` direct links of their own are asked to leave, so that the relay keeps room for
 * newcomers instead of evicting a member for each one (issue 19; 16 in the pages simulator:
 * one component, 100 % delivery, relay bytes per page-message falling with N).
 */
export const RELAY_STEP_BACK_ABOVE = 16
/**
 * Neighbours a page's JOIN is passed on to (`maxForwardJoins`): each walk ends at a page that
 * dials the newcomer, so this is the number of WebRTC dials a newcomer gets at once. A page
 * needs 3-8 links; 12 made a join wave on a loaded machine CPU-bound in ICE, DTLS and
 * handshakes (mesh run, 100 peers: one component 10.6 s after the wave with 6 against 38.0 s
 * with 12; results/mesh-procs.md).
 */
export const RELAY_MAX_FORWARD_JOINS = 6
/**
 * The relay's per-address connection cap: a public relay is the one node every stranger can
 * reach, so one host should not take all of its connections. It was 16, and nodes 17–20 of an
 * office behind one NAT never joined (issue 18). 256 lets a large office or a CGNAT block in;
 * what one host could do with 256 authenticated connections is bounded per peer (each gets its
 * fair share of frames and bytes, abuse-config.ts) and per handshake (`--max-pending-handshakes-per-ip`).
 * Core's default is no cap (nodes on one machine share an address).
 */
export const RELAY_MAX_CONNS_PER_IP = 256
/** `--data :memory:` keeps the peer store (and so the identity) in memory. */
export const MEMORY_DATA = ':memory:'
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']
const SEED_PROTOCOLS = new Set(['ws', 'wss', 'tcp'])

/** Each flag, its environment variable, and how `--help` describes it. */
const FLAGS = {
  port: { env: 'HEARSAY_PORT', arg: '<n>', help: `WebSocket port; TCP listens on port + 1; 0 picks free ports (default ${DEFAULT_PORT})` },
  host: { env: 'HEARSAY_HOST', arg: '<host>', help: `interface to listen on (default ${DEFAULT_HOST})` },
  seeds: { env: 'HEARSAY_SEEDS', arg: '<a,b,...>', help: 'comma-separated peer addresses to join through, e.g. tcp://10.0.0.2:8081,ws://10.0.0.3:8080 (default none)' },
  'network-key-file': { env: 'HEARSAY_NETWORK_KEY_FILE', arg: '<path>', help: 'file holding the closed-network passphrase, trimmed (default: the public network)' },
  data: { env: 'HEARSAY_DATA', arg: '<dir>', help: `LevelDB directory for the identity and known peers; ${MEMORY_DATA} keeps them in memory (default ${DEFAULT_DATA})` },
  'chat-dir': { env: 'HEARSAY_CHAT_DIR', arg: '<dir>', help: 'directory of the chat demo build served at / (default: apps/chat/dist/web of this checkout)' },
  'log-level': { env: 'HEARSAY_LOG_LEVEL', arg: '<level>', help: `debug, info, warn or error (default ${DEFAULT_LOG_LEVEL})` },
  'max-peers': { env: 'HEARSAY_MAX_PEERS', arg: '<n>', help: `most active overlay peers; browsers each take one (default ${RELAY_MAX_PEERS})` },
  'step-back-above': { env: 'HEARSAY_STEP_BACK_ABOVE', arg: '<n>', help: `page links above which pages with direct links of their own are asked to leave; 0 = never (default ${RELAY_STEP_BACK_ABOVE})` },
  'min-peers': { env: 'HEARSAY_MIN_PEERS', arg: '<n>', help: `fewest active overlay peers the overlay tries to keep (default ${DEFAULTS.minPeers})` },
  'max-conns-per-ip': { env: 'HEARSAY_MAX_CONNS_PER_IP', arg: '<n>', help: `most connections from one IP address (an IPv6 /64); 0 = no cap (default ${RELAY_MAX_CONNS_PER_IP})` },
  'stun-port': { env: 'HEARSAY_STUN_PORT', arg: '<n|off>', help: 'UDP port of the STUN server offered to peers; off: none (default: the WebSocket port number, UDP)' },
  'turn-url': { env: 'HEARSAY_TURN_URL', arg: '<url>', help: 'coturn on this host as peers reach it, e.g. turn:relay.example:3478?transport=udp; needs --turn-secret-file (default: no TURN)' },
  'turn-secret-file': { env: 'HEARSAY_TURN_SECRET_FILE', arg: '<path>', help: "file holding coturn's static-auth-secret, trimmed" },
  'turn-ttl': { env: 'HEARSAY_TURN_TTL', arg: '<s>', help: `lifetime of a TURN credential in seconds, renewed at half (default ${DEFAULT_TURN_TTL})` }
} as const

type Flag = keyof typeof FLAGS

export const USAGE = [
  'Usage: hearsay-relay [options]',
  '',
  'Runs a hearsay node listening on ws://HOST:PORT and tcp://HOST:PORT+1. The same HTTP port',
  'serves the chat demo (/), the status page (/status, /status.json), /healthz and /metrics.',
  '',
  'Options (each also read from its environment variable; flags win):',
  ...Object.entries(FLAGS).map(([name, f]) => `  ${`--${name} ${f.arg}`.padEnd(32)}${f.env}\n      ${f.help}`),
  ...abuseUsage((flag, env, help) => `  ${flag.padEnd(32)}${env}\n      ${help}`),
  '  -h, --help\n      print this help and exit',
  '',
  'Logs are JSON lines on stdout. SIGTERM or SIGINT stops the node and exits 0; a second signal exits 1.'
].join('\n')

/**
 * Parses `argv` (without the node and script paths) and `env`. Throws `ConfigError` for an
 * unknown flag, a positional argument, or a bad value.
 */
export function parseConfig (argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): Command {
  let values: Partial<Record<string, string | boolean>>
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(Object.keys(FLAGS).map(name => [name, { type: 'string' as const }])),
        ...Object.fromEntries(Object.keys(ABUSE_FLAGS).map(name => [name, { type: 'string' as const }])),
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err))
  }
  if (values.help === true) return { action: 'help' }

  /** The raw value of a flag and where it came from, or undefined when neither is set. */
  const raw = (flag: Flag): { value: string, source: string } | undefined => {
    const v = values[flag]
    if (typeof v === 'string') return { value: v, source: `--${flag}` }
    const e = env[FLAGS[flag].env]
    if (e !== undefined && e !== '') return { value: e, source: FLAGS[flag].env }
    return undefined
  }

  const port = raw('port')
  const host = raw('host')
  const seeds = raw('seeds')
  const keyFile = raw('network-key-file')
  const level = raw('log-level')
  const maxPeers = raw('max-peers')
  const minPeers = raw('min-peers')
  const stepBack = raw('step-back-above')
  const connsPerIp = raw('max-conns-per-ip')
  const data = raw('data')
  const chatDir = raw('chat-dir')
  const stunPort = raw('stun-port')
  const turnUrl = raw('turn-url')
  const turnSecretFile = raw('turn-secret-file')
  const turnTtl = raw('turn-ttl')

  const config: RelayConfig = {
    host: host === undefined ? DEFAULT_HOST : parseHost(host.value, host.source),
    port: port === undefined ? DEFAULT_PORT : parseInteger(port.value, port.source, 0, 65534, ' (TCP listens on port + 1)'),
    seeds: seeds === undefined ? [] : parseSeeds(seeds.value, seeds.source),
    logLevel: level === undefined ? DEFAULT_LOG_LEVEL : parseLevel(level.value, level.source),
    data: data === undefined ? DEFAULT_DATA : parsePath(data.value, data.source)
  }
  if (chatDir !== undefined) config.chatDir = parsePath(chatDir.value, chatDir.source)
  if (keyFile !== undefined) {
    if (keyFile.value.trim() === '') throw new ConfigError(`${keyFile.source} must be a file path`)
    config.networkKeyFile = keyFile.value
  }
  if (maxPeers !== undefined) config.maxPeers = parseInteger(maxPeers.value, maxPeers.source, 1, 10_000)
  if (minPeers !== undefined) config.minPeers = parseInteger(minPeers.value, minPeers.source, 1, 10_000)
  if (stepBack !== undefined) config.stepBackAbove = parseInteger(stepBack.value, stepBack.source, 0, 10_000)
  if (connsPerIp !== undefined) config.maxConnsPerIp = parseInteger(connsPerIp.value, connsPerIp.source, 0, 1_000_000)
  if (stunPort !== undefined) config.stunPort = stunPort.value.trim().toLowerCase() === 'off' ? false : parseInteger(stunPort.value, stunPort.source, 1, 65535)
  if (turnUrl !== undefined) {
    try { parseTurnUrl(turnUrl.value) } catch (err) { throw new ConfigError(`${turnUrl.source}: ${(err as Error).message}`) }
    if (turnSecretFile === undefined) throw new ConfigError(`${turnUrl.source} needs --turn-secret-file (coturn's static-auth-secret)`)
    config.turnUrl = turnUrl.value.trim()
  }
  if (turnSecretFile !== undefined) {
    if (turnUrl === undefined) throw new ConfigError(`${turnSecretFile.source} needs --turn-url`)
    if (turnSecretFile.value.trim() === '') throw new ConfigError(`${turnSecretFile.source} must be a file path`)
    config.turnSecretFile = turnSecretFile.value
  }
  if (turnTtl !== undefined) config.turnTtl = parseInteger(turnTtl.value, turnTtl.source, 60, 7 * 24 * 3600)
  const abuse = parseAbuse(values, env, parseInteger)
  if (Object.keys(abuse).length > 0) config.abuse = abuse
  const min = config.minPeers ?? DEFAULTS.minPeers
  const max = config.maxPeers ?? RELAY_MAX_PEERS
  if (min > max) {
    throw new ConfigError(`min-peers (${min}${config.minPeers === undefined ? ', the default' : ''}) must not exceed max-peers (${max}${config.maxPeers === undefined ? ', the default' : ''})`)
  }
  return { action: 'run', config }
}

/** The two listen addresses of a configuration: `{ ws: 'ws://HOST:PORT', tcp: 'tcp://HOST:PORT+1' }`. */
export function listenAddresses (config: Pick<RelayConfig, 'host' | 'port'>): { ws: string, tcp: string } {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  const tcpPort = config.port === 0 ? 0 : config.port + 1
  return { ws: `ws://${host}:${config.port}`, tcp: `tcp://${host}:${tcpPort}` }
}

function parseInteger (text: string, source: string, min: number, max: number, note = ''): number {
  const t = text.trim()
  const n = /^\d+$/.test(t) ? Number(t) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${source} must be an integer from ${min} to ${max}${note}, got ${JSON.stringify(text)}`)
  }
  return n
}

function parseHost (text: string, source: string): string {
  const host = text.trim().replace(/^\[(.*)\]$/, '$1')
  if (host === '' || /[\s/?#@]/.test(host)) throw new ConfigError(`${source} must be a host name or IP address, got ${JSON.stringify(text)}`)
  try {
    const parsed = parseAddress(listenAddresses({ host, port: 1 }).ws, 'ws')
    // URL parsing must give the host back unchanged (no port, credentials or path smuggled in)
    if (parsed.host.toLowerCase() !== host.toLowerCase() || parsed.port !== 1) throw new Error('mismatch')
  } catch {
    throw new ConfigError(`${source} must be a host name or IP address, got ${JSON.stringify(text)}`)
  }
  return host
}

function parseSeeds (text: string, source: string): string[] {
  const seeds: string[] = []
  for (const item of text.split(',')) {
    const s = item.trim()
    if (s === '') continue
    let address: string
    let protocol: string
    let port: number
    try {
      ({ address, protocol, port } = parseAddress(s, 'tcp'))
    } catch {
      throw new ConfigError(`${source}: ${JSON.stringify(s)} is not an address (expected tcp://host:port, ws://host:port or host:port)`)
    }
    if (!SEED_PROTOCOLS.has(protocol)) throw new ConfigError(`${source}: ${JSON.stringify(s)} has protocol ${protocol}; the relay dials tcp, ws and wss`)
    if (port === 0) throw new ConfigError(`${source}: ${JSON.stringify(s)} has port 0`)
    if (!seeds.includes(address)) seeds.push(address)
  }
  return seeds
}

function parsePath (text: string, source: string): string {
  if (text.trim() === '') throw new ConfigError(`${source} must be a directory path`)
  return text
}

function parseLevel (text: string, source: string): LogLevel {
  const level = text.trim().toLowerCase()
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`${source} must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(text)}`)
  }
  return level as LogLevel
}
