/**
 * The transport compliance suite over WebRTC in Node (node-datachannel): two transports whose
 * nodes signal through a third (a relay on a memory network), inside the test's network namespace.
 */
import { afterAll, beforeAll, describe, it } from 'vitest'
import { transportCompliance } from '@hearsay/core/compliance'
import { inNetns, SignalNet } from './helpers.js'

describe.skipIf(!inNetns)('WebRTC transport (Node): compliance', () => {
  let net: SignalNet
  let dead = ''
  beforeAll(async () => {
    net = await new SignalNet().start()
    // a peer the relay knows that has a WebRTC transport but does not listen: offers are refused
    const silent = await net.member({ listen: [] })
    dead = `webrtc:${silent.node.id}`
  })
  afterAll(async () => { await net.stop() })

  for (const c of transportCompliance({
    create: async () => (await net.member()).transport,
    listenAddress: () => 'webrtc:*',
    deadAddress: () => dead,
    invalidAddress: 'webrtc:not-a-peer-id'
  })) it(c.name, c.fn)
})
