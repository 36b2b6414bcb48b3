/**
 * Signals the WebRTC transport cannot use are counted in the node's metrics, never dropped
 * without a trace: a candidate or answer for a session that ended here, a signal from a peer
 * that is not the session's, malformed signal data, and a failure for a session that is gone.
 * A fake peer stands in for WebRTC (no namespace needed).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, overlaySignalling } from '@hearsay/core'
import type { HearsayNode, Signal, SignalFailure } from '@hearsay/core'
import type { PeerConstructor } from '../src/peer-types.js'
import { createWebRTC } from '../src/transport.js'

const nodes: HearsayNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

const Fake = class {
  destroyed = false
  readonly bufferSize = 0
  on (): this { return this }
  signal (): void {}
  send (): void {}
  destroy (): void { this.destroyed = true }
} as unknown as PeerConstructor

const OTHER = 'a'.repeat(52)
const THIRD = 'b'.repeat(52)

describe('WebRTC signals the transport cannot use', () => {
  it('are counted under drops.* in the node that carries the transport', async () => {
    const transport = createWebRTC(async () => Fake, {})
    const node = createNode({ signalling: overlaySignalling(), overlay: false, transports: [transport], listen: ['webrtc:*'] })
    nodes.push(node)
    await node.start()
    const t = transport as unknown as { onSignal: (s: Signal) => void, onFailure: (f: SignalFailure) => void }
    const candidate = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMLineIndex: 0, sdpMid: '0' } }
    t.onSignal({ from: OTHER, session: 'ended', data: candidate })
    t.onSignal({ from: OTHER, session: 'ended', data: { type: 'answer', sdp: 'v=0' } })
    t.onSignal({ from: OTHER, session: 'x', data: { type: 'offer' } })
    t.onFailure({ from: OTHER, session: 'ended', code: 'unreachable' })
    // an offer opens an inbound session; the same session id from another peer is refused
    t.onSignal({ from: OTHER, session: 'live', data: { type: 'offer', sdp: 'v=0' } })
    t.onSignal({ from: THIRD, session: 'live', data: candidate })
    expect(node.metrics.get('drops.rtc-signal-unknown-session')).toBe(2)
    expect(node.metrics.get('drops.rtc-signal-invalid')).toBe(1)
    expect(node.metrics.get('drops.rtc-failure-unknown-session')).toBe(1)
    expect(node.metrics.get('drops.rtc-signal-foreign-session')).toBe(1)
  })
})
