import { afterEach, describe, expect, it } from 'vitest'
import {
  backoffDelay, createNode, createTestnet, DEFAULTS, emptyStats, isDeadAddress, memoryStore, MemoryNetwork, plainChannel,
  rankPeers, scorePeer, StatRecorder
} from '../src/index.js'
import type { HearsayNode, NodeOptions, PeerRecord, PeerStats, PeerStore, StatEvent, Testnet, Transport } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

const ID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const HOUR = 3_600_000

function stats (ok: number, fail: number, lastSeen: number | null = null, rtt: number | null = null): PeerStats {
  return { connections: { ok, fail }, nodes: { rx: 0, tx: 0 }, lastSeen, rtt }
}
const row = (address: string, s: PeerStats): PeerRecord => ({ address, peerId: null, stats: s })

async function rows (store: PeerStore): Promise<Map<string, PeerRecord>> {
  const out = new Map<string, PeerRecord>()
  for await (const r of store.known()) out.set(r.address, r)
  return out
}

function track<T extends { stop: () => Promise<void> }> (x: T): T {
  cleanups.push(async () => { await x.stop() })
  return x
}

describe('peer scoring (pure)', () => {
  it('ranks recent successes first, then proven, untried, and failed addresses, failures backing off', () => {
    const now = 1_700_000_000_000
    const ranked = rankPeers([
      row('failed-3', stats(0, 3)),
      row('untried', stats(0, 0)),
      row('old-success', stats(5, 0, now - 6 * HOUR)),
      row('failed-1', stats(0, 1)),
      row('recent', stats(5, 0, now)),
      row('recent-but-failing', stats(5, 5, now))
    ])
    expect(ranked.map(r => r.address)).toEqual(['recent', 'recent-but-failing', 'old-success', 'untried', 'failed-1', 'failed-3'])
  })

  it('needs no clock: shifting every lastSeen by a constant keeps the order', () => {
    const base = [row('a', stats(1, 0, 1000)), row('b', stats(3, 1, 1000 - 2 * HOUR)), row('c', stats(0, 0))]
    const shifted = base.map(r => row(r.address, { ...r.stats, lastSeen: r.stats.lastSeen === null ? null : r.stats.lastSeen + 1e12 }))
    expect(rankPeers(shifted).map(r => r.address)).toEqual(rankPeers(base).map(r => r.address))
  })

  it('breaks ties by lower rtt, then by address', () => {
    expect(rankPeers([row('z', stats(1, 0, 5, 80)), row('y', stats(1, 0, 5, 20)), row('x', stats(1, 0, 5, 20))]).map(r => r.address)).toEqual(['x', 'y', 'z'])
  })

  it('scores in [0, 1]: untried 0.25, each failure lower', () => {
    expect(scorePeer(emptyStats(), null)).toBe(0.25)
    expect(scorePeer(stats(0, 1), null)).toBeLessThan(0.25)
    expect(scorePeer(stats(0, 3), null)).toBeLessThan(scorePeer(stats(0, 1), null))
    expect(scorePeer(stats(1000, 0, 5), 5)).toBeLessThanOrEqual(1)
    expect(scorePeer(stats(1, 0, 5), 5 + HOUR)).toBeCloseTo(scorePeer(stats(1, 0, 5), 5) * 0.75 / 1, 5)
  })

  it('purge rule: at least minFailures and a success ratio under maxSuccessRatio', () => {
    const rule = { minFailures: 3, maxSuccessRatio: 0.2 }
    expect(isDeadAddress(stats(0, 3), rule)).toBe(true)
    expect(isDeadAddress(stats(0, 2), rule)).toBe(false)
    expect(isDeadAddress(stats(1, 4), rule)).toBe(false) // exactly 0.2
    expect(isDeadAddress(stats(1, 5), rule)).toBe(true)
    expect(isDeadAddress(stats(10, 3), rule)).toBe(false)
  })

  it('backoff doubles from base up to max', () => {
    expect([0, 1, 2, 3, 10, 100].map(n => backoffDelay(n, 100, 1000))).toEqual([0, 100, 200, 400, 1000, 1000])
  })
})

