/**
 * coalescent's options, checked and defaulted as its README documents them: `minPeers` (3),
 * `maxPeers` (12), `seeds` (`'host:port'` strings, []), `logger` (any object with `info`,
 * `warn` and `error`; console). Bad input throws `TypeError` at `coalescent(options)`, as
 * hearsay's `createNode` does.
 */
import type { Logger } from '@hearsay/core'

/** The logger coalescent documents: `info`, `warn` and `error`, each `(...args)`. */
export interface CoalescentLogger {
  // any: a logger's own parameter types (console's, `(m: string) => void`) must fit
  info: (...args: any[]) => void
  warn: (...args: any[]) => void
  error: (...args: any[]) => void
}

export interface CoalescentOptions {
  /** Fewest seeds the app keeps trying to be linked to. @default 3 */
  minPeers?: number
  /** Most seeds the app dials. @default 12 */
  maxPeers?: number
  /** Seeds as `'host:port'` (TCP), or any hearsay address (`tcp://…`, `ws://…`). @default [] */
  seeds?: string[]
  /** @default console */
  logger?: CoalescentLogger
  /**
   * How inbound bytes reach the middleware and the app's readable side: as strings decoded with
   * this encoding (the README's middleware calls `data.split`), or as Buffers with `null`
   * (binary payloads such as a streamed file). A hearsay addition. @default 'utf8'
   */
  encoding?: BufferEncoding | null
}

export interface ResolvedOptions {
  minPeers: number
  maxPeers: number
  seeds: string[]
  logger: CoalescentLogger
  encoding: BufferEncoding | null
}

export const COALESCENT_DEFAULTS = Object.freeze({ minPeers: 3, maxPeers: 12 })

const KNOWN = new Set(['minPeers', 'maxPeers', 'seeds', 'logger', 'encoding'])

function count (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new TypeError(`coalescent: ${name} must be a non-negative integer, got ${String(value)}`)
  return value
}

export function resolveOptions (options: unknown): ResolvedOptions {
  if (options === undefined || options === null) options = {}
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError('coalescent(options): options must be an object')
  const o = options as Record<string, unknown>
  for (const key of Object.keys(o)) {
    // an option coalescent never had is a mistake the caller should hear of now, not a no-op
    if (!KNOWN.has(key)) throw new TypeError(`coalescent: unknown option "${key}" (known: ${[...KNOWN].join(', ')})`)
  }
  const minPeers = count('minPeers', o.minPeers, COALESCENT_DEFAULTS.minPeers)
  const maxPeers = count('maxPeers', o.maxPeers, COALESCENT_DEFAULTS.maxPeers)
  if (maxPeers < 1) throw new TypeError('coalescent: maxPeers must be at least 1')
  if (minPeers > maxPeers) throw new TypeError(`coalescent: minPeers (${minPeers}) is above maxPeers (${maxPeers})`)
  const seeds = o.seeds ?? []
  if (!Array.isArray(seeds) || seeds.some(s => typeof s !== 'string' || s.length === 0)) {
    throw new TypeError("coalescent: seeds must be an array of 'host:port' strings")
  }
  const logger = o.logger ?? console
  for (const level of ['info', 'warn', 'error'] as const) {
    if (typeof (logger as Record<string, unknown>)[level] !== 'function') throw new TypeError(`coalescent: logger must implement info, warn and error (no ${level})`)
  }
  const encoding = o.encoding === undefined ? 'utf8' : o.encoding
  if (encoding !== null && (typeof encoding !== 'string' || !Buffer.isEncoding(encoding))) throw new TypeError(`coalescent: encoding must be a Buffer encoding or null, got ${String(encoding)}`)
  return { minPeers, maxPeers, seeds: [...seeds] as string[], logger: logger as CoalescentLogger, encoding: encoding as BufferEncoding | null }
}

/**
 * hearsay's logger over coalescent's: `info`, `warn` and `error` go to it with hearsay's
 * fields as a second argument; `debug` goes nowhere, because coalescent never logged at that
 * level and its default logger, `console`, would print hearsay's debug lines on stdout.
 */
export function hearsayLogger (logger: CoalescentLogger): Logger {
  const level = (fn: (...args: unknown[]) => void) => (msg: string, fields?: Record<string, unknown>): void => {
    if (fields === undefined) fn.call(logger, msg)
    else fn.call(logger, msg, fields)
  }
  return { debug: () => {}, info: level(logger.info), warn: level(logger.warn), error: level(logger.error) }
}
