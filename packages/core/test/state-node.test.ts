import { afterEach, describe, expect, it } from 'vitest'
import { createNode, createTestnet, encodeEnvelope, generateIdentity, memoryStore, MemoryNetwork, plainChannel, INCARNATION_META_KEY } from '../src/index.js'
import type { HearsayNode, NodeOptions, StateChange, Testnet } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

const fast: NodeOptions = { shuffleInterval: 200, heartbeatInterval: 50, rejoinDelay: 50, rejoinMaxDelay: 400, healInterval: 300 }

async function net (n: number, opts: { network?: MemoryNetwork, node?: (i: number) => NodeOptions } = {}): Promise<Testnet> {
  const t = await createTestnet(n, {
    network: opts.network,
    topology: 'none',
    node: (i) => ({
      channel: plainChannel(),
      ...fast,
      minPeers: 2,
      maxPeers: 4,
      seeds: i === 0 ? [] : ['memory:node-0'],
      // real signatures even on the plain channel: ownership proofs are what these tests check
      state: { gossipInterval: 40, sweepInterval: 20, ownership: 'signed' },
      ...opts.node?.(i)
    })
  })
  cleanups.push(t.stop)
  return t
}

function converged (nodes: HearsayNode[], keysPerOwner: number): boolean {
  return nodes.every(n => nodes.every(o => n.state.keys(o.id).length === keysPerOwner))
}

