/// <reference path="./simple-peer.d.ts" />
/**
 * `@hearsay/transport-webrtc` for browsers: the browser's own `RTCPeerConnection` through
 * simple-peer. No Node built-ins, no Buffer/process shims.
 */
import Peer from '@thaunknown/simple-peer/lite.js'
import type { Transport } from '@hearsay/core'
import type { WebRTCInit } from './options.js'
import type { PeerConstructor } from './peer-types.js'
import { createWebRTC } from './transport.js'

export type { WebRTCInit }
export { WEBRTC_DEFAULTS } from './options.js'

/** A WebRTC transport: dial `webrtc:<peerId>`, listen on `webrtc:*`; signals through the node's overlay. */
export function webRTC (init: WebRTCInit = {}): Transport {
  return createWebRTC(async () => Peer as PeerConstructor, init)
}
