/**
 * The relay's LevelDB store (`--data`): a graceful stop writes what is pending and closes the
 * database; a restart on the same directory keeps the identity; a second relay on the same
 * directory is refused without leaving anything behind.
 */
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { identityFromSecretKey } from '@hearsay/core'
import type { PeerRecord } from '@hearsay/core'
import { levelStore } from '@hearsay/store-level'
import { startRelay } from '../src/relay.js'
import { cleanup, nextEvent, tempDir, testNode, testRelay } from './helpers.js'

afterEach(cleanup)

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

describe('relay store', () => {
  it('stop writes the pending stats and closes the store; a restart on the same directory keeps the peer id', async () => {
    const data = tempDir()
    const seed = await testNode({ listen: ['tcp://127.0.0.1:0'] })
    const seedAddress = seed.addresses[0]!
    const joined = nextEvent(seed, 'peer:connect')
    const relay = await testRelay({ data, seeds: [seedAddress] })
    expect((await joined).id).toBe(relay.node.id)
    const id = relay.node.id
    // stop right away: the dial-ok event is still waiting for the batched write (1 s) unless stop flushes it
    await relay.stop()
    expect(relay.node.status).toBe('stopped')

    // the store is closed (LevelDB's lock released) and holds the identity and the seed's record
    const store = levelStore({ location: data })
    try {
      const key = await store.getIdentity()
      expect(key).toBeInstanceOf(Uint8Array)
      expect(identityFromSecretKey(key!).id).toBe(id)
      const known: PeerRecord[] = []
      for await (const r of store.known()) known.push(r)
      const record = known.find(r => r.address === seedAddress)
      expect(record, JSON.stringify(known)).toBeDefined()
      expect(record!.peerId).toBe(seed.id)
      expect(record!.stats.connections.ok).toBeGreaterThanOrEqual(1)
    } finally {
      await store.close()
    }

    const again = await testRelay({ data })
    expect(again.node.id).toBe(id)
    expect(again.log.find(l => l.msg === 'relay ready')).toMatchObject({ id, data })
  })

  it('a second relay on the same directory fails to start with ERR_STORE and frees its port', async () => {
    const data = tempDir()
    await testRelay({ data })
    const port = await freePort()
    const lines: string[] = []
    await expect(startRelay({ host: '127.0.0.1', port, seeds: [], logLevel: 'warn', data }, { write: l => { lines.push(l) } }))
      .rejects.toMatchObject({ code: 'ERR_STORE' })
    expect(lines.some(l => l.includes('relay ready'))).toBe(false)
    // nothing is left listening on the port it took
    const server = createServer()
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
    await new Promise(resolve => server.close(resolve))
  })
})
