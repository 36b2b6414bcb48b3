/**
 * peernet's options, checked and defaulted as its README documents them, and what each
 * becomes on the hearsay node. Bad input throws `TypeError` at `peernet(db, opts)`.
 */
import type { Transport } from '@hearsay/core'
import { warnOnce } from '../shared/warn-once.js'

export interface PeernetOptions {
  /**
   * peernet's transport-stream interface (`require('peernet/transport')`). hearsay dials
   * `ws://` and `tcp://` addresses with its own transports, so peernet's module is ignored
   * (with a warning) and `transport` exported here stands for them (no warning). An array of
   * hearsay `Transport`s is used as given (a hearsay addition).
   */
  transport?: unknown
  /** Diagnostics on stderr (`console.error`). @default false */
  debug?: boolean
  /** Connect to peers from the database by itself. @default true */
  bootstrap?: boolean
  /** Time between peer exchanges (hearsay's SHUFFLE), ms. @default 5000 */
  interval?: number
  /** Time between purges of dead addresses, ms. @default 60000 */
  purge?: number
  /** Connections to bootstrap and keep (hearsay's active view: minPeers = this). @default 5 */
  connections?: number
  /** A WebRTC implementation: ignored with a warning (hearsay's WebRTC transport brings its own). */
  wrtc?: unknown
}

export const PEERNET_DEFAULTS = Object.freeze({ debug: false, bootstrap: true, interval: 5000, purge: 60_000, connections: 5 })

/** Stands for peernet's own `require('peernet/transport')`: hearsay's ws and tcp transports. */
export const transport: { readonly hearsay: 'ws+tcp' } = Object.freeze({ hearsay: 'ws+tcp' as const })

export interface ResolvedOptions {
  transports: Transport[] | undefined
  debug: boolean
  interval: number
  purge: number
  connections: number
}

const KNOWN = new Set(['transport', 'debug', 'bootstrap', 'interval', 'purge', 'connections', 'wrtc'])

function ms (name: string, value: unknown, fallback: number, zeroOk: boolean): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (!zeroOk && value === 0) || value > 2 ** 31 - 1) {
    throw new TypeError(`peernet: opts.${name} must be a ${zeroOk ? 'non-negative' : 'positive'} integer of milliseconds, got ${String(value)}`)
  }
  return value
}

function isTransport (t: unknown): t is Transport {
  const o = t as Record<string, unknown> | null
  return o !== null && typeof o === 'object' && typeof o.dial === 'function' && typeof o.listen === 'function' && Array.isArray(o.protocols)
}

export function resolveOptions (opts: unknown): ResolvedOptions {
  if (opts === undefined || opts === null) opts = {}
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError('peernet(db, opts): opts must be an object')
  const o = opts as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new TypeError(`peernet: unknown option "${key}" (known: ${[...KNOWN].join(', ')})`)
  }
  let transports: Transport[] | undefined
  if (Array.isArray(o.transport) && o.transport.length > 0 && o.transport.every(isTransport)) {
    transports = o.transport
  } else if (o.transport !== undefined && o.transport !== transport) {
    warnOnce('HEARSAY_PEERNET_TRANSPORT', 'peernet: opts.transport is ignored. hearsay dials ws:// and tcp:// addresses with its own transports (authenticated, encrypted links that peernet\'s transport streams cannot carry); pass `transport` from @hearsay/compat/peernet, or an array of hearsay transports.')
  }
  if (o.debug !== undefined && typeof o.debug !== 'boolean') throw new TypeError('peernet: opts.debug must be a boolean')
  if (o.bootstrap !== undefined && typeof o.bootstrap !== 'boolean') throw new TypeError('peernet: opts.bootstrap must be a boolean')
  if (o.bootstrap === false) {
    warnOnce('HEARSAY_PEERNET_BOOTSTRAP', 'peernet: opts.bootstrap = false is not supported: a hearsay node always joins through the addresses in its store (ranked by their stats). Give peernet a database without addresses to start unconnected, and connect with pn.connect(addr).')
  }
  if (o.wrtc !== undefined) {
    warnOnce('HEARSAY_PEERNET_WRTC', 'peernet: opts.wrtc is ignored. hearsay\'s WebRTC transport (@hearsay/transport-webrtc, in the `hearsay` package) brings its own implementation (node-datachannel in Node) and signals through the overlay; this entry point dials ws:// and tcp:// only.')
  }
  const connections = o.connections === undefined ? PEERNET_DEFAULTS.connections : o.connections
  if (typeof connections !== 'number' || !Number.isInteger(connections) || connections < 1 || connections > 1024) throw new TypeError(`peernet: opts.connections must be an integer 1..1024, got ${String(connections)}`)
  return {
    transports,
    debug: o.debug === true,
    interval: ms('interval', o.interval, PEERNET_DEFAULTS.interval, false),
    purge: ms('purge', o.purge, PEERNET_DEFAULTS.purge, true),
    connections
  }
}
