import { afterAll, describe, expect, it } from 'vitest'
import { createNode, createTestnet, MemoryNetwork } from '@hearsay/core'
import { levelStore } from '../src/index.js'
import { tempDirs } from './helpers.js'

const tmp = tempDirs()
afterAll(() => { tmp.cleanup() })

describe('a node on a level store', () => {
  it('keeps its peer id across restarts (a new process would open the same directory)', async () => {
    const location = tmp.dir()
    const network = new MemoryNetwork()
    const a = createNode({ store: levelStore({ location }), closeStore: true, transports: [network.transport()] })
    await a.start()
    const id = a.id
    await a.stop()
    const b = createNode({ store: levelStore({ location }), closeStore: true, transports: [network.transport()] })
    await b.start()
    expect(b.id).toBe(id)
    await b.stop()
  })

  it('writes dial outcomes through its batching and they survive a re-open', async () => {
    const location = tmp.dir()
    const store = levelStore({ location })
    const t = await createTestnet(2, { topology: 'none', node: (i) => i === 1 ? { store, closeStore: true, overlay: false } : { overlay: false } })
    try {
      await t.nodes[1]!.dial('memory:node-0')
      await expect(t.nodes[1]!.dial('memory:nobody')).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
    } finally { await t.stop() }
    const again = levelStore({ location })
    try {
      expect((await again.getStats('memory:node-0')).connections.ok).toBe(1)
      expect((await again.getStats('memory:nobody')).connections.fail).toBe(1)
      const rows = []
      for await (const r of again.known()) rows.push(r)
      expect(rows.find(r => r.address === 'memory:node-0')?.peerId).toBe(t.nodes[0]!.id)
    } finally { await again.close() }
  })
})
