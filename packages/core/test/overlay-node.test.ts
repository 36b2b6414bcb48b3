import { afterEach, describe, expect, it } from 'vitest'
import { countersWith, overlayConnected, viewsSignature } from '../src/testing/compliance/overlay.js'
import { createNode, createTestnet, MemoryNetwork, plainChannel } from '../src/index.js'
import type { HearsayNode, NodeOptions, Reply, Testnet } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

const fast: NodeOptions = { shuffleInterval: 200, heartbeatInterval: 50, rejoinDelay: 50, rejoinMaxDelay: 400, healInterval: 300 }

async function overlay (n: number, opts: { network?: MemoryNetwork, node?: (i: number) => NodeOptions } = {}): Promise<Testnet> {
  // every node joins through node 0 as a seed, as an application would
  const t = await createTestnet(n, {
    network: opts.network,
    topology: 'none',
    node: (i) => ({ channel: plainChannel(), ...fast, seeds: i === 0 ? [] : ['memory:node-0'], ...opts.node?.(i) })
  })
  cleanups.push(t.stop)
  return t
}


/** `eventually`, saying on timeout what every node's active view and drops were (CI-only failures are read from the log). */
async function waitOverlay (t: Testnet, check: () => boolean, ms: number, what: string): Promise<void> {
  try {
    await eventually(check, ms, what)
  } catch (err) {
    const state = t.nodes.map((n, i) => `${i}[${n.status}]: ${(n.overlay?.active ?? []).map(id => t.nodes.findIndex(m => m.id === id)).join(',')} ${JSON.stringify(countersWith(n, 'drops.hv-'))}`)
    throw new Error(`${(err as Error).message}; connected: ${String(overlayConnected(t.nodes))}; views: ${state.join(' | ')}`, { cause: err })
  }
}

async function collect (it: AsyncIterable<Reply>): Promise<Reply[]> {
  const out: Reply[] = []
  for await (const r of it) out.push(r)
  return out
}

