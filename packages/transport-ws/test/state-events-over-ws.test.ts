/**
 * Replicated state and the event bus over real WebSockets on 127.0.0.1 with the secure
 * channel and signed ownership: convergence, restart with the persisted incarnation, a forged
 * update refused, events with wildcards and self-exclusion, a late joiner.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, memoryStore } from '@hearsay/core'
import type { HearsayNode, NodeOptions, PeerStore } from '@hearsay/core'
import { assert } from '@hearsay/core/compliance'
import { webSockets } from '../src/index.node.js'

const { eventually } = assert
const nodes: HearsayNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

const fast: NodeOptions = { shuffleInterval: 300, heartbeatInterval: 100, rejoinDelay: 100, rejoinMaxDelay: 500, healInterval: 500, minPeers: 2, maxPeers: 4, state: { gossipInterval: 50, sweepInterval: 50 } }

async function start (o: NodeOptions = {}): Promise<HearsayNode> {
  const n = createNode({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], ...fast, ...o })
  nodes.push(n)
  await n.start()
  return n
}

async function overlay (n: number): Promise<HearsayNode[]> {
  const seed = await start()
  const all = [seed]
  for (let i = 1; i < n; i++) all.push(await start({ seeds: [seed.addresses[0]!] }))
  await eventually(() => all.every(x => x.overlay!.active.length >= 2), 20_000, 'overlay')
  return all
}

describe('state and events over real WebSockets (secure channel, signed ownership)', () => {
  it('5 nodes × 20 keys converge; a restarted node with the same store is heard again', async () => {
    const store: PeerStore = memoryStore()
    const all = await overlay(4)
    const phoenix = await start({ store, seeds: [all[0]!.addresses[0]!] })
    const everyone = [...all, phoenix]
    everyone.forEach((n, i) => { for (let k = 0; k < 20; k++) n.state.set(`k:${k}`, { i, k }) })
    await eventually(() => everyone.every(n => everyone.every(o => n.state.keys(o.id).length === 20)), 20_000, 'converged')
    expect(all[0]!.state.getRemote(phoenix.id, 'k:7')).toEqual({ i: 4, k: 7 })
    const st = all[1]!.state.stats()
    expect(st.signatures).toBe(1)
    expect(st.verifications + st.directBatches).toBeLessThanOrEqual(4 * 2)
    const id = phoenix.id
    const inc = phoenix.state.incarnation
    await phoenix.stop()
    const again = await start({ store, seeds: [all[0]!.addresses[0]!] })
    expect(again.id).toBe(id)
    expect(again.state.incarnation).toBeGreaterThan(inc)
    again.state.set('k:7', 'after restart')
    await eventually(() => all.every(n => n.state.getRemote(id, 'k:7') === 'after restart'), 20_000, 'restarted node heard')
  })

  it('a forged update (tampered value) is refused and counted; events reach everyone else once', async () => {
    const [a, b, c] = await overlay(3) as [HearsayNode, HearsayNode, HearsayNode]
    const captured: unknown[] = []
    const send = a.context.send
    a.context.send = (peer, type, data) => { if (type === 'kv.delta') captured.push(structuredClone(data)); return send(peer, type, data) }
    a.state.set('role', 'user')
    await eventually(() => captured.length > 0 && c.state.getRemote(a.id, 'role') === 'user', 20_000, 'replicated')
    a.context.send = send
    const forged = structuredClone(captured[0]) as { g: Array<[string, unknown[], unknown[][]]> }
    for (const g of forged.g) for (const e of g[2]) { e[1] = (e[1] as number) + 1; e[2] = new Uint8Array([0xa5, 0x61, 0x64, 0x6d, 0x69, 0x6e]) } // "admin"
    const link = b.getPeer(c.id) ?? await b.dial(c.addresses[0]!)
    b.sendProtocol(link, 'kv.delta', forged)
    await eventually(() => c.metrics.get('drops.kv-bad-proof') >= 1, 10_000, 'forgery counted')
    expect(c.state.getRemote(a.id, 'role')).toBe('user')

    const heard: string[] = []
    for (const n of [a, b, c]) n.events.hear('chat.**', (data, from, e) => heard.push(`${n === a ? 'a' : n === b ? 'b' : 'c'}<${from === a.id ? 'a' : '?'}:${e.name}:${String(data)}`))
    const self: string[] = []
    a.events.hear('chat.*', (d) => self.push(String(d)), { self: true })
    a.events.say('chat.room:hello', 'hi all')
    await eventually(() => heard.length === 2, 10_000, 'heard')
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(heard.sort()).toEqual(['b<a:chat.room:hello:hi all', 'c<a:chat.room:hello:hi all'])
    expect(self).toEqual([])
    a.events.say('chat.direct', 'me too')
    expect(self).toEqual(['me too'])
  })

  it('a late joiner hears an event said within its duration', async () => {
    const all = await overlay(3)
    all[1]!.events.say('alert', { level: 3 }, { duration: 30_000 })
    await eventually(() => all[2]!.metrics.get('events.heard') === 1, 10_000, 'heard')
    const late = createNode({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], ...fast, seeds: [all[0]!.addresses[0]!] })
    nodes.push(late)
    const got = late.events.hearOnce('alert', { timeout: 15_000 })
    await late.start()
    expect(await got).toMatchObject({ data: { level: 3 }, from: all[1]!.id, hops: 0 })
  })
})
