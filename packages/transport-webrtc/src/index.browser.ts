/**
 * `@hearsay/transport-webrtc` for browsers: the browser's own `RTCPeerConnection`. No Node
 * built-ins, no shims, no native module.
 */
import { UnsupportedError } from '@hearsay/core'
import type { Transport } from '@hearsay/core'
import type { WebRTCInit } from './options.js'
import type { PeerConstructor } from './peer-types.js'
import { rtcPeer } from './rtc-peer.js'
import type { RtcPeerConnectionConstructor } from './rtc-types.js'
import { createWebRTC } from './transport.js'

export type { WebRTCInit }
export type { CandidatePair, RtcConfiguration, RtcIceServer } from './rtc-types.js'
export { WEBRTC_DEFAULTS } from './options.js'

/** The page's `RTCPeerConnection`; rejects with `UnsupportedError` where there is none. */
export async function loadPeer (): Promise<PeerConstructor> {
  const RTCPeerConnection = (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection
  if (typeof RTCPeerConnection !== 'function') throw new UnsupportedError('WebRTC is not available here: no RTCPeerConnection')
  return rtcPeer(RTCPeerConnection as RtcPeerConnectionConstructor)
}

/** A WebRTC transport: dial `webrtc:<peerId>`, listen on `webrtc:*`; signals through the node's overlay. */
export function webRTC (init: WebRTCInit = {}): Transport {
  return createWebRTC(loadPeer, init)
}
