import { afterEach, describe, expect, it } from 'vitest'
import { createNode } from '@hearsay/core'
import type { HearsayNode, NodeOptions } from '@hearsay/core'
import { webSockets } from '../src/index.node.js'

const nodes: HearsayNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

async function start (opts: NodeOptions = {}): Promise<HearsayNode> {
  const n = createNode({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], shuffleInterval: 200, heartbeatInterval: 100, ...opts })
  nodes.push(n)
  await n.start()
  return n
}
function until (check: () => boolean, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const poll = (): void => { if (check()) resolve(); else if (Date.now() - started > ms) reject(new Error('timed out')); else setTimeout(poll, 10) }
    poll()
  })
}

function oneComponent (all: HearsayNode[]): boolean {
  const byId = new Map(all.map(n => [n.id, n]))
  const seen = new Set([all[0]!.id])
  const queue = [all[0]!]
  while (queue.length > 0) {
    for (const id of queue.pop()!.overlay!.active) {
      const m = byId.get(id)
      if (m !== undefined && !seen.has(id)) { seen.add(id); queue.push(m) }
    }
  }
  return seen.size === all.length
}

describe('nodes over real WebSockets on 127.0.0.1', () => {
  it('authenticate, exchange messages both ways and ping', async () => {
    const a = await start()
    const b = await start()
    const peer = await b.dial(a.addresses[0]!)
    expect(peer.id).toBe(a.id)
    await until(() => a.getPeer(b.id) !== undefined)
    const got: string[] = []
    a.on('message', ({ from, data }) => got.push(`a<${from.id === b.id ? 'b' : '?'}:${String(data)}`))
    b.on('message', ({ from, data }) => got.push(`b<${from.id === a.id ? 'a' : '?'}:${String(data)}`))
    peer.send('chat', 'hi a')
    a.getPeer(b.id)!.send('chat', 'hi b')
    await until(() => got.length === 2)
    expect(got.sort()).toEqual(['a<b:hi a', 'b<a:hi b'])
    expect(await b.ping(a.id)).toBeGreaterThanOrEqual(0)
  })

  it('a wrong network key fails the handshake; the listener counts it and keeps serving', async () => {
    const a = await start({ networkKey: 'k1' })
    const bad = await start({ networkKey: 'k2' })
    const good = await start({ networkKey: 'k1' })
    await expect(bad.dial(a.addresses[0]!, { timeout: 2000 })).rejects.toMatchObject({ code: 'ERR_HANDSHAKE' })
    await until(() => a.metrics.get('handshake.failures') === 1)
    expect((await good.dial(a.addresses[0]!)).id).toBe(a.id)
  })

  it('simultaneous dials in both directions end with one link that both sides agree on', async () => {
    const a = await start({ overlay: false })
    const b = await start({ overlay: false })
    await Promise.all([a.dial(b.addresses[0]!), b.dial(a.addresses[0]!)])
    await until(() => a.peers().length === 1 && b.peers().length === 1 && a.peers()[0]!.link.linkId === b.peers()[0]!.link.linkId)
    expect(a.metrics.get('links.duplicate') + b.metrics.get('links.duplicate')).toBeGreaterThanOrEqual(1)
  })

  it('an overlay of 8 nodes forms through one seed and announces reach everyone', async () => {
    // production timings: a 10 s shuffle, so links do not churn under the replies
    const timing = { minPeers: 2, maxPeers: 4, shuffleInterval: 10_000, heartbeatInterval: 1000 }
    const seed = await start(timing)
    const rest = await Promise.all(Array.from({ length: 7 }, async () => await start({ ...timing, seeds: [seed.addresses[0]!] })))
    await until(() => [seed, ...rest].every(n => (n.overlay?.active.length ?? 0) >= 2) && oneComponent([seed, ...rest]), 15_000)
    // replies follow the reverse path, so announce on a settled overlay: no view change for 1 s
    const views = (): string => [seed, ...rest].map(n => [...n.overlay!.active].sort().join(',')).join(';')
    let last = views(); let quietSince = Date.now()
    await until(() => { const v = views(); if (v !== last) { last = v; quietSince = Date.now() } return Date.now() - quietSince > 1000 }, 15_000)
    for (const n of [seed, ...rest]) n.on('request', (req) => { req.reply(n.id) })
    const replies: string[] = []
    for await (const r of rest[3]!.announce({ type: 'roll-call', timeout: 2000, maxReplies: 7 })) replies.push(r.data as string)
    expect(new Set(replies).size).toBe(7)
  })

  it('stop() closes every socket: the peer sees the disconnect and the port refuses dials', async () => {
    const a = await start()
    const b = await start()
    await b.dial(a.addresses[0]!)
    const gone = new Promise(resolve => b.once('peer:disconnect', resolve))
    const addr = a.addresses[0]!
    await a.stop()
    await gone
    await expect(b.dial(addr, { timeout: 2000 })).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
  })
})
