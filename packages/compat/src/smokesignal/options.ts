/**
 * smokesignal's `createNode(options)`: its names and defaults, checked at the call (TypeError),
 * and what each becomes in hearsay.
 */
import { warnOnce } from '../shared/warn-once.js'

export interface SmokeSeed { port: number, address: string }

/** smokesignal's logger: any subset of these levels; `{}` (the default) logs nothing. */
export type SmokeLogger = Partial<Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', (...args: unknown[]) => void>>

export interface SmokeOptions {
  /** (compulsory) Your current IP address: what other nodes are told to dial. '' means this machine (127.0.0.1). */
  address: string
  /** (compulsory) Port to bind at (all interfaces, as smokesignal did); 0 picks a free one. */
  port: number
  /** How many peers this node actively tries to bond with. @default 3 */
  minPeerNo?: number
  /** How many peers this node accepts at most; `Infinity` for no limit. @default 5 */
  maxPeerNo?: number
  /** Known nodes of the network, `{ port, address }`. @default [] */
  seeds?: SmokeSeed[]
  /** ms after which contacting a node (a seed's netsplit check included) counts as failed. @default 3000 */
  pingTimeout?: number
  /** @default {} */
  logger?: SmokeLogger
}

export interface ResolvedSmokeOptions {
  address: string
  port: number
  minPeerNo: number
  maxPeerNo: number
  seeds: SmokeSeed[]
  pingTimeout: number
  logger: SmokeLogger
}

export const SMOKE_DEFAULTS = Object.freeze({ minPeerNo: 3, maxPeerNo: 5, pingTimeout: 3000 })

/**
 * hearsay's overlay needs a bound on its active view (HyParView evicts beyond it): `maxPeerNo:
 * Infinity` becomes this many, with a warning.
 */
export const UNBOUNDED_MAX_PEERS = 256

const KNOWN = new Set(['address', 'port', 'minPeerNo', 'maxPeerNo', 'seeds', 'pingTimeout', 'logger'])
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535

/** '' (and the scraped README's empty seed address) mean this machine, as `net.connect` takes it. */
export const hostOf = (address: string): string => address === '' ? '127.0.0.1' : address

export function resolveSmokeOptions (options: unknown): ResolvedSmokeOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('smoke.createNode(options): options must be an object with at least address and port')
  const o = options as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) throw new TypeError(`smoke.createNode: unknown option "${k}" (smokesignal's options: ${[...KNOWN].join(', ')})`)
  }
  if (typeof o.address !== 'string') throw new TypeError('smoke.createNode: "address" is compulsory: your IP address as a string (smoke.localIp(subnet) finds it)')
  if (!isPort(o.port)) throw new TypeError('smoke.createNode: "port" is compulsory: an integer 0..65535 (0 picks a free port)')
  const minPeerNo = o.minPeerNo ?? SMOKE_DEFAULTS.minPeerNo
  if (typeof minPeerNo !== 'number' || !Number.isInteger(minPeerNo) || minPeerNo < 1) throw new TypeError('smoke.createNode: "minPeerNo" must be an integer ≥ 1')
  let maxPeerNo = o.maxPeerNo ?? SMOKE_DEFAULTS.maxPeerNo
  if (maxPeerNo === Infinity) {
    warnOnce('HEARSAY_COMPAT_SMOKE_MAXPEERNO', `smokesignal compat: maxPeerNo Infinity becomes ${UNBOUNDED_MAX_PEERS}: hearsay's overlay keeps a bounded active view (it evicts to its passive view beyond it)`)
    maxPeerNo = UNBOUNDED_MAX_PEERS
  }
  if (typeof maxPeerNo !== 'number' || !Number.isInteger(maxPeerNo) || maxPeerNo < minPeerNo) throw new TypeError('smoke.createNode: "maxPeerNo" must be an integer ≥ minPeerNo, or Infinity')
  const pingTimeout = o.pingTimeout ?? SMOKE_DEFAULTS.pingTimeout
  if (typeof pingTimeout !== 'number' || !Number.isFinite(pingTimeout) || pingTimeout <= 0) throw new TypeError('smoke.createNode: "pingTimeout" must be a positive number of ms')
  const seeds = o.seeds ?? []
  if (!Array.isArray(seeds)) throw new TypeError('smoke.createNode: "seeds" must be an array of { port, address }')
  for (const s of seeds as unknown[]) {
    const seed = s as Partial<SmokeSeed> | null
    if (seed === null || typeof seed !== 'object' || !isPort(seed.port) || seed.port === 0 || typeof seed.address !== 'string') {
      throw new TypeError('smoke.createNode: each seed must be { port: 1..65535, address: string }')
    }
  }
  const logger = o.logger ?? {}
  if (logger === null || typeof logger !== 'object') throw new TypeError('smoke.createNode: "logger" must be an object with any of trace, debug, info, warn, error, fatal')
  for (const level of LEVELS) {
    const fn = (logger as Record<string, unknown>)[level]
    if (fn !== undefined && typeof fn !== 'function') throw new TypeError(`smoke.createNode: logger.${level} must be a function`)
  }
  return { address: o.address, port: o.port, minPeerNo, maxPeerNo, seeds: (seeds as SmokeSeed[]).map(s => ({ port: s.port, address: s.address })), pingTimeout, logger: logger as SmokeLogger }
}