describe('StatRecorder', () => {
  function recorder (store: PeerStore, opts: { flushInterval?: number, maxBatch?: number } = {}) {
    const timers: Array<{ ms: number, fn: () => void, live: boolean }> = []
    const errors: unknown[] = []
    const r = new StatRecorder(store, {
      flushInterval: opts.flushInterval ?? 1000,
      maxBatch: opts.maxBatch ?? 100,
      schedule: (ms, fn) => { const t = { ms, fn, live: true }; timers.push(t); return () => { t.live = false } },
      onError: (err) => { errors.push(err) }
    })
    const fire = (): void => { for (const t of timers.splice(0)) if (t.live) t.fn() }
    return { r, timers, errors, fire }
  }
  function countingStore (): PeerStore & { calls: number } {
    const inner = memoryStore()
    const s = Object.assign(Object.create(null) as object, inner, {
      calls: 0,
      record: async (address: string, event: StatEvent) => { s.calls++; await inner.record(address, event) }
    }) as PeerStore & { calls: number }
    return s
  }

  it('writes nothing until the flush interval, then everything; merges consecutive rx/tx', async () => {
    const store = countingStore()
    const { r, timers, fire } = recorder(store)
    for (let i = 0; i < 50; i++) r.add('tcp://127.0.0.1:1', { type: 'rx', count: 2 })
    r.add('tcp://127.0.0.1:1', { type: 'dial-ok', peerId: ID })
    r.add('tcp://127.0.0.1:2', { type: 'dial-fail' })
    expect(store.calls).toBe(0)
    expect(timers).toHaveLength(1)
    expect(timers[0]!.ms).toBe(1000)
    fire()
    await r.flush()
    expect(store.calls).toBe(3) // 50 rx merged into one event
    expect((await store.getStats('tcp://127.0.0.1:1')).nodes.rx).toBe(100)
    expect((await rows(store)).get('tcp://127.0.0.1:1')!.peerId).toBe(ID)
    expect((await store.getStats('tcp://127.0.0.1:2')).connections.fail).toBe(1)
  })

  it('flushes at once when maxBatch events wait, without waiting for the timer', async () => {
    const store = countingStore()
    const { r } = recorder(store, { maxBatch: 10 })
    for (let i = 0; i < 10; i++) r.add(`tcp://127.0.0.1:${i}`, { type: 'dial-fail' })
    expect(r.waiting).toBe(0)
    await r.flush()
    expect((await rows(store)).size).toBe(10)
  })

  it('close() flushes and later events are refused, counted', async () => {
    const store = memoryStore()
    const { r } = recorder(store)
    r.add('tcp://127.0.0.1:1', { type: 'tx', count: 1 })
    await r.close()
    r.add('tcp://127.0.0.1:1', { type: 'tx', count: 1 })
    expect((await store.getStats('tcp://127.0.0.1:1')).nodes.tx).toBe(1)
    expect(r.counts).toMatchObject({ added: 1, written: 1, refused: 1 })
  })

  it('a failing store is reported through onError and never throws from add() or flush()', async () => {
    const store = memoryStore()
    await store.close()
    const { r, errors } = recorder(store)
    r.add('tcp://127.0.0.1:1', { type: 'dial-fail' })
    await r.flush()
    expect(errors).toHaveLength(1)
    expect(r.counts.failed).toBe(1)
  })

  it('loses no counts with many interleaved adds and flushes', async () => {
    const store = memoryStore()
    const { r } = recorder(store, { maxBatch: 7 })
    const flushes: Array<Promise<void>> = []
    for (let i = 0; i < 1000; i++) {
      r.add(`tcp://127.0.0.1:${i % 13}`, i % 3 === 0 ? { type: 'dial-ok' } : { type: 'tx', count: 1 })
      if (i % 50 === 0) flushes.push(r.flush())
    }
    await Promise.all(flushes)
    await r.close()
    let ok = 0; let tx = 0
    for (const row of (await rows(store)).values()) { ok += row.stats.connections.ok; tx += row.stats.nodes.tx }
    expect(ok).toBe(334)
    expect(tx).toBe(666)
  })
})

