/**
 * A node keeps nothing of a peer once it has gone: no Peer, link or connection object stays
 * reachable after the link closed (a relay sees every stranger come and go; the abuse bench found
 * a timer holding each disconnected Peer for a minute, issue 18).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, MemoryNetwork } from '../src/index.js'
import type { HearsayNode } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'
import { fullGc } from './gc.js'

const nodes: HearsayNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

describe('memory after peers leave', () => {
  it('a relay offering ICE servers holds no Peer, link or connection of peers that disconnected', async () => {
    const net = new MemoryNetwork()
    const relay = createNode({ transports: [net.transport('relay')], listen: ['memory:relay'], overlay: false, offerIceServers: () => [{ scheme: 'stun', port: 3478 }] })
    nodes.push(relay)
    await relay.start()
    const refs: Array<WeakRef<object>> = []
    // in a function of its own: a variable of the test's own (suspended) frame would keep the last Peer
    const visit = async (i: number): Promise<void> => {
      const page = createNode({ transports: [net.transport(`page-${i}`)], overlay: false })
      await page.start()
      await page.dial('memory:relay')
      await eventually(() => relay.getPeer(page.id) !== undefined, 2000, 'the relay links the page')
      await eventually(() => relay.metrics.get('ice.offers-sent') > i, 2000, 'the relay offers its servers')
      const peer = relay.getPeer(page.id)!
      refs.push(new WeakRef(peer), new WeakRef(peer.link.conn))
      await page.stop()
      await eventually(() => relay.getPeer(page.id) === undefined, 2000, 'the relay drops the page')
    }
    for (let i = 0; i < 5; i++) await visit(i)
    // a WeakRef keeps its target alive until the current job ends
    await new Promise(resolve => setImmediate(resolve))
    fullGc()
    expect(refs.map((r, i) => r.deref() === undefined ? -1 : i).filter(i => i >= 0)).toEqual([])
  })
})
