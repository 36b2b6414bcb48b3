import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '@hearsay/core'
import { ConfigError, RELAY_MAX_PEERS, DEFAULT_DATA, DEFAULT_HOST, DEFAULT_LOG_LEVEL, DEFAULT_PORT, listenAddresses, MEMORY_DATA, parseConfig, USAGE } from '../src/config.js'
import type { RelayConfig } from '../src/config.js'

function run (argv: string[], env: Record<string, string | undefined> = {}): RelayConfig {
  const cmd = parseConfig(argv, env)
  if (cmd.action !== 'run') throw new Error(`expected a run command, got ${cmd.action}`)
  return cmd.config
}

function fails (argv: string[], env: Record<string, string | undefined> = {}): ConfigError {
  try {
    parseConfig(argv, env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error(`parseConfig(${JSON.stringify(argv)}, ${JSON.stringify(env)}) did not throw`)
}

describe('relay config: defaults', () => {
  it('no flags and no environment give the documented defaults', () => {
    expect(run([])).toEqual({ host: '127.0.0.1', port: 8080, seeds: [], logLevel: 'info', data: './data' })
    expect([DEFAULT_HOST, DEFAULT_PORT, DEFAULT_LOG_LEVEL, DEFAULT_DATA]).toEqual(['127.0.0.1', 8080, 'info', './data'])
  })

  it('leaves the network key file and peer bounds unset (core defaults apply)', () => {
    const c = run([])
    expect(c.networkKeyFile).toBeUndefined()
    expect(c.maxPeers).toBeUndefined()
    expect(c.minPeers).toBeUndefined()
    expect(c.stepBackAbove).toBeUndefined()
    expect(c.chatDir).toBeUndefined()
  })

  it('listens on ws://HOST:PORT and tcp://HOST:PORT+1; port 0 gives both a free port', () => {
    expect(listenAddresses({ host: '127.0.0.1', port: 8080 })).toEqual({ ws: 'ws://127.0.0.1:8080', tcp: 'tcp://127.0.0.1:8081' })
    expect(listenAddresses({ host: '127.0.0.1', port: 0 })).toEqual({ ws: 'ws://127.0.0.1:0', tcp: 'tcp://127.0.0.1:0' })
    expect(listenAddresses({ host: '::1', port: 9000 })).toEqual({ ws: 'ws://[::1]:9000', tcp: 'tcp://[::1]:9001' })
  })
})

describe('relay config: flags', () => {
  it('reads every flag', () => {
    expect(run([
      '--port', '9000', '--host', '0.0.0.0', '--seeds', 'tcp://10.0.0.2:8081,ws://10.0.0.3:8080',
      '--network-key-file', '/run/secrets/key', '--log-level', 'debug', '--max-peers', '20', '--min-peers', '4',
      '--step-back-above', '8', '--data', '/var/lib/hearsay', '--chat-dir', '/srv/chat', '--max-conns-per-ip', '0'
    ])).toEqual({
      data: '/var/lib/hearsay',
      chatDir: '/srv/chat',
      port: 9000,
      host: '0.0.0.0',
      seeds: ['tcp://10.0.0.2:8081', 'ws://10.0.0.3:8080'],
      networkKeyFile: '/run/secrets/key',
      logLevel: 'debug',
      maxPeers: 20,
      minPeers: 4,
      stepBackAbove: 8,
      maxConnsPerIp: 0
    })
  })

  it('--data takes a directory or :memory:', () => {
    expect(run(['--data', 'relay-a']).data).toBe('relay-a')
    expect(run(['--data', MEMORY_DATA]).data).toBe(':memory:')
    expect(run(['--data=/tmp/x'], { HEARSAY_DATA: 'ignored' }).data).toBe('/tmp/x')
  })

  it('accepts --flag=value and port 0', () => {
    expect(run(['--port=0', '--log-level=WARN'])).toMatchObject({ port: 0, logLevel: 'warn' })
  })

  it('normalises seeds: trims, drops empty items and duplicates, bare host:port means tcp', () => {
    expect(run(['--seeds', ' 10.0.0.2:8081 , ,ws://example.org:80/hearsay,tcp://10.0.0.2:8081,']).seeds)
      .toEqual(['tcp://10.0.0.2:8081', 'ws://example.org:80/hearsay'])
    expect(run(['--seeds', '']).seeds).toEqual([])
  })

  it('accepts IPv6 hosts with or without brackets', () => {
    expect(run(['--host', '::1']).host).toBe('::1')
    expect(run(['--host', '[::1]']).host).toBe('::1')
    expect(run(['--host', 'relay.example.org']).host).toBe('relay.example.org')
  })

  it('--help and -h ask for the usage, whatever else is set', () => {
    expect(parseConfig(['--help'])).toEqual({ action: 'help' })
    expect(parseConfig(['-h', '--port', '1'])).toEqual({ action: 'help' })
    expect(parseConfig(['--help'], { HEARSAY_PORT: 'nonsense' })).toEqual({ action: 'help' })
  })

  it('the usage names every flag and environment variable', () => {
    for (const flag of ['--port', '--host', '--seeds', '--network-key-file', '--log-level', '--max-peers', '--min-peers', '--max-conns-per-ip', '--data', '--chat-dir', '--help']) {
      expect(USAGE).toContain(flag)
    }
    for (const env of ['HEARSAY_PORT', 'HEARSAY_HOST', 'HEARSAY_SEEDS', 'HEARSAY_NETWORK_KEY_FILE', 'HEARSAY_LOG_LEVEL', 'HEARSAY_MAX_PEERS', 'HEARSAY_MIN_PEERS', 'HEARSAY_DATA', 'HEARSAY_CHAT_DIR']) {
      expect(USAGE).toContain(env)
    }
  })
})

describe('relay config: environment', () => {
  const env = {
    HEARSAY_PORT: '7000',
    HEARSAY_HOST: '10.1.2.3',
    HEARSAY_SEEDS: 'tcp://10.0.0.9:1234',
    HEARSAY_NETWORK_KEY_FILE: '/etc/hearsay/key',
    HEARSAY_LOG_LEVEL: 'error',
    HEARSAY_MAX_PEERS: '8',
    HEARSAY_MIN_PEERS: '2',
    HEARSAY_DATA: 'relay-data',
    HEARSAY_CHAT_DIR: 'chat-build'
  }

  it('reads every variable', () => {
    expect(run([], env)).toEqual({
      port: 7000,
      host: '10.1.2.3',
      seeds: ['tcp://10.0.0.9:1234'],
      networkKeyFile: '/etc/hearsay/key',
      logLevel: 'error',
      maxPeers: 8,
      minPeers: 2,
      data: 'relay-data',
      chatDir: 'chat-build'
    })
  })

  it('flags win over the environment', () => {
    expect(run(['--port', '9000', '--log-level', 'debug', '--seeds', 'ws://a.example:1'], env))
      .toMatchObject({ port: 9000, logLevel: 'debug', seeds: ['ws://a.example:1'], host: '10.1.2.3' })
  })

  it('an empty variable counts as unset', () => {
    expect(run([], { HEARSAY_PORT: '', HEARSAY_HOST: '', HEARSAY_LOG_LEVEL: '', HEARSAY_NETWORK_KEY_FILE: '', HEARSAY_DATA: '', HEARSAY_CHAT_DIR: '' }))
      .toEqual({ host: '127.0.0.1', port: 8080, seeds: [], logLevel: 'info', data: './data' })
  })

  it('ignores unrelated variables', () => {
    expect(run([], { PORT: '1', HOST: 'x', HEARSAY_SOMETHING: 'y' })).toEqual(run([]))
  })
})

describe('relay config: errors', () => {
  it('rejects unknown flags and positional arguments', () => {
    expect(fails(['--bogus']).message).toMatch(/bogus/)
    expect(fails(['-p', '80']).message).toMatch(/-p/)
    expect(fails(['start']).message).toMatch(/start/)
  })

  it('rejects a flag without its value', () => {
    fails(['--port'])
    fails(['--seeds'])
  })

  it('rejects bad ports from flags and from the environment, naming the source', () => {
    for (const bad of ['-1', '65535', '70000', '80.5', '0x50', 'eighty', '', ' ']) {
      expect(fails([`--port=${bad}`]).message).toContain('--port')
    }
    expect(fails([], { HEARSAY_PORT: 'abc' }).message).toContain('HEARSAY_PORT')
    expect(run(['--port', '65534']).port).toBe(65534)
  })

  it('rejects bad hosts', () => {
    for (const bad of ['', 'a b', 'host/path', 'user@host', 'host:80', '[::1']) {
      expect(fails(['--host', bad]).message, bad).toContain('--host')
    }
    expect(fails([], { HEARSAY_HOST: 'x/y' }).message).toContain('HEARSAY_HOST')
  })

  it('rejects bad seeds', () => {
    expect(fails(['--seeds', 'tcp://']).message).toContain('not an address')
    expect(fails(['--seeds', 'memory:x']).message).toContain('protocol memory')
    expect(fails(['--seeds', 'tcp://10.0.0.1:0']).message).toContain('port 0')
    expect(fails([], { HEARSAY_SEEDS: 'ok.example:1,http://x.example:80' }).message).toContain('HEARSAY_SEEDS')
  })

  it('rejects unknown log levels', () => {
    expect(fails(['--log-level', 'verbose']).message).toMatch(/debug, info, warn, error/)
    expect(fails([], { HEARSAY_LOG_LEVEL: 'trace' }).message).toContain('HEARSAY_LOG_LEVEL')
  })

  it('rejects an empty network key file path', () => {
    expect(fails(['--network-key-file', '']).message).toContain('--network-key-file')
  })

  it('rejects empty data and chat directories', () => {
    expect(fails(['--data', '']).message).toContain('--data')
    expect(fails(['--data', '  ']).message).toContain('--data')
    expect(fails(['--chat-dir=']).message).toContain('--chat-dir')
  })

  it('rejects peer bounds that are not positive integers or contradict each other', () => {
    fails(['--max-peers', '0'])
    fails(['--min-peers', '-3'])
    fails(['--max-peers', 'many'])
    expect(fails(['--min-peers', '5', '--max-peers', '4']).message).toMatch(/min-peers \(5\).*max-peers \(4\)/)
    // against core's defaults when only one bound is given
    expect(fails(['--max-peers', String(DEFAULTS.minPeers - 1)]).message).toMatch(/the default/)
    expect(fails(['--min-peers', String(RELAY_MAX_PEERS + 1)]).message).toMatch(/the default/)
    expect(run(['--min-peers', String(DEFAULTS.maxPeers + 1)]).minPeers).toBe(DEFAULTS.maxPeers + 1)
    expect(run(['--min-peers', '1', '--max-peers', '1'])).toMatchObject({ minPeers: 1, maxPeers: 1 })
  })
})

describe('STUN and TURN flags', () => {
  const run = (argv: string[], env = {}): RelayConfig => {
    const c = parseConfig(argv, env)
    if (c.action !== 'run') throw new Error('expected run')
    return c.config
  }
  const fails = (argv: string[], env = {}): Error => {
    try { parseConfig(argv, env) } catch (err) { expect(err).toBeInstanceOf(ConfigError); return err as Error }
    throw new Error(`${argv.join(' ')} was accepted`)
  }

  it('--stun-port: a port, or off; unset leaves the default (the ws port number) to the relay', () => {
    expect(run([]).stunPort).toBeUndefined()
    expect(run(['--stun-port', '3478']).stunPort).toBe(3478)
    expect(run(['--stun-port', 'off']).stunPort).toBe(false)
    expect(run([], { HEARSAY_STUN_PORT: '19302' }).stunPort).toBe(19302)
    fails(['--stun-port', '0'])
    fails(['--stun-port', '70000'])
  })

  it('--turn-url needs --turn-secret-file and the other way round; --turn-ttl in seconds', () => {
    expect(run(['--turn-url', 'turn:relay.example:3478?transport=udp', '--turn-secret-file', '/etc/hearsay/turn-secret']))
      .toMatchObject({ turnUrl: 'turn:relay.example:3478?transport=udp', turnSecretFile: '/etc/hearsay/turn-secret' })
    expect(run([], { HEARSAY_TURN_URL: 'turns:relay.example', HEARSAY_TURN_SECRET_FILE: 's', HEARSAY_TURN_TTL: '600' }))
      .toMatchObject({ turnUrl: 'turns:relay.example', turnSecretFile: 's', turnTtl: 600 })
    expect(fails(['--turn-url', 'turn:relay.example']).message).toContain('--turn-secret-file')
    expect(fails(['--turn-secret-file', 's']).message).toContain('--turn-url')
    expect(fails(['--turn-url', 'http://relay.example', '--turn-secret-file', 's']).message).toContain('--turn-url')
    fails(['--turn-url', 'turn:relay.example', '--turn-secret-file', 's', '--turn-ttl', '10'])
  })

  it('the usage names the new flags and their variables', () => {
    for (const word of ['--stun-port', '--turn-url', '--turn-secret-file', '--turn-ttl', 'HEARSAY_STUN_PORT', 'HEARSAY_TURN_URL', 'HEARSAY_TURN_SECRET_FILE', 'HEARSAY_TURN_TTL']) expect(USAGE).toContain(word)
  })
})
