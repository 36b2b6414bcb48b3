// The page of the NAT tests' Chromium case (nat.test.ts): served by the relay it joins through,
// with hearsay's browser bundle next to it. It configures no ICE server.
import { createNode } from './hearsay.min.js'

const node = createNode({ seeds: [`ws://${location.host}`], overlay: false, listen: ['webrtc:*'] })
window.hearsay = {
  node,
  /** Joined the relay, and the relay's ICE servers are in. */
  ready: () => node.peers().some(p => p.address.startsWith('ws:')) && node.metrics.get('ice.offers-received') > 0,
  async dial (to) {
    const started = performance.now()
    const peer = await node.dial(`webrtc:${to}`, { signal: AbortSignal.timeout(20_000) })
    const ms = performance.now() - started
    // the WebRTC connection under the secure channel (internal fields: this is a test)
    const conn = peer.link.conn.raw ?? peer.link.conn
    const pair = await conn.candidatePair()
    await node.hangUp(to)
    return { ms, pair }
  }
}
await node.start()
