import { describe, it } from 'vitest'
import { transportCompliance, peerStoreCompliance } from '../src/compliance/index.js'
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
