/**
 * Whole nodes over WebRTC (node-datachannel), signalling through a relay node on a memory
 * network: the shared node-over-transport suite, inside the test's network namespace.
 */
import { afterAll, beforeAll, describe, it } from 'vitest'
import { nodeOverTransportCompliance } from '@hearsay/core/compliance'
import { webRTC } from '../src/index.node.js'
import { inNetns, RELAY, SignalNet } from './helpers.js'

describe.skipIf(!inNetns)('nodes over WebRTC, signalled through a relay', () => {
  let net: SignalNet
  // the relay takes part in the overlay too, with room for every node of the suite
  beforeAll(async () => { net = await new SignalNet({ overlay: true, maxPeers: 16 }).start() })
  afterAll(async () => { await net.stop() })

  for (const c of nodeOverTransportCompliance({
    create: () => webRTC(),
    listenAddress: 'webrtc:*',
    signalling: {
      transports: () => [net.network.transport()],
      seeds: () => [RELAY],
      ready: async (node) => { await net.connected(node) },
      members: () => [net.relay]
    }
  })) it(c.name, c.fn, 60_000)
})
