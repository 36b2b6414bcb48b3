/// <reference path="./simple-peer.d.ts" />
/**
 * `@hearsay/transport-webrtc` for Node.js: simple-peer over node-datachannel (a native module
 * with prebuilt binaries). It is loaded when the node starts the transport, so a missing or
 * broken native module fails `start()` with a clear `UnsupportedError` instead of the import.
 */
import { UnsupportedError } from '@hearsay/core'
import type { Transport } from '@hearsay/core'
import type { WebRTCInit } from './options.js'
import type { PeerConstructor } from './peer-types.js'
import { createWebRTC } from './transport.js'

export type { WebRTCInit }
export { WEBRTC_DEFAULTS } from './options.js'

/** Loads simple-peer (and with it node-datachannel); rejects with `UnsupportedError` if it cannot. */
export async function loadPeer (): Promise<PeerConstructor> {
  try {
    const mod = await import('@thaunknown/simple-peer/lite.js')
    return mod.default as PeerConstructor
  } catch (err) {
    const e = new UnsupportedError(`WebRTC is not available in this Node.js: node-datachannel could not be loaded (${err instanceof Error ? err.message : String(err)})`)
    ;(e as { cause?: unknown }).cause = err
    throw e
  }
}

/** A WebRTC transport: dial `webrtc:<peerId>`, listen on `webrtc:*`; signals through the node's overlay. */
export function webRTC (init: WebRTCInit = {}): Transport {
  return createWebRTC(loadPeer, init)
}
