/**
 * Command line of the terminal chat → its options. Pure: the caller passes
 * `process.argv.slice(2)` and `process.env`. A leading `--` is skipped, because
 * `pnpm chat -- --seed …` passes it through.
 */
import { parseArgs } from 'node:util'
import { parseAddress } from 'hearsay'

export interface TerminalOptions {
  seeds: string[]
  nick?: string
  /** LevelDB directory for the identity and known peers; unset: in memory (a new id per run). */
  data?: string
  networkKeyFile?: string
}

export type TerminalCommand = { action: 'help' } | { action: 'run', options: TerminalOptions }

export const DEFAULT_SEED = 'ws://127.0.0.1:8080'

export const USAGE = `Usage: pnpm chat -- [options]     (or: node apps/chat/dist/terminal.js [options])

Chats on a hearsay network from the terminal; the browser page at the relay's / is on the same network.

Options:
  --seed <address>             a peer to join through, repeatable (default ${DEFAULT_SEED}); HEARSAY_SEEDS=a,b also works
  --nick <name>                your name (default: $USER, else guest-<id>)
  --data <dir>                 keep the identity and known peers in this LevelDB directory (default: in memory)
  --network-key-file <path>    closed-network passphrase file (default: the public network)
  -h, --help                   print this help

Type a line and press Enter to send it. Commands: /peers, /nick <name>, /quit (or Ctrl-D).`

export class ArgsError extends Error {
  override readonly name = 'ArgsError'
}

export function parseTerminalArgs (argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): TerminalCommand {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv]
  let values: { seed?: string[], nick?: string, data?: string, 'network-key-file'?: string, help?: boolean }
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string', multiple: true },
        nick: { type: 'string' },
        data: { type: 'string' },
        'network-key-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (err) {
    throw new ArgsError(err instanceof Error ? err.message : String(err))
  }
  if (values.help === true) return { action: 'help' }
  const fromEnv = (env.HEARSAY_SEEDS ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
  const raw = values.seed ?? (fromEnv.length > 0 ? fromEnv : [DEFAULT_SEED])
  const seeds: string[] = []
  for (const s of raw) {
    let address: string
    try {
      ({ address } = parseAddress(s.trim(), 'ws'))
    } catch {
      throw new ArgsError(`--seed ${JSON.stringify(s)} is not an address (expected ws://host:port or tcp://host:port)`)
    }
    if (!seeds.includes(address)) seeds.push(address)
  }
  const options: TerminalOptions = { seeds }
  if (values.nick !== undefined) options.nick = values.nick
  if (values.data !== undefined) {
    if (values.data.trim() === '') throw new ArgsError('--data must be a directory path')
    options.data = values.data
  }
  if (values['network-key-file'] !== undefined) {
    if (values['network-key-file'].trim() === '') throw new ArgsError('--network-key-file must be a file path')
    options.networkKeyFile = values['network-key-file']
  }
  return { action: 'run', options }
}