describe('overlay on the memory testnet', () => {
  it('30 nodes joining through one seed form one connected overlay within the view bounds', async () => {
    const t = await overlay(30, { node: () => ({ minPeers: 3, maxPeers: 6 }) })
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 3), 15_000, 'connected overlay')
    for (const n of t.nodes) {
      expect(n.overlay!.active.length).toBeLessThanOrEqual(6)
      expect(n.peers().length).toBeGreaterThanOrEqual(3)
    }
    // the seed is not a hub: the overlay spread the load
    expect(t.nodes[0]!.overlay!.active.length).toBeLessThanOrEqual(6)
    // passive views learned peers beyond the seed (peer exchange)
    await eventually(() => t.nodes.filter(n => n.overlay!.passive.length > 0).length >= 25, 10_000, 'passive views')
  })

  it.each(['flood', 'plumtree'] as const)('announce (%s) reaches every node once, and replies come back along the reverse path', async (mode) => {
    const t = await overlay(20, { node: () => ({ minPeers: 3, maxPeers: 5, broadcast: mode }) })
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 3), 15_000, 'overlay')
    const seen = new Map<string, number>()
    for (const n of t.nodes) {
      n.on('request', (req) => {
        seen.set(n.id, (seen.get(n.id) ?? 0) + 1)
        expect(req.origin).toBe(t.nodes[5]!.id)
        req.reply({ me: n.id, hops: req.hops })
      })
    }
    // the collection ends at the 19th reply: the timeout only bounds a loaded machine (2 s got 9
    // of 19 at load 16, the replies still on their way)
    const replies = await collect(t.nodes[5]!.announce({ type: 'who', data: 'all', limit: 10, timeout: 15_000, maxReplies: 19 }))
    expect(replies).toHaveLength(19)
    expect(new Set(replies.map(r => r.from)).size).toBe(19)
    expect(replies.every(r => (r.data as { me: string }).me === r.from)).toBe(true)
    expect(seen.size).toBe(19)
    expect([...seen.values()].every(c => c === 1)).toBe(true)
    expect(seen.has(t.nodes[5]!.id)).toBe(false)
  }, 45_000)

  it('Plumtree nodes elect one root and their eager links form a spanning tree that carries every announce once (node.tree)', async () => {
    const t = await overlay(20, { node: () => ({ minPeers: 3, maxPeers: 5, broadcast: 'plumtree', plumtree: { rootIntervalMs: 200 } }) })
    const spanning = (): boolean => {
      const trees = new Map(t.nodes.map(n => [n.id, n.tree!]))
      const roots = new Set([...trees.values()].map(x => x.root))
      if (roots.size !== 1 || roots.has(undefined)) return false
      let edges = 0
      for (const [id, x] of trees) for (const p of x.eager) { if (!trees.get(p)?.eager.includes(id)) return false; edges++ }
      if (edges / 2 !== t.nodes.length - 1) return false
      const seen = new Set([t.nodes[0]!.id]); const stack = [t.nodes[0]!.id]
      while (stack.length > 0) for (const p of trees.get(stack.pop()!)!.eager) if (!seen.has(p)) { seen.add(p); stack.push(p) }
      return seen.size === t.nodes.length
    }
    await waitOverlay(t, () => overlayConnected(t.nodes) && spanning(), 15_000, 'one root and a spanning tree')
    expect(t.nodes[0]!.tree!.mode).toBe('plumtree')
    for (const n of t.nodes) n.on('request', (req) => { req.reply(n.id) })
    const dups = (): number => t.nodes.reduce((a, n) => a + n.metrics.get('drops.broadcast-duplicate'), 0)
    const shape = (): string => t.nodes.map(n => [...n.tree!.eager].sort().join(',')).join(';')
    // three announces over a tree that stayed the same while they travelled: each reaches all
    // 19 others and no node gets a second copy (a tree has no cycle); a view change meanwhile
    // (shuffles run every 200 ms) spoils an attempt, not the test: it can close the way back of
    // a reply (CI under load: 18 of 19), so stability is checked before the count
    const views = (): string => viewsSignature(t.nodes)
    let clean = 0
    for (let attempt = 0; attempt < 10 && clean < 3; attempt++) {
      await waitOverlay(t, () => spanning(), 15_000, 'a spanning tree again')
      const s0 = shape()
      const v0 = views()
      const d0 = dups()
      const origin = t.nodes[(attempt * 7 + 3) % t.nodes.length]!
      const replies = await collect(origin.announce({ type: 'who', timeout: 3000, maxReplies: 19 }))
      if (shape() !== s0 || views() !== v0) continue
      expect(replies).toHaveLength(19)
      expect(dups() - d0).toBe(0)
      clean++
    }
    expect(clean).toBe(3)
  })

  it('a reply whose first way back closed goes back along a duplicate copy\'s path', async () => {
    const t = await overlay(20, { node: () => ({ minPeers: 3, maxPeers: 5, broadcast: 'flood' }) })
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 3), 15_000, 'overlay')
    const origin = t.nodes[5]!
    let chosen: HearsayNode | undefined
    for (const n of t.nodes) {
      n.on('request', (req) => {
        if (chosen !== undefined || req.hops < 2) { req.reply(n.id); return }
        // the first node two or more hops out that also gets a second copy closes the link the
        // request came over before it replies (a node whose neighbours all heard it first gets
        // no second copy, so waiting for one at a given node is a race)
        const dups = n.metrics.get('drops.broadcast-duplicate')
        void eventually(() => n.metrics.get('drops.broadcast-duplicate') > dups, 1000, 'a duplicate copy').then(
          async () => { if (chosen === undefined) { chosen = n; await n.hangUp(req.from) } },
          () => {}
        ).then(() => { req.reply(n.id) })
      })
    }
    const replies = await collect(origin.announce({ type: 'who', limit: 10, timeout: 3000, maxReplies: 19 }))
    expect(chosen).toBeDefined()
    expect(replies.map(r => r.data)).toContain(chosen!.id)
    expect(replies).toHaveLength(19)
  })

  it('announceRoutes bounds the reverse paths a relay keeps: a reply for a forgotten request is dropped and counted', async () => {
    // a chain 0 – 1 – 2 (the ends take one link each), node 1 keeping one route
    const t = await overlay(3, { node: (i) => i === 1 ? { minPeers: 1, maxPeers: 2, announceRoutes: 1, seeds: ['memory:node-0'] } : { minPeers: 1, maxPeers: 1, seeds: i === 0 ? [] : ['memory:node-1'] } })
    await eventually(() => t.nodes[1]!.overlay!.active.length === 2, 15_000, 'chain')
    const requests = new Map<string, (data: unknown) => void>()
    t.nodes[2]!.on('request', (req) => { requests.set(req.id, req.reply) })
    const first = collect(t.nodes[0]!.announce({ type: 'q', id: 'first', timeout: 1000 }))
    await eventually(() => requests.has('first'), 5000, 'first request')
    const second = collect(t.nodes[0]!.announce({ type: 'q', id: 'second', timeout: 1000 }))
    await eventually(() => requests.has('second'), 5000, 'second request')
    requests.get('first')!('one')
    requests.get('second')!('two')
    expect((await second).map(r => r.data)).toEqual(['two'])
    expect(await first).toEqual([])
    expect(t.nodes[1]!.metrics.get('drops.reply-unknown')).toBe(1)
  })

  it('the hop limit bounds how far an announcement goes (hops equal overlay distance)', async () => {
    // sparse views give a long diameter; flooding delivers first along shortest paths
    const t = await overlay(16, { node: () => ({ minPeers: 2, maxPeers: 4, broadcast: 'flood' }) })
    await waitOverlay(t, () => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 1), 15_000, 'overlay')
    const origin = t.nodes[15]!
    const snapshot = (): string => viewsSignature(t.nodes)
    const distances = (): Map<string, number> => {
      const dist = new Map<string, number>([[origin.id, 0]])
      const byId = new Map(t.nodes.map(n => [n.id, n]))
      const queue = [origin]
      while (queue.length > 0) {
        const n = queue.shift()!
        for (const id of n.overlay!.active) if (!dist.has(id)) { dist.set(id, dist.get(n.id)! + 1); queue.push(byId.get(id)!) }
      }
      return dist
    }
    // wait for a quiet topology: 500 ms without a change of any active view
    let quietSince = Date.now(); let last = snapshot()
    await eventually(() => { const s = snapshot(); if (s !== last) { last = s; quietSince = Date.now() } return Date.now() - quietSince > 500 }, 15_000, 'stable views')
    let checked = 0
    // the check is only meaningful on a topology that did not change during the announce
    for (let attempt = 0; attempt < 10 && checked < 2; attempt++) {
      const before = snapshot()
      const dist = distances()
      const far = Math.max(...dist.values())
      const limit = Math.max(1, far - 1)
      const reached = new Map<string, number>()
      const offs = t.nodes.map(n => n.on('request', (req) => { reached.set(n.id, req.hops) }))
      await collect(origin.announce({ type: 'near', limit: limit + 1, hops: 1, timeout: 200 }))
      offs.forEach(off => off())
      if (snapshot() !== before) continue
      const expected = [...dist].filter(([id, d]) => id !== origin.id && d <= limit).map(([id]) => id).sort()
      expect(far).toBeGreaterThanOrEqual(2)
      expect([...reached.keys()].sort()).toEqual(expected)
      expect(reached.size).toBeLessThan(15)
      for (const [id, h] of reached) expect(h).toBe(dist.get(id))
      checked++
    }
    expect(checked).toBe(2)
  })

  it('a duplicate id is not delivered twice, and announce validates its arguments before sending', async () => {
    const t = await overlay(5)
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 1), 10_000, 'overlay')
    let count = 0
    for (const n of t.nodes) n.on('request', () => { count++ })
    await collect(t.nodes[1]!.announce({ type: 'x', id: 'same-id', timeout: 200 }))
    await collect(t.nodes[2]!.announce({ type: 'x', id: 'same-id', timeout: 200 }))
    expect(count).toBeLessThanOrEqual(4 + 1)
    expect(count).toBeGreaterThanOrEqual(4)
    expect(() => t.nodes[0]!.announce({ type: 'hv.join' })).toThrow(TypeError)
    expect(() => t.nodes[0]!.announce({ type: 'x', data: new Uint8Array(300_000) })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => t.nodes[0]!.announce({ type: 'x', id: 'i'.repeat(65) })).toThrow(TypeError)
  })

  it('the reply iterable ends on timeout, on maxReplies, and rejects on abort', async () => {
    const t = await overlay(4)
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 1), 10_000, 'overlay')
    for (const n of t.nodes) n.on('request', (req) => { req.reply(1); req.reply(2) })
    const two = await collect(t.nodes[0]!.announce({ type: 'q', maxReplies: 2, timeout: 5000 }))
    expect(two).toHaveLength(2)
    const started = Date.now()
    const all = await collect(t.nodes[0]!.announce({ type: 'q', timeout: 300 }))
    expect(all).toHaveLength(6)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    const ac = new AbortController()
    const it = t.nodes[0]!.announce({ type: 'q', timeout: 5000, signal: ac.signal })
    setTimeout(() => ac.abort(), 50)
    await expect(collect(it)).rejects.toMatchObject({ code: 'ERR_ABORTED' })
  })

  it('Plumtree is the default; a flood node among Plumtree nodes gets nothing from them and counts their frames as unknown-type', async () => {
    const t = await overlay(2, { node: (i) => (i === 1 ? { broadcast: 'flood' } : {}) })
    await eventually(() => t.nodes[1]!.peers().length === 1, 5000, 'link')
    expect(t.nodes[0]!.tree?.mode).toBe('plumtree')
    expect(t.nodes[1]!.tree?.mode).toBe('flood')
    let heard = 0
    t.nodes[1]!.on('request', () => { heard++ })
    await collect(t.nodes[0]!.announce({ type: 'x', timeout: 200 }))
    await eventually(() => t.nodes[1]!.metrics.get('drops.unknown-type') >= 1, 5000, 'counted drop')
    expect(heard).toBe(0)
  })

  it('a reply for an unknown request is dropped and counted', async () => {
    const t = await overlay(2)
    await eventually(() => t.nodes[1]!.peers().length === 1, 5000, 'link')
    expect(t.nodes[0]!.metrics.get('drops.unexpected-pong')).toBe(0)
    t.nodes[1]!.sendProtocol(t.nodes[1]!.peers()[0]!, 'rr.reply', { id: 'nope', r: t.nodes[1]!.id, d: 1, h: 0 })
    await eventually(() => t.nodes[0]!.metrics.get('drops.reply-unknown') === 1, 5000, 'counted drop')
  })

  it('replaces failed peers: after killing a third of the nodes the rest reconnect and still get announcements', async () => {
    const network = new MemoryNetwork()
    const t = await overlay(24, { network, node: () => ({ minPeers: 3, maxPeers: 5 }) })
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 3), 15_000, 'overlay')
    const victims = t.nodes.slice(1, 9)
    for (let i = 1; i < 9; i++) network.kill(`node-${i}`)
    await Promise.all(victims.map(async v => { await v.stop() }))
    const alive = t.nodes.filter(n => n.status === 'running')
    await eventually(() => overlayConnected(alive) && alive.every(n => n.overlay!.active.length >= 2), 15_000, 'healed overlay')
    const got = new Set<string>()
    for (const n of alive) n.on('request', (req) => { if (req.type === 'after') got.add(n.id) })
    await collect(alive[3]!.announce({ type: 'after', limit: 10, timeout: 500 }))
    // waited for, not sampled at the reply timeout: links made while healing start lazy under a
    // root, and a node reached only over one gets the announcement by IHAVE and GRAFT (100 ms +
    // 500 ms), after that window (a CI run saw 3 of 15 at 500 ms)
    await eventually(() => got.size === alive.length - 1, 5_000, `every survivor got it (${got.size} of ${alive.length - 1})`)
  })

  it('the failure detector declares a silent peer down once on each neighbour and closes it', async () => {
    const network = new MemoryNetwork()
    // four nodes, up to three peers each: a full mesh whose views cannot churn
    const t = await overlay(4, { network, node: () => ({ minPeers: 2, maxPeers: 3 }) })
    await eventually(() => t.nodes.every(n => n.overlay!.active.length === 3), 10_000, 'full mesh')
    const silent = t.nodes[3]!
    const others = t.nodes.slice(0, 3)
    const downs: string[] = []
    for (const n of others) n.on('peer:down', ({ id }) => downs.push(`${n.id}>${id}`))
    // frames to and from node-3 vanish but its links stay open: only heartbeats can tell
    network.partition(['node-3'], ['node-0', 'node-1', 'node-2'])
    await eventually(() => others.every(n => !n.overlay!.active.includes(silent.id) && n.getPeer(silent.id) === undefined), 10_000, 'silent peer dropped')
    expect(downs.sort()).toEqual(others.map(n => `${n.id}>${silent.id}`).sort())
    expect(others.every(n => n.metrics.get('peers.down') === 1)).toBe(true)
    expect(others.every(n => n.overlay!.active.length === 2)).toBe(true)
  })

  it('relinks a neighbour lost to the failure detector at once, not at the next heal (a network outage)', async () => {
    const network = new MemoryNetwork()
    // healing and shuffles far off: only the relink can bring the lost neighbour back in time
    const t = await overlay(4, { network, node: () => ({ minPeers: 2, maxPeers: 3, healInterval: 60_000, shuffleInterval: 60_000 }) })
    await eventually(() => t.nodes.every(n => n.overlay!.active.length === 3), 10_000, 'full mesh')
    const [a, , , b] = t.nodes as [HearsayNode, HearsayNode, HearsayNode, HearsayNode]
    // the path between node-0 and node-3 breaks (each keeps two neighbours: neither needs a refill)
    network.partition(['node-3'], ['node-0'])
    await eventually(() => a.metrics.get('peers.down') === 1 && b.metrics.get('peers.down') === 1, 10_000, 'declared down')
    // the outage ends: the relink's next dial (2 heartbeats on) goes through
    network.heal()
    await eventually(() => a.overlay!.active.includes(b.id) && b.overlay!.active.includes(a.id), 3_000, 'relinked')
    expect(a.metrics.get('membership.relinks') + b.metrics.get('membership.relinks')).toBeGreaterThanOrEqual(1)
  })

  it('rejoins through its seed after losing every peer, with backoff, and goes online again', async () => {
    const network = new MemoryNetwork()
    const t = await overlay(3, { network })
    const lone = t.nodes[2]!
    // joined: a neighbour, not only a link (a link whose JOIN is still on its way never goes offline)
    await eventually(() => lone.joined, 5000, 'joined')
    const events: string[] = []
    lone.on('offline', () => events.push('offline'))
    lone.on('online', () => events.push('online'))
    network.kill('node-0'); network.kill('node-1')
    await eventually(() => events.includes('offline'), 5000, 'offline')
    // the seed comes back at the same address
    await t.nodes[0]!.stop(); await t.nodes[1]!.stop()
    network.revive('node-0')
    const seed = createNode({ transports: [network.transport('node-0')], listen: ['memory:node-0'], channel: plainChannel(), ...fast })
    cleanups.push(async () => { await seed.stop() })
    await seed.start()
    await eventually(() => lone.peers().some(p => p.id === seed.id), 10_000, 'rejoined')
    expect(events).toEqual(['offline', 'online'])
    expect(lone.metrics.get('membership.rejoins')).toBeGreaterThanOrEqual(1)
  })

  it('heals a netsplit: two halves that lost each other merge back through the seed', async () => {
    const network = new MemoryNetwork()
    const t = await overlay(12, { network, node: () => ({ minPeers: 2, maxPeers: 4 }) })
    await eventually(() => overlayConnected(t.nodes) && t.nodes.every(n => n.overlay!.active.length >= 2), 15_000, 'overlay')
    const hosts = t.nodes.map((_n, i) => `node-${i}`)
    const left = hosts.slice(0, 6); const right = hosts.slice(6)
    network.partition(left, right)
    // links across the split die by failure detection; each side stays internally connected
    const leftNodes = t.nodes.slice(0, 6); const rightNodes = t.nodes.slice(6)
    const crossLinks = (): number => leftNodes.reduce((s, n) => s + n.peers().filter(p => rightNodes.some(r => r.id === p.id)).length, 0)
    await eventually(() => crossLinks() === 0, 15_000, 'split detected')
    network.heal()
    try {
      await eventually(() => overlayConnected(t.nodes), 20_000, 'one overlay again')
    } catch (err) {
      const ids = new Map(t.nodes.map((n, i) => [n.id, i]))
      console.log('VIEWS', t.nodes.map((n, i) => `${i}:${n.overlay!.active.map(a => ids.get(a)).join(',')} p=${n.overlay!.passive.map(a => ids.get(a)).join(',')} heals=${n.metrics.get('membership.heals')} peers=${n.peers().map(p => ids.get(p.id)).join(',')}`).join('\n'))
      throw err
    }
  })

  it('heals a split no failure revealed: two halves that formed apart merge once the network lets them (healthy seed probes, root labels)', async () => {
    const network = new MemoryNetwork()
    const hosts = Array.from({ length: 12 }, (_v, i) => `node-${i}`)
    // the right half never reaches the seed while it joins, so it forms an overlay of its own
    // around node-6; afterwards every node has minPeers or more and nobody lost a peer
    network.partition(hosts.slice(0, 6), hosts.slice(6))
    const t = await overlay(12, {
      network,
      node: (i) => ({ minPeers: 2, maxPeers: 4, plumtree: { rootIntervalMs: 200 }, seeds: i === 0 ? [] : i <= 6 ? ['memory:node-0'] : ['memory:node-0', 'memory:node-6'] })
    })
    const left = t.nodes.slice(0, 6); const right = t.nodes.slice(6)
    const roots = (ns: HearsayNode[]): Set<string | undefined> => new Set(ns.map(n => n.tree!.root))
    await waitOverlay(t, () => overlayConnected(left) && overlayConnected(right) && t.nodes.every(n => n.overlay!.active.length >= 2) &&
      roots(left).size === 1 && roots(right).size === 1 && !roots(t.nodes).has(undefined), 15_000, 'two overlays, one root each')
    expect(roots(t.nodes).size).toBe(2)
    network.heal()
    await waitOverlay(t, () => overlayConnected(t.nodes), 15_000, 'one overlay')
    await eventually(() => roots(t.nodes).size === 1, 15_000, 'one root')
    expect(t.nodes.reduce((a, n) => a + n.metrics.get('membership.seed-probes'), 0)).toBeGreaterThanOrEqual(1)
  })

  it('stop() with the overlay running leaves no timers behind', async () => {
    const t = await overlay(5)
    await eventually(() => t.nodes.every(n => n.peers().length > 0), 5000, 'joined')
    await t.stop()
    for (const n of t.nodes) expect(n.lifetimeTimers.size).toBe(0)
    await eventually(() => t.network.openConnections === 0, 2000, 'links closed')
  })
})


describe('stop hooks', () => {
  it('dozens of announces waiting at once add no listener to the lifetime signal (no MaxListeners warning), and stop() ends them all', async () => {
    const t = await overlay(2)
    await eventually(() => t.nodes[1]!.peers().length === 1)
    const warnings: Error[] = []
    const onWarning = (w: Error): void => { warnings.push(w) }
    process.on('warning', onWarning)
    try {
      // each async function runs up to its first await here: all 30 are waiting before stop()
      const waits = Array.from({ length: 30 }, async (_, i) => await collect(t.nodes[1]!.announce({ type: `nobody-answers-${i}`, data: i, timeout: 60_000 })))
      await t.nodes[1]!.stop()
      const replies = await Promise.all(waits)
      expect(replies.every(r => r.length === 0)).toBe(true)
      await new Promise(resolve => setImmediate(resolve))
      expect(warnings.filter(w => w.name === 'MaxListenersExceededWarning')).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })
})
