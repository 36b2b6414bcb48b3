/**
 * Several relays form one network as ordinary peers (`--seeds`): they become overlay neighbours,
 * see each other on their status reports, and a broadcast from a client of one reaches a client
 * of another, through both relays.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '@hearsay/core'
import type { InboundMessage } from '@hearsay/core'
import { RELAY_MAX_PEERS } from '../src/config.js'
import type { StatusReport } from '../src/status.js'
import { addressOf, cleanup, nextEvent, testNode, testRelay } from './helpers.js'

afterEach(cleanup)

describe('relays joining each other', () => {
  it('two relays become overlay neighbours over TCP and carry a broadcast between their clients', async () => {
    const a = await testRelay()
    const b = await testRelay({ seeds: [addressOf(a, 'tcp')] })
    await expect.poll(() => a.node.overlay?.active.includes(b.node.id) === true && b.node.overlay?.active.includes(a.node.id) === true, { timeout: 10_000 }).toBe(true)
    const report = await (await fetch(`${a.url}/status.json`)).json() as StatusReport
    expect(report.peers.find(p => p.id === b.node.id)).toMatchObject({ active: true, direction: 'inbound' })

    const alice = await testNode({ seeds: [addressOf(a, 'ws')] })
    const bob = await testNode({ seeds: [addressOf(b, 'ws')] })
    await expect.poll(() => a.node.overlay?.active.includes(alice.id) === true && b.node.overlay?.active.includes(bob.id) === true, { timeout: 10_000 }).toBe(true)
    const heard = new Promise<InboundMessage>((resolve) => { bob.route('chat', (msg) => { resolve(msg) }) })
    alice.broadcast('chat', { nick: 'alice', text: 'across relays', at: 1 })
    const msg = await heard
    expect(msg).toMatchObject({ origin: alice.id, via: 'broadcast', data: { text: 'across relays' } })
    expect(msg.hops).toBeGreaterThanOrEqual(2)
    expect(a.log.filter(l => l.level === 'error')).toEqual([])
    expect(b.log.filter(l => l.level === 'error')).toEqual([])
  })

  it('three relays seeded in a chain all end up in one overlay; a relay that leaves is dropped by the others', async () => {
    const a = await testRelay()
    const b = await testRelay({ seeds: [addressOf(a, 'tcp')] })
    const c = await testRelay({ seeds: [addressOf(b, 'ws')] })
    const linked = (x: typeof a, y: typeof a): boolean => x.node.peers().some(p => p.id === y.node.id)
    await expect.poll(() => linked(c, b) && linked(b, a), { timeout: 10_000 }).toBe(true)
    const gone = nextEvent(b.node, 'peer:disconnect', d => d.peer.id === c.node.id)
    await c.stop()
    await gone
    expect(b.node.peers().map(p => p.id)).not.toContain(c.node.id)
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200)
  })

  it('keeps more overlay clients without listen addresses (browsers) than the core default maxPeers, all in its active view', async () => {
    expect(RELAY_MAX_PEERS).toBeGreaterThan(DEFAULTS.maxPeers)
    const relay = await testRelay()
    const count = DEFAULTS.maxPeers + 4
    const clients = await Promise.all(Array.from({ length: count }, async () => await testNode({ seeds: [addressOf(relay, 'ws')] })))
    // with core's 12, each join past the 12th evicts a client, which rejoins and evicts another: never all at once
    await expect.poll(() => clients.every(c => relay.node.overlay?.active.includes(c.id) === true), { timeout: 20_000 }).toBe(true)
    expect(relay.node.metrics.get('peers.disconnected')).toBe(0)
  })
})
