/**
 * @hearsay/compat/telepathine in one process: bad input (TypeError at the call), the options
 * with no sound equivalent (one warning each), start/stop repeated with handlers kept, chaining,
 * `this` in handlers and timers, writes before start, believe, and the cluster-wide peer events.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Telepathine } from '../src/telepathine/index.js'
import { MAX_PENDING_SAYS } from '../src/telepathine/telepathine.js'

const peers: Telepathine[] = []
afterEach(async () => {
  await Promise.all(peers.splice(0).map(async p => { p.stop(); await new Promise(resolve => { setTimeout(resolve, 0) }) }))
})

/** Fast intervals for tests: gossip and heartbeats every 50 ms. */
const FAST = { gossipIntervalMS: 50, heartbeatIntervalMS: 50 }
function peer (seeds: string[] = [], options: Record<string, unknown> = FAST): Telepathine {
  const p = new Telepathine(0, seeds, options)
  peers.push(p)
  return p
}

async function event (p: Telepathine, name: string, ms = 15_000): Promise<unknown[]> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${name} within ${ms} ms`)) }, ms)
    p.once(name, (...args: unknown[]) => { clearTimeout(timer); resolve(args) })
  })
}

async function until (what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/** The `:port` seed of a started peer (port 0 picked a free one). */
const seedOf = (p: Telepathine): string => `:${new URL(p.hearsay.addresses[0]!).port}`

describe('telepathine compat: construction', () => {
  it('checks its arguments at the call', () => {
    expect(() => new Telepathine(-1, [])).toThrow(TypeError)
    expect(() => new Telepathine('9000' as unknown as number, [])).toThrow(TypeError)
    expect(() => new Telepathine(0, 'host:1' as unknown as string[])).toThrow(TypeError)
    expect(() => new Telepathine(0, ['not a seed'])).toThrow(/not 'host:port'/)
    expect(() => new Telepathine(0, [], { gossipIntervalMS: 0 })).toThrow(/gossipIntervalMS/)
    expect(() => new Telepathine(0, [], { heartBeatIntervalMS: 10 })).toThrow(/unknown option "heartBeatIntervalMS"/)
    expect(() => new Telepathine(0, [], { network: 42 })).toThrow(/network/)
  })

  it('warns once for udp: true and emitValueOnHeartBeat: true, which hearsay cannot honour', async () => {
    const warnings: Array<{ code?: string, message: string }> = []
    const onWarning = (w: Error & { code?: string }): void => { warnings.push({ code: w.code, message: w.message }) }
    process.on('warning', onWarning)
    try {
      peer([], { udp: true, emitValueOnHeartBeat: true })
      peer([], { udp: true, emitValueOnHeartBeat: true })
      peer([], { udp: false })
      await new Promise(resolve => { setTimeout(resolve, 20) })
    } finally { process.off('warning', onWarning) }
    const codes = warnings.map(w => w.code).filter(c => c?.startsWith('HEARSAY_COMPAT_TELEPATHINE'))
    expect(codes.sort()).toEqual(['HEARSAY_COMPAT_TELEPATHINE_HEARTBEAT_VALUES', 'HEARSAY_COMPAT_TELEPATHINE_UDP'])
    expect(warnings.find(w => w.code === 'HEARSAY_COMPAT_TELEPATHINE_UDP')?.message).toMatch(/no UDP datagrams/)
  })

  it('methods check their arguments at the call', () => {
    const p = peer()
    expect(() => p.set('', 1)).toThrow(TypeError)
    expect(() => p.set('k', 1, 'soon' as unknown as number)).toThrow(TypeError)
    expect(() => p.say('')).toThrow(TypeError)
    expect(() => p.say('e', 1, -5)).toThrow(TypeError)
    expect(() => p.hear('*', 'nope' as never)).toThrow(TypeError)
    expect(() => p.after(-1, () => {})).toThrow(TypeError)
    expect(() => p.every(0, () => {})).toThrow(TypeError)
    expect(() => p.getRemote(undefined as unknown as string, 'k')).toThrow(TypeError)
  })

  it('says made before start() are held, up to a bound: past it QueueFullError, as core\'s join queue', () => {
    const p = peer()
    for (let i = 0; i < MAX_PENDING_SAYS; i++) p.say('e', i)
    expect(() => p.say('e', 'one too many')).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }))
  })
})

describe('telepathine compat: one peer', () => {
  it('start() chains and calls back with this; sets made before start are there after it; stop and start again keep handlers and timers', async () => {
    const p = peer()
    p.set('early', 'bird')
    expect(p.get('early')).toBe('bird')
    expect(p.keys(p.peer_name)).toEqual(['early'])
    const starts: string[] = []
    p.on('start', function (this: Telepathine) { starts.push(this.event!) })
    const ticks: unknown[] = []
    p.every(20, function (this: Telepathine) { ticks.push(this) })
    const started = new Promise<unknown>(resolve => { expect(p.start(function (this: Telepathine) { resolve(this) })).toBe(p) })
    expect(await started).toBe(p)
    expect(p.hearsay.state.get('early')).toBe('bird')
    await until('ticks', () => ticks.length >= 2)
    expect(ticks.every(t => t === p)).toBe(true)
    const stopped = event(p, 'stop')
    p.stop()
    await stopped
    const before = ticks.length
    await new Promise(resolve => { setTimeout(resolve, 80) })
    expect(ticks.length).toBe(before) // stop() pauses every()
    const again = event(p, 'start')
    p.start()
    await again
    await until('ticks after the restart', () => ticks.length >= before + 2)
    expect(starts).toEqual(['start', 'start'])
    expect(p.get('early')).toBe('bird')
  })
})

describe('telepathine compat: two peers', () => {
  it('getRemote, keys, know with this.peer_name, believe, say/hear with a duration, and peer:new / peer:stop / peer:start', async () => {
    const a = peer()
    a.start()
    await event(a, 'start')
    const b = peer([seedOf(a)])
    const newPeers: unknown[] = []
    b.on('peer:new', (state: unknown) => { newPeers.push(state) })
    const knew: string[] = []
    b.know('room.*', function (this: Telepathine, owner: string, key: string, value: unknown) { knew.push(`${this.peer_name === b.peer_name ? 'b' : '?'} ${this.event!} ${owner === a.peer_name ? 'a' : '?'} ${key}=${String(value)}`) })
    const believed = new Promise<unknown[]>(resolve => { b.believe('motd', (...args: unknown[]) => { resolve(args) }) })
    b.start()
    await event(b, 'start')
    a.set('room.kitchen', 'warm')
    a.set('motd', 'hello', Date.now() + 60_000)
    const [owner, key, value, expiresAt] = await believed
    expect([owner, key, value]).toEqual([a.peer_name, 'motd', 'hello'])
    expect(typeof expiresAt).toBe('number')
    expect(b.get('motd')).toBe('hello') // believed: now b's own value too
    await until('room.kitchen', () => knew.length === 1)
    expect(knew).toEqual(['b set:room.kitchen a room.kitchen=warm'])
    expect(b.getRemote(a.peer_name, 'room.kitchen')).toBe('warm')
    expect(b.keys(a.peer_name)).toEqual(['motd', 'room.kitchen'])
    await until('peer:new', () => newPeers.some(s => (s as { id: string }).id === a.peer_name))

    const heard = new Promise<unknown[]>(resolve => { a.hearOnce('ping', function (this: Telepathine, ...args: unknown[]) { resolve([this.event, ...args]) }) })
    b.say('ping', { n: 1 }, 5_000)
    expect(await heard).toEqual(['say:ping', { n: 1 }, b.peer_name])

    // a falls silent: b's membership declares it down, then up when it is back
    const down = new Promise<unknown[]>(resolve => { b.on('peer:stop', (...args: unknown[]) => { if (args[0] === a.peer_name) resolve(args) }) })
    a.stop()
    expect(await down).toEqual([a.peer_name])
    const up = new Promise<unknown[]>(resolve => { b.on('peer:start', (...args: unknown[]) => { if (args[0] === a.peer_name) resolve(args) }) })
    a.start()
    expect(await up).toEqual([a.peer_name])
  }, 30_000)
})
