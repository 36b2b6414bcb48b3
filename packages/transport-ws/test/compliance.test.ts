import { beforeAll, describe, it } from 'vitest'
import { transportCompliance } from '@hearsay/core/compliance'
import { webSockets } from '../src/index.node.js'
import { deadPort } from './helpers.js'

describe('ws transport (Node): compliance', () => {
  let dead = 0
  beforeAll(async () => { dead = await deadPort() })
  for (const c of transportCompliance({
    create: () => webSockets(),
    listenAddress: () => 'ws://127.0.0.1:0',
    deadAddress: () => `ws://127.0.0.1:${dead}`,
    invalidAddress: 'ws://'
  })) it(c.name, c.fn)
})
