import { describe, expect, it } from 'vitest'
import { transportCompliance, peerStoreCompliance } from '../src/testing/compliance/index.js'
import { MemoryNetwork, memoryStore } from '../src/index.js'

describe('memory transport: compliance', () => {
  const network = new MemoryNetwork()
  let n = 0
  for (const c of transportCompliance({
    create: () => network.transport(),
    listenAddress: () => `memory:listener-${n++}`,
    deadAddress: () => 'memory:nobody-here',
    invalidAddress: 'memory:'
  })) it(c.name, c.fn)
})

describe('memoryStore: compliance', () => {
  let n = 0
  for (const c of peerStoreCompliance({
    open: async ({ now, tombstoneMs }) => memoryStore({ now, tombstoneMs }),
    location: () => `loc-${n++}`,
    supports: { persistence: false }
  })) it(c.name, c.fn)
})

describe('memory network fidelity', () => {
  it('a close does not cross a partition: the far end stays open until it finds out by itself', async () => {
    const { MemoryNetwork } = await import('../src/index.js')
    const net = new MemoryNetwork()
    const accepted: Array<import('../src/index.js').Connection> = []
    await net.transport('a').listen('memory:a', c => accepted.push(c))
    const c = await net.transport('b').dial('memory:a')
    const closes: string[] = []
    c.setHandlers({ onMessage: () => {}, onClose: () => closes.push('b') })
    await new Promise(resolve => setTimeout(resolve, 0))
    accepted[0]!.setHandlers({ onMessage: () => {}, onClose: () => closes.push('a') })
    net.partition(['a'], ['b'])
    accepted[0]!.close()
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(closes).toEqual(['a'])
    expect(c.closed).toBe(false)
    net.heal()
    c.close()
    expect(closes).toEqual(['a', 'b'])
  })
})
