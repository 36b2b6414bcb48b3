import { describe, it } from 'vitest'
import { nodeOverTransportCompliance } from '@hearsay/core/compliance'
import { tcp } from '../src/index.js'

describe('nodes over real TCP on 127.0.0.1', () => {
  for (const c of nodeOverTransportCompliance({ create: () => tcp(), listenAddress: 'tcp://127.0.0.1:0' })) it(c.name, c.fn, 60_000)
})