describe('replicated state on the memory testnet', () => {
  it('N nodes × K keys converge: every node sees every key of every node, with set events', async () => {
    const t = await net(12)
    const events = new Map<string, number>()
    for (const n of t.nodes) n.state.on('set:k.*', (c) => { if (!c.local) events.set(n.id, (events.get(n.id) ?? 0) + 1) })
    t.nodes.forEach((n, i) => { for (let k = 0; k < 16; k++) n.state.set(`k.${k}`, { i, k, text: 'x'.repeat(k) }) })
    await eventually(() => converged(t.nodes, 16), 20_000, 'converged')
    for (const n of t.nodes) {
      expect(events.get(n.id)).toBe(11 * 16)
      t.nodes.forEach((o, i) => { expect(n.state.getRemote(o.id, 'k.3')).toEqual({ i, k: 3, text: 'xxx' }) })
      expect(n.state.owners().length).toBe(12)
    }
    // updates keep flowing: a new value replaces the old one everywhere
    t.nodes[5]!.state.set('k.3', 'changed')
    await eventually(() => t.nodes.every(n => n.state.getRemote(t.nodes[5]!.id, 'k.3') === 'changed'), 10_000, 'update spread')
    // one signature per owner batch; every node checked a batch at most once per (owner, batch)
    const st = t.nodes[0]!.state.stats()
    expect(st.signatures).toBeLessThanOrEqual(4)
    expect(st.verifications + st.directBatches).toBeLessThanOrEqual(11 * 3)
  })

  it('values expire everywhere at their time (expire events), tombstones delete and then expire too', async () => {
    const t = await net(4, { node: () => ({ state: { gossipInterval: 40, sweepInterval: 20, tombstoneTtl: 600 } }) })
    const [a, b] = [t.nodes[0]!, t.nodes[3]!]
    const expired: StateChange[] = []
    const deleted: StateChange[] = []
    b.state.on('expire', (c) => expired.push(c))
    b.state.on('delete:gone', (c) => deleted.push(c))
    a.state.set('brief', 'soon gone', { ttl: 800 })
    a.state.set('gone', 'deleted later')
    a.state.set('kept', 1)
    await eventually(() => b.state.keys(a.id).length === 3, 10_000, 'replicated')
    expect(b.state.entry(a.id, 'brief')!.expiresAt).toBeGreaterThan(Date.now())
    expect(a.state.delete('gone')).toBe(true)
    await eventually(() => deleted.length === 1, 10_000, 'delete event')
    expect(deleted[0]).toMatchObject({ owner: a.id, key: 'gone', local: false })
    expect(b.state.getRemote(a.id, 'gone')).toBeUndefined()
    expect(b.state.entry(a.id, 'gone')).toMatchObject({ deleted: true })
    await eventually(() => expired.length === 1, 10_000, 'expire event')
    expect(expired[0]).toMatchObject({ owner: a.id, key: 'brief', value: 'soon gone' })
    expect(b.state.keys(a.id)).toEqual(['kept'])
    expect(a.state.get('brief')).toBeUndefined()
    // the tombstone itself expires (tombstoneTtl 600 ms)
    await eventually(() => b.state.entry(a.id, 'gone') === undefined && a.state.entry(a.id, 'gone') === undefined, 5000, 'tombstone expired')
    // and the old value does not come back from anyone
    await new Promise<void>((resolve) => { const off = b.state.on('set', () => {}); setTimeout(() => { off(); resolve() }, 300) })
    expect(t.nodes.every(n => n.state.getRemote(a.id, 'gone') === undefined)).toBe(true)
  })

  it('a restarted node (same store) gets a higher incarnation and peers take its new values', async () => {
    const network = new MemoryNetwork()
    const t = await net(4, { network })
    const store = memoryStore()
    const opts = (): NodeOptions => ({
      clock: network.clock, store, transports: [network.transport('phoenix')], listen: ['memory:phoenix'], channel: plainChannel(),
      ...fast, minPeers: 2, maxPeers: 4, seeds: ['memory:node-0'], state: { gossipInterval: 40, ownership: 'signed' }
    })
    const first = createNode(opts())
    await first.start()
    first.state.set('status', 'v1')
    first.state.set('old', 'from the first run')
    await eventually(() => t.nodes.every(n => n.state.getRemote(first.id, 'status') === 'v1'), 10_000, 'v1 everywhere')
    const inc1 = first.state.incarnation
    const id = first.id
    await first.stop()
    network.kill('phoenix')
    network.revive('phoenix')
    const second = createNode(opts())
    cleanups.push(async () => { await second.stop() })
    await second.start()
    expect(second.id).toBe(id)
    expect(second.state.incarnation).toBeGreaterThan(inc1)
    const stored = await store.getMeta(INCARNATION_META_KEY)
    expect(stored).toHaveLength(8)
    // the new run starts with no own keys; its first write wins over the first run's everywhere
    expect(second.state.get('status')).toBeUndefined()
    second.state.set('status', 'v2')
    await eventually(() => t.nodes.every(n => n.state.getRemote(id, 'status') === 'v2'), 10_000, 'v2 everywhere')
    expect(t.nodes.every(n => n.state.entry(id, 'status')!.version > 0)).toBe(true)
    // keys of the first run stay (telepathine's semantics) until overwritten, deleted or expired
    expect(t.nodes[1]!.state.getRemote(id, 'old')).toBe('from the first run')
    second.state.delete('old')
    await eventually(() => t.nodes.every(n => n.state.getRemote(id, 'old') === undefined), 10_000, 'old key deleted')
  })

  it('a node that lost its store but kept its identity is not ignored either (refutation)', async () => {
    const network = new MemoryNetwork()
    const t = await net(3, { network })
    const identity = generateIdentity()
    const opts = (): NodeOptions => ({
      clock: network.clock, identity, store: memoryStore(), transports: [network.transport('amnesiac')], listen: ['memory:amnesiac'], channel: plainChannel(),
      ...fast, minPeers: 2, maxPeers: 4, seeds: ['memory:node-0'], state: { gossipInterval: 40, ownership: 'signed' }
    })
    const first = createNode(opts())
    await first.start()
    // many writes: the first run's versions run far ahead of the second run's
    for (let i = 0; i < 50; i++) first.state.set('k', i)
    await eventually(() => t.nodes.every(n => n.state.getRemote(identity.id, 'k') === 49), 10_000, 'first run replicated')
    await first.stop()
    network.kill('amnesiac'); network.revive('amnesiac')
    const second = createNode(opts())
    cleanups.push(async () => { await second.stop() })
    await second.start()
    second.state.set('k', 'after amnesia')
    await eventually(() => t.nodes.every(n => n.state.getRemote(identity.id, 'k') === 'after amnesia'), 10_000, 'second run wins')
    expect(second.state.get('k')).toBe('after amnesia')
  })

  it('forged owners, tampered values and replays are ignored and counted, never thrown', async () => {
    const t = await net(3)
    const [victim, liar, target] = t.nodes as [HearsayNode, HearsayNode, HearsayNode]
    victim.state.set('balance', 10)
    await eventually(() => t.nodes.every(n => n.state.getRemote(victim.id, 'balance') === 10), 10_000, 'replicated')
    // capture a genuine delta that carries the victim's update (signed by the victim)
    const frames: unknown[] = []
    // the state service sends through the node's context (what every protocol module gets)
    const ctx = victim.context
    const orig = ctx.send
    ctx.send = (peer, type, data) => { if (type === 'kv.delta') frames.push(structuredClone(data)); return orig(peer, type, data) }
    victim.state.set('balance', 11)
    await eventually(() => frames.some(f => JSON.stringify(f).includes(victim.id)), 10_000, 'a delta with the victim')
    ctx.send = orig
    await eventually(() => target.state.getRemote(victim.id, 'balance') === 11, 10_000, 'genuine update')
    const genuine = frames.find(f => JSON.stringify(f).includes(victim.id)) as { g: Array<[string, unknown[], unknown[][]]> }
    const link = liar.getPeer(target.id) ?? await liar.dial('memory:node-2')
    const before = { bad: target.metrics.get('drops.kv-bad-proof'), stale: target.metrics.get('drops.kv-stale'), malformed: target.metrics.get('drops.kv-malformed') }
    // 1. tampered value, version bumped: the proof no longer matches the signed root
    const tampered = structuredClone(genuine)
    for (const g of tampered.g) if (g[0] === victim.id) for (const e of g[2]) { e[1] = (e[1] as number) + 1000; e[2] = new Uint8Array([0xcd, 0x03, 0xe8]) }
    liar.sendProtocol(link, 'kv.delta', tampered)
    // 2. a replay of the genuine delta: stale
    liar.sendProtocol(link, 'kv.delta', genuine)
    // 3. junk
    liar.sendProtocol(link, 'kv.delta', { g: [[victim.id, 'x', 1]] })
    liar.sendProtocol(link, 'kv.syn', { f: 1 })
    liar.sendProtocol(link, 'kv.ack', 'nope')
    await eventually(() => target.metrics.get('drops.kv-bad-proof') > before.bad && target.metrics.get('drops.kv-stale') > before.stale &&
      target.metrics.get('drops.kv-malformed') > before.malformed && target.metrics.get('drops.kv-malformed-digest') > 0, 5000, 'drops counted')
    expect(target.state.getRemote(victim.id, 'balance')).toBe(11)
    expect(target.status).toBe('running')
    expect(target.getPeer(liar.id)).toBeDefined()
    // 4. the liar's own signed update, relabelled as the victim's: the victim's signature is missing
    const liarSend = liar.context.send
    const own: unknown[] = []
    liar.context.send = (peer, type, data) => { if (type === 'kv.delta') own.push(structuredClone(data)); return liarSend(peer, type, data) }
    liar.state.set('balance', 1_000_000)
    await eventually(() => own.some(f => JSON.stringify(f).includes(liar.id)), 10_000, 'a delta with the liar')
    liar.context.send = liarSend
    const relabelled = structuredClone(own.find(f => JSON.stringify(f).includes(liar.id))) as { g: Array<[string, unknown[], unknown[][]]> }
    relabelled.g = relabelled.g.filter(g => g[0] === liar.id).map(g => [victim.id, g[1], g[2].map(e => { e[1] = (e[1] as number) + 2 ** 40; return e })])
    const bad = target.metrics.get('drops.kv-bad-proof')
    liar.sendProtocol(link, 'kv.delta', relabelled)
    await eventually(() => target.metrics.get('drops.kv-bad-proof') > bad, 5000, 'relabelled update refused')
    expect(target.state.getRemote(victim.id, 'balance')).toBe(11)
  })

  it('pages digests and deltas under a small maxMessageBytes and still converges', async () => {
    const t = await net(5, { node: () => ({ state: { gossipInterval: 30, maxMessageBytes: 2048, maxValueBytes: 600, maxKeyBytes: 64, ownership: 'signed' } }) })
    const sizes: number[] = []
    for (const n of t.nodes) {
      const orig = n.context.send
      n.context.send = (peer, type, data) => { if (type.startsWith('kv.')) sizes.push(encodeEnvelope({ type, data }).length); return orig(peer, type, data) }
    }
    t.nodes.forEach((n, i) => { for (let k = 0; k < 60; k++) n.state.set(`key:${k}`, `${i}:${'v'.repeat(200)}`) })
    await eventually(() => converged(t.nodes, 60), 30_000, 'converged under a 2 KiB budget')
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2048)
    // 60 keys of ~210 bytes per owner do not fit one message: deltas were paged
    expect(t.nodes.reduce((s, n) => s + n.metrics.get('kv.deltas.out'), 0)).toBeGreaterThan(5 * 4 * 6)
  })

  it('set throws typed errors before anything changes; believe copies a remote key', async () => {
    const t = await net(2, { node: () => ({ state: { gossipInterval: 40, maxValueBytes: 1000 } }) })
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    const v0 = a.state.stats().version
    expect(() => a.state.set('big', 'x'.repeat(2000))).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE', name: 'TooLargeError' }))
    expect(() => a.state.set('k'.repeat(300), 1)).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => a.state.set('', 1)).toThrow(TypeError)
    expect(() => a.state.set('k', () => {}, { ttl: -1 })).toThrow(TypeError)
    expect(() => a.state.set('k', 1, { ttl: 5, expiresAt: Date.now() + 10 })).toThrow(TypeError)
    expect(() => a.state.set('k', 1, { expiresAt: Date.now() - 10 })).toThrow(TypeError)
    expect(() => a.state.on('nope' as 'set', () => {})).toThrow(TypeError)
    expect(a.state.stats().version).toBe(v0)
    expect(a.state.keys()).toEqual([])
    b.state.set('motd', { text: 'hello' }, { ttl: 60_000 })
    await eventually(() => a.state.getRemote(b.id, 'motd') !== undefined, 10_000, 'replicated')
    expect(a.state.believe('motd', b.id)).toBe(true)
    expect(a.state.get('motd')).toEqual({ text: 'hello' })
    expect(a.state.entry(a.id, 'motd')!.expiresAt).toBe(b.state.entry(b.id, 'motd')!.expiresAt)
    expect(a.state.believe('unknown', b.id)).toBe(false)
    await eventually(() => b.state.getRemote(a.id, 'motd') !== undefined, 10_000, 'believed value spread')
  })

  it('a frame limit too small for the defaults turns state off; explicit impossible options throw', () => {
    const tiny = createNode({ channel: plainChannel(), limits: { maxFrameBytes: 600 } })
    expect(() => tiny.state.keys()).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }))
    expect(() => createNode({ channel: plainChannel(), limits: { maxFrameBytes: 600 }, state: { maxValueBytes: 500 } })).toThrow(TypeError)
    expect(() => createNode({ channel: plainChannel(), state: { maxMessageBytes: 1000, maxValueBytes: 8192 } })).toThrow(TypeError)
    expect(() => createNode({ channel: plainChannel(), state: { gossipInterval: 0 } })).toThrow(TypeError)
    expect(() => createNode({ channel: plainChannel(), events: { hopLimit: 99 } })).toThrow(TypeError)
    // a small frame limit shrinks the defaults to fit
    expect(() => createNode({ channel: plainChannel(), limits: { maxFrameBytes: 1000 } })).not.toThrow()
  })

  it('state before start throws NotStartedError; stop leaves no timers', async () => {
    const n = createNode({ channel: plainChannel() })
    expect(() => n.state.set('k', 1)).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }))
    expect(() => n.events.say('x')).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }))
    const t = await net(3)
    t.nodes[0]!.state.set('k', 1)
    await t.stop()
    for (const node of t.nodes) expect(node.lifetimeTimers.size).toBe(0)
    expect(() => t.nodes[0]!.state.set('k', 2)).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }))
    expect(t.nodes[0]!.state.get('k')).toBe(1)
  })
})
