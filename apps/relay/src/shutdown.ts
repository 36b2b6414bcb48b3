/**
 * What the CLI does on SIGTERM / SIGINT, without touching the process (tests drive it directly):
 * the first signal stops the relay and exits 0 (1 if stopping fails); a later signal, while the
 * stop is still running, exits 1 at once.
 *
 * A repeat that arrives within `duplicateWindowMs` of the first is the same request delivered
 * twice, not an impatient operator: `npm start` forwards the signal it receives to the relay, so
 * a Ctrl-C or `kill -TERM -<pgid>` reaches the relay once from the terminal or kill and once from npm.
 */
import type { Logger } from '@hearsay/core'

export interface ShutdownOptions {
  /** Stops the relay (waiting for it to finish starting if need be). */
  stop: () => Promise<void>
  exit: (code: number) => void
  logger: Logger
  /** @default Date.now */
  now?: () => number
  /** @default 500 */
  duplicateWindowMs?: number
}

export const DUPLICATE_SIGNAL_WINDOW_MS = 500

/** Returns the signal handler. */
export function createShutdown (opts: ShutdownOptions): (signal: string) => void {
  const now = opts.now ?? Date.now
  const window = opts.duplicateWindowMs ?? DUPLICATE_SIGNAL_WINDOW_MS
  let firstAt: number | undefined
  return (signal) => {
    if (firstAt !== undefined) {
      if (now() - firstAt < window) {
        opts.logger.debug('repeated signal ignored (same request delivered twice)', { signal })
        return
      }
      opts.logger.warn('second signal during shutdown; exiting now', { signal })
      opts.exit(1)
      return
    }
    firstAt = now()
    opts.logger.info('relay stopping', { signal })
    opts.stop().then(
      () => { opts.exit(0) },
      (err: unknown) => { opts.logger.error('relay stop failed', { err }); opts.exit(1) }
    )
  }
}
