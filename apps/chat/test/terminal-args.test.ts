import { describe, expect, it } from 'vitest'
import { ArgsError, DEFAULT_SEED, parseTerminalArgs, USAGE } from '../src/terminal-args.js'

function run (argv: string[], env: Record<string, string> = {}) {
  const cmd = parseTerminalArgs(argv, env)
  if (cmd.action !== 'run') throw new Error('expected run')
  return cmd.options
}

describe('terminal chat arguments', () => {
  it('defaults to the local relay', () => {
    expect(run([])).toEqual({ seeds: [DEFAULT_SEED] })
    expect(DEFAULT_SEED).toBe('ws://127.0.0.1:8080')
  })

  it('skips the leading -- that `pnpm chat -- …` passes through', () => {
    expect(run(['--', '--seed', 'ws://127.0.0.1:9000', '--nick', 'ann'])).toEqual({ seeds: ['ws://127.0.0.1:9000'], nick: 'ann' })
  })

  it('takes several seeds, normalised and deduplicated; bare host:port means ws', () => {
    expect(run(['--seed', '127.0.0.1:9000', '--seed', 'tcp://10.0.0.1:8081', '--seed', 'ws://127.0.0.1:9000']).seeds)
      .toEqual(['ws://127.0.0.1:9000', 'tcp://10.0.0.1:8081'])
  })

  it('reads HEARSAY_SEEDS when no --seed is given', () => {
    expect(run([], { HEARSAY_SEEDS: 'ws://a.example:1, ws://b.example:2' }).seeds).toEqual(['ws://a.example:1', 'ws://b.example:2'])
    expect(run(['--seed', 'ws://c.example:3'], { HEARSAY_SEEDS: 'ws://a.example:1' }).seeds).toEqual(['ws://c.example:3'])
  })

  it('takes --data and --network-key-file', () => {
    expect(run(['--data', '/tmp/chat', '--network-key-file', '/tmp/key'])).toMatchObject({ data: '/tmp/chat', networkKeyFile: '/tmp/key' })
  })

  it('rejects unknown flags, positionals, bad seeds and empty paths', () => {
    for (const argv of [['--bogus'], ['hello'], ['--seed', 'ws://'], ['--data', ''], ['--network-key-file', ' ']]) {
      expect(() => parseTerminalArgs(argv), JSON.stringify(argv)).toThrow(ArgsError)
    }
  })

  it('--help', () => {
    expect(parseTerminalArgs(['-h'])).toEqual({ action: 'help' })
    expect(USAGE).toContain('pnpm chat -- [options]')
  })
})
