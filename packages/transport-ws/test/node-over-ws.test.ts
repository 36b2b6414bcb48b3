import { describe, it } from 'vitest'
import { nodeOverTransportCompliance } from '@hearsay/core/compliance'
import { webSockets } from '../src/index.node.js'

describe('nodes over real WebSockets on 127.0.0.1', () => {
  for (const c of nodeOverTransportCompliance({ create: () => webSockets(), listenAddress: 'ws://127.0.0.1:0' })) it(c.name, c.fn, 60_000)
})
