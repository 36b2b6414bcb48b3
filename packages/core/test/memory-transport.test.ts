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

describe('memory network: frame copies', () => {
  async function firstFrame (net: MemoryNetwork, frame: Uint8Array, afterSend: () => void): Promise<Uint8Array> {
    let accepted!: (f: Uint8Array) => void
    const got = new Promise<Uint8Array>((resolve) => { accepted = resolve })
    await net.transport('a').listen('memory:a', (c) => { c.setHandlers({ onMessage: accepted, onClose: () => {} }) })
    const c = await net.transport('b').dial('memory:a')
    c.send(frame)
    afterSend()
    const f = await got
    c.close()
    return f
  }

  it('copies every frame by default: a sender reusing its buffer does not change a frame in flight', async () => {
    const frame = Uint8Array.of(1, 2, 3)
    const got = await firstFrame(new MemoryNetwork(), frame, () => { frame[0] = 9 })
    expect(got).not.toBe(frame)
    expect([...got]).toEqual([1, 2, 3])
  })

  it('with copyFrames: false (the simulator) the receiver gets the very frame that was sent', async () => {
    const frame = Uint8Array.of(1, 2, 3)
    const got = await firstFrame(new MemoryNetwork({ copyFrames: false }), frame, () => {})
    expect(got).toBe(frame)
  })
})
