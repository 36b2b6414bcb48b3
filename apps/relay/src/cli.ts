#!/usr/bin/env node
/**
 * `hearsay-relay`: process wiring around `startRelay`. Exit codes: 0 after a clean stop (SIGTERM
 * or SIGINT) or `--help`; 1 when the relay cannot start, stopping fails, or a second signal
 * arrives during the stop (see shutdown.ts); 2 for a bad flag, value or environment variable
 * (message and usage on stderr).
 */
import { jsonLogger } from '@hearsay/core'
import { ConfigError, parseConfig, USAGE } from './config.js'
import type { Command } from './config.js'
import { startRelay } from './relay.js'
import { createShutdown } from './shutdown.js'

let command: Command
try {
  command = parseConfig(process.argv.slice(2), process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`hearsay-relay: ${err.message}\n\n${USAGE}\n`)
  process.exit(2)
}

if (command.action === 'help') {
  process.stdout.write(`${USAGE}\n`)
} else {
  const { config } = command
  const log = jsonLogger({ level: config.logLevel })
  const started = startRelay(config)
  // a signal during start-up waits for the start to finish (or fail, which exits 1 below)
  const onSignal = createShutdown({
    stop: async () => { await (await started).stop() },
    exit: (code) => { process.exit(code) },
    logger: log
  })
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)

  started.catch((err: unknown) => {
    log.error('relay failed to start', { err })
    process.exit(1)
  })
}