describe('the node and its peer store', () => {
  const fast: NodeOptions = { channel: plainChannel(), shuffleInterval: 100, heartbeatInterval: 50, rejoinDelay: 30, rejoinMaxDelay: 200, healInterval: 0, statsFlushInterval: 20 }

  it('batches stat writes: nothing reaches the store before the flush interval, stop() writes the rest', async () => {
    const store = memoryStore()
    const t = track(await createTestnet(2, { topology: 'none', node: (i) => i === 1 ? { store, statsFlushInterval: 60_000 } : {} }))
    await t.nodes[1]!.dial('memory:node-0')
    await expect(t.nodes[1]!.dial('memory:nobody')).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
    expect((await rows(store)).size).toBe(0)
    await t.nodes[1]!.stop()
    expect((await store.getStats('memory:node-0')).connections.ok).toBe(1)
    expect((await store.getStats('memory:nobody')).connections.fail).toBe(1)
  })

  it('flushStats() writes waiting events now', async () => {
    const store = memoryStore()
    const t = track(await createTestnet(2, { topology: 'none', node: (i) => i === 1 ? { store, statsFlushInterval: 60_000 } : {} }))
    await t.nodes[1]!.dial('memory:node-0')
    await t.nodes[1]!.flushStats()
    expect((await rows(store)).get('memory:node-0')).toMatchObject({ peerId: t.nodes[0]!.id, stats: { connections: { ok: 1, fail: 0 } } })
  })

  it('a dial cancelled by its caller or by stop() is not counted as a failure', async () => {
    const network = new MemoryNetwork()
    const store = memoryStore()
    const node = track(createNode({ store, transports: [network.transport('a')], statsFlushInterval: 0 }))
    await node.start()
    const silent = await network.transport('silent').listen('memory:silent', () => {})
    cleanups.push(async () => { await silent.close() })
    const ac = new AbortController()
    const dial = node.dial('memory:silent', { signal: ac.signal })
    ac.abort()
    await expect(dial).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    const hanging = node.dial('memory:silent')
    await node.stop()
    await expect(hanging).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    expect((await store.getStats('memory:silent')).connections.fail).toBe(0)
  })

  it('records round-trip times of ping() under the dialled address and under an inbound peer’s advertised address', async () => {
    const stores = [memoryStore(), memoryStore()]
    const t = track(await createTestnet(2, { topology: 'none', node: (i) => ({ ...fast, store: stores[i]!, seeds: i === 1 ? ['memory:node-0'] : [] }) }))
    const [hub, spoke] = t.nodes as [HearsayNode, HearsayNode]
    await eventually(() => hub.overlay!.active.includes(spoke.id) && spoke.overlay!.active.includes(hub.id), 5000, 'overlay link')
    const ms = await spoke.ping(hub.id)
    await hub.ping(spoke.id)
    await spoke.flushStats()
    await hub.flushStats()
    expect((await stores[1]!.getStats('memory:node-0')).rtt).toBe(ms)
    // the hub's link is inbound: the rtt goes under the address the spoke advertised, not its port
    expect((await stores[0]!.getStats('memory:node-1')).rtt).not.toBeNull()
  })

  it('samples round-trip times by itself every rttInterval', async () => {
    const store = memoryStore()
    const t = track(await createTestnet(2, { topology: 'none', node: (i) => ({ ...fast, rttInterval: 30, ...(i === 1 ? { store, seeds: ['memory:node-0'] } : {}) }) }))
    void t
    await eventually(async () => (await store.getStats('memory:node-0')).rtt !== null, 5000, 'sampled rtt')
  })

  it('counts peer addresses received from (rx) and sent to (tx) each peer in shuffles, only under dialable addresses', async () => {
    const stores = Array.from({ length: 6 }, () => memoryStore())
    const t = track(await createTestnet(6, {
      topology: 'none',
      node: (i) => ({ ...fast, minPeers: 2, maxPeers: 3, store: stores[i]!, seeds: i === 0 ? [] : ['memory:node-0'] })
    }))
    const listen = new Set(t.nodes.map((_n, i) => `memory:node-${i}`))
    const totals = async (): Promise<{ rx: number, tx: number }> => {
      let rx = 0; let tx = 0
      for (const s of stores) for (const r of (await rows(s)).values()) { rx += r.stats.nodes.rx; tx += r.stats.nodes.tx }
      return { rx, tx }
    }
    await eventually(async () => {
      const s = await totals()
      const learned = [...(await rows(stores[5]!)).values()].filter(r => r.peerId !== null)
      return s.rx > 10 && s.tx > 10 && learned.length > 1
    }, 10_000, 'rx and tx counts, learned peers')
    for (const s of stores) {
      for (const address of (await rows(s)).keys()) expect(listen.has(address), `${address} is a listening address`).toBe(true)
    }
    // peer exchange results are saved with their ids
    const learned = [...(await rows(stores[5]!)).values()].filter(r => r.peerId !== null)
    expect(learned.length).toBeGreaterThan(1)
  })

  it('purges dead addresses on its interval and keeps good ones and connected peers', async () => {
    const store = memoryStore()
    for (let i = 0; i < 3; i++) await store.record('memory:dead', { type: 'dial-fail' })
    await store.record('memory:flaky', { type: 'dial-ok' })
    for (let i = 0; i < 3; i++) await store.record('memory:flaky', { type: 'dial-fail' }) // 1/4 = 0.25: kept
    await store.save(['memory:untried'])
    const t = track(await createTestnet(2, { topology: 'none', node: (i) => i === 1 ? { store, overlay: false, purgeInterval: 20 } : { overlay: false } }))
    await t.nodes[1]!.dial('memory:node-0')
    // connected: 1 ok, 9 fails, but in use (recorded once connected: a purge may run while the dial is in flight)
    for (let i = 0; i < 9; i++) await store.record('memory:node-0', { type: 'dial-fail' })
    // a dead address of that moment: once it is gone, a purge ran with node-0's 9 failures recorded
    for (let i = 0; i < 3; i++) await store.record('memory:dead2', { type: 'dial-fail' })
    await eventually(async () => { const r = await rows(store); return !r.has('memory:dead') && !r.has('memory:dead2') }, 5000, 'a purge since')
    const left = await rows(store)
    expect([...left.keys()].sort()).toEqual(['memory:flaky', 'memory:node-0', 'memory:untried'])
    // the tombstone keeps peer exchange from re-adding it
    await store.save(['memory:dead'])
    expect((await rows(store)).has('memory:dead')).toBe(false)
  })

  it('purge defaults: every 60 s, ≥ 3 failures and success ratio < 0.2', () => {
    expect(DEFAULTS).toMatchObject({ purgeInterval: 60_000, purgeMinFailures: 3, purgeMaxSuccessRatio: 0.2, statsFlushInterval: 1000, statsMaxBatch: 1000, rttInterval: 30_000 })
  })

  it('bootstraps from stored addresses in score order when the seeds fail, and joins the overlay', async () => {
    const network = new MemoryNetwork()
    const others = track(await createTestnet(2, { network, topology: 'none', node: (i) => ({ ...fast, listen: [i === 0 ? 'memory:b' : 'memory:c'] }) }))
    const [b, c] = others.nodes as [HearsayNode, HearsayNode]
    const clock = { t: Date.now() - 3 * HOUR }
    const store = memoryStore({ now: () => clock.t })
    await store.save([{ address: 'memory:dead-1' }, { address: 'memory:b', peerId: b.id }, { address: 'memory:c', peerId: c.id }, { address: 'memory:dead-2' }])
    await store.record('memory:dead-1', { type: 'dial-fail' })
    await store.record('memory:dead-1', { type: 'dial-fail' })
    for (let i = 0; i < 3; i++) await store.record('memory:b', { type: 'dial-ok' })
    clock.t += 2 * HOUR
    await store.record('memory:c', { type: 'dial-ok' })
    const dials: string[] = []
    const inner = network.transport('a')
    const transport: Transport = Object.assign(Object.create(Object.getPrototypeOf(inner) as object) as Transport, inner, {
      dial: async (address: string, o: Parameters<Transport['dial']>[1]) => { dials.push(address); return await inner.dial(address, o) }
    })
    const a = track(createNode({ ...fast, store, transports: [transport], listen: ['memory:a'], seeds: ['memory:no-seed'], purgeInterval: 0 }))
    await a.start()
    await eventually(() => a.overlay!.active.length > 0, 5000, 'joined through a stored peer')
    // c worked 2 h after b's last success: c first, then b, then the untried dead-2, then dead-1
    // (failed twice); three dials run at once, so dead-1 may start once dead-2 has failed
    const order = ['memory:no-seed', 'memory:c', 'memory:b', 'memory:dead-2', 'memory:dead-1']
    expect(dials.slice(0, 4)).toEqual(order.slice(0, 4))
    expect(dials.every((d, i) => d === order[i])).toBe(true)
    expect(a.peers().map(p => p.id)).toContain(c.id)
    expect(a.metrics.get('membership.store-bootstraps')).toBeGreaterThanOrEqual(1)
  })

  it('rejoins through stored addresses when every seed is gone', async () => {
    const network = new MemoryNetwork()
    const t: Testnet = track(await createTestnet(2, { network, topology: 'none', node: (i) => ({ ...fast, listen: [i === 0 ? 'memory:seed' : 'memory:b'] }) }))
    const [seed, b] = t.nodes as [HearsayNode, HearsayNode]
    const store = memoryStore()
    // no peer id stored: b cannot be in the passive view, only the store bootstrap finds it
    await store.record('memory:b', { type: 'dial-ok' })
    const a = track(createNode({ ...fast, store, transports: [network.transport('a')], listen: ['memory:a'], seeds: ['memory:seed'], minPeers: 1, maxPeers: 1 }))
    await a.start()
    await eventually(() => a.peers().some(p => p.id === seed.id), 5000, 'seed link')
    await seed.stop()
    await eventually(() => a.peers().some(p => p.id === b.id), 10_000, 'rejoined through b')
    expect(a.metrics.get('membership.store-dials.ok')).toBeGreaterThanOrEqual(1)
  })

  it('stop() gives up on a store that never answers after 5 s (node clock), instead of hanging', async () => {
    const inner = memoryStore()
    const hung: PeerStore = { ...inner, record: async () => await new Promise<void>(() => {}) }
    // a clock whose 5 s timers fire at once, so the test does not wait for them
    const clock = { now: () => performance.now(), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms >= 5000 ? 1 : ms), clearTimeout: (h: unknown) => { clearTimeout(h as ReturnType<typeof setTimeout>) } }
    const network = new MemoryNetwork()
    const node = createNode({ store: hung, clock, transports: [network.transport('a')], statsFlushInterval: 0 })
    await node.start()
    await expect(node.dial('memory:nobody')).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
    await node.stop()
    expect(node.status).toBe('stopped')
  })

  it('never blocks messages on the store: a store that never answers still lets messages flow', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    const inner = memoryStore()
    const slow: PeerStore = { ...inner, record: async (a, e) => { await gate; await inner.record(a, e) } }
    const t = track(await createTestnet(2, { topology: 'none', node: (i) => i === 1 ? { store: slow, statsFlushInterval: 0, overlay: false } : { overlay: false } }))
    await t.nodes[1]!.dial('memory:node-0')
    const got = new Promise(resolve => { t.nodes[0]!.once('message', resolve) })
    t.nodes[1]!.peers()[0]!.send('hello', 1)
    await got
    expect(await t.nodes[1]!.ping(t.nodes[0]!.id)).toBeGreaterThanOrEqual(0)
    release()
    await t.nodes[1]!.flushStats()
    expect((await inner.getStats('memory:node-0')).connections.ok).toBe(1)
  })
})
