/**
 * The relay's abuse limits (issue 18): a flag and an environment variable for each, the relay's
 * own defaults, and the per-address cap that once locked an office behind one NAT out.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_ABUSE_LIMITS } from '@hearsay/core'
import { ABUSE_FLAGS, RELAY_ABUSE_DEFAULTS } from '../src/abuse-config.js'
import { ConfigError, parseConfig, RELAY_MAX_CONNS_PER_IP, USAGE } from '../src/config.js'
import type { RelayConfig } from '../src/config.js'
import { addressOf, cleanup, testNode, testRelay } from './helpers.js'

afterEach(cleanup)

function run (argv: string[], env: Record<string, string | undefined> = {}): RelayConfig {
  const cmd = parseConfig(argv, env)
  if (cmd.action !== 'run') throw new Error(`expected a run command, got ${cmd.action}`)
  return cmd.config
}

describe('relay abuse flags', () => {
  it('every abuse limit has a flag and an environment variable, listed in the usage; flags win', () => {
    // the per-address connection cap has its own older flag, --max-conns-per-ip
    const covered = new Set<string>([...Object.values(ABUSE_FLAGS).map(f => f.key), 'maxConnectionsPerAddress'])
    expect([...covered].sort()).toEqual(Object.keys(DEFAULT_ABUSE_LIMITS).sort())
    for (const [name, f] of Object.entries(ABUSE_FLAGS)) {
      expect(USAGE).toContain(`--${name}`)
      expect(USAGE).toContain(f.env)
      expect(run([`--${name}`, '7']).abuse).toEqual({ [f.key]: 7 })
      expect(run([], { [f.env]: '9' }).abuse).toEqual({ [f.key]: 9 })
      expect(run([`--${name}=7`], { [f.env]: '9' }).abuse).toEqual({ [f.key]: 7 })
    }
    expect(run([]).abuse).toBeUndefined()
    expect(run([], { HEARSAY_BAN_MS: '' }).abuse).toBeUndefined()
  })

  it('docs/api.md and the relay README list every limit with its flag, its variable and its default (issue 18)', () => {
    const read = (rel: string): string => readFileSync(new URL(rel, import.meta.url), 'utf8')
    const api = read('../../../docs/api.md')
    const readme = read('../README.md')
    const flags: Array<[string, string, keyof typeof DEFAULT_ABUSE_LIMITS]> = [
      ...Object.entries(ABUSE_FLAGS).map(([name, f]): [string, string, keyof typeof DEFAULT_ABUSE_LIMITS] => [name, f.env, f.key]),
      ['max-conns-per-ip', 'HEARSAY_MAX_CONNS_PER_IP', 'maxConnectionsPerAddress']
    ]
    for (const [name, env, key] of flags) {
      const apiRow = api.split('\n').find(l => l.startsWith(`| \`abuse.${key}\` |`))
      expect(apiRow, `docs/api.md: abuse.${key}`).toBeDefined()
      expect(apiRow).toContain(`| \`${String(DEFAULT_ABUSE_LIMITS[key])}\``)
      expect(apiRow).toContain(`\`--${name}\` (\`${env}\`)`)
      const readmeRow = readme.split('\n').find(l => l.startsWith(`| \`--${name} `))
      expect(readmeRow, `README: --${name}`).toBeDefined()
      expect(readmeRow).toContain(`\`${env}\``)
      const relayDefault = key === 'maxConnectionsPerAddress' ? RELAY_MAX_CONNS_PER_IP : RELAY_ABUSE_DEFAULTS[key] ?? DEFAULT_ABUSE_LIMITS[key]
      expect(readmeRow).toContain(`| \`${String(relayDefault)}\``)
    }
  })

  it('refuses values that are not integers in range, naming the flag or the variable', () => {
    expect(() => run(['--peer-frames-per-second', '-1'])).toThrow(ConfigError)
    expect(() => run(['--ban-ms', '0'])).toThrow(/--ban-ms must be an integer from 1/)
    expect(() => run([], { HEARSAY_PEER_THROTTLE_MS: '1e3' })).toThrow(/HEARSAY_PEER_THROTTLE_MS/)
  })

  it('a relay gives each peer a fair share by default, far under core\'s backstop, and flags override it', async () => {
    expect(RELAY_ABUSE_DEFAULTS.peerFramesPerSecond).toBeLessThan(DEFAULT_ABUSE_LIMITS.peerFramesPerSecond / 100)
    const relay = await testRelay()
    expect(relay.node.abuse).toMatchObject({ ...RELAY_ABUSE_DEFAULTS, maxConnectionsPerAddress: RELAY_MAX_CONNS_PER_IP })
    const tuned = await testRelay({ abuse: { peerFramesPerSecond: 50, addressBanMs: 5000 } })
    expect(tuned.node.abuse).toMatchObject({ peerFramesPerSecond: 50, addressBanMs: 5000, maxPendingHandshakesPerAddress: RELAY_ABUSE_DEFAULTS.maxPendingHandshakesPerAddress })
  })

  it('with its defaults, 20 nodes behind one address all join (issue 18: nodes 17–20 never did with --max-conns-per-ip 16)', async () => {
    const relay = await testRelay()
    const clients = await Promise.all(Array.from({ length: 20 }, async () => await testNode({ seeds: [addressOf(relay, 'ws')] })))
    await expect.poll(() => clients.filter(c => c.getPeer(relay.node.id) !== undefined).length, { timeout: 20_000 }).toBe(20)
    expect(relay.node.metrics.get('refused.per-address')).toBe(0)
  })
})
