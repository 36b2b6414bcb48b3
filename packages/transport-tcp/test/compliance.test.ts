import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'vitest'
import { transportCompliance } from '@hearsay/core/compliance'
import { tcp } from '../src/index.js'

/** A port that was just opened and closed, so nothing listens there. */
async function deadPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

const dead = await deadPort()

describe('tcp transport: compliance', () => {
  for (const c of transportCompliance({
    create: () => tcp(),
    listenAddress: () => 'tcp://127.0.0.1:0',
    deadAddress: () => `tcp://127.0.0.1:${dead}`,
    invalidAddress: 'tcp://127.0.0.1'
  })) it(c.name, c.fn)
})
