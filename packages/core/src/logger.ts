/** Structured logging, injected; the default says nothing. */
export interface Logger {
  debug: (msg: string, fields?: Record<string, unknown>) => void
  info: (msg: string, fields?: Record<string, unknown>) => void
  warn: (msg: string, fields?: Record<string, unknown>) => void
  error: (msg: string, fields?: Record<string, unknown>) => void
}

const noop = (): void => {}
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop })

const LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = typeof LEVELS[number]

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
