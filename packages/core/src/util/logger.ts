/** Structured logging, injected; the default says nothing. */
export interface Logger {
  debug: (msg: string, fields?: Record<string, unknown>) => void
  info: (msg: string, fields?: Record<string, unknown>) => void
  warn: (msg: string, fields?: Record<string, unknown>) => void
  error: (msg: string, fields?: Record<string, unknown>) => void
}

/**
 * What `logger` accepts: any object with some of these methods (`console`, pino, bunyan, log4js,
 * smokesignal's `{}`). A missing level is a no-op; hearsay's levels fall back to the nearest one
 * the object has (`debug` → `trace`, `error` → `fatal`).
 */
export type LoggerLike = Partial<Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', unknown>>

const noop = (): void => {}
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop })

const LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = typeof LEVELS[number]

/** Where a hearsay level goes when the logger lacks it: the nearest level it has. */
const FALLBACK: Record<LogLevel, ReadonlyArray<keyof LoggerLike>> = {
  debug: ['debug', 'trace'],
  info: ['info'],
  warn: ['warn'],
  error: ['error', 'fatal']
}

/**
 * Turns any logger-like object into a `Logger`. Methods are called on their object (console's
 * and pino's need their `this`); a logger that throws never breaks the node. `TypeError` for a
 * logger that is not an object.
 */
export function toLogger (input: LoggerLike | Logger | undefined): Logger {
  if (input === undefined) return silentLogger
  if (input === null || (typeof input !== 'object' && typeof input !== 'function')) throw new TypeError('logger must be an object with some of trace, debug, info, warn, error, fatal (console works)')
  const pick = (level: LogLevel): Logger[LogLevel] => {
    for (const name of FALLBACK[level]) {
      const fn = (input as LoggerLike)[name]
      if (typeof fn !== 'function') continue
      return (msg, fields) => {
        try {
          if (fields === undefined) fn.call(input, msg)
          else fn.call(input, msg, fields)
        } catch { /* a broken logger must not break the node */ }
      }
    }
    return noop
  }
  return { debug: pick('debug'), info: pick('info'), warn: pick('warn'), error: pick('error') }
}

/**
 * One JSON object per line (`{"level","time","msg",...fields}`) written through `write`
 * (console.log by default), at `level` and above.
 */
export function jsonLogger (opts: { level?: LogLevel, write?: (line: string) => void, fields?: Record<string, unknown> } = {}): Logger {
  const min = LEVELS.indexOf(opts.level ?? 'info')
  const write = opts.write ?? ((line: string) => { console.log(line) })
  const make = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>): void => {
    if (LEVELS.indexOf(level) < min) return
    write(JSON.stringify({ level, time: new Date().toISOString(), msg, ...opts.fields, ...fields }, (_k, v) => v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: string }).code } : v))
  }
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') }
}
