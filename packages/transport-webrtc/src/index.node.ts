/**
 * `@hearsay/transport-webrtc` for Node.js: the W3C API of node-datachannel (its
 * `node-datachannel/polyfill` entry; libdatachannel, a native module whose binaries come in its
 * npm packages). It is loaded when a node starts the transport, so a missing or broken native
 * module fails `start()` with a clear `UnsupportedError` instead of the import.
 */
import { UnsupportedError } from '@hearsay/core'
import type { Transport } from '@hearsay/core'
import type { WebRTCInit } from './options.js'
import type { PeerConstructor } from './peer-types.js'
import { rtcPeer } from './rtc-peer.js'
import type { RtcConfiguration, RtcPeerConnectionConstructor } from './rtc-types.js'
import { createWebRTC } from './transport.js'

export type { WebRTCInit }
export type { CandidatePair, RtcConfiguration, RtcIceServer } from './rtc-types.js'
export { WEBRTC_DEFAULTS } from './options.js'

/** The module that gives Node its `RTCPeerConnection` (an optional dependency: it is native). */
export const NODE_WEBRTC_MODULE = 'node-datachannel/polyfill'

/** Loads node-datachannel's `RTCPeerConnection`; rejects with `UnsupportedError` if it cannot. */
export async function loadPeer (): Promise<PeerConstructor> {
  let mod: { RTCPeerConnection?: unknown }
  try {
    // a variable specifier: bundlers and type checkers leave the native module alone
    const specifier: string = NODE_WEBRTC_MODULE
    mod = await import(specifier) as { RTCPeerConnection?: unknown }
  } catch (err) {
    const e = new UnsupportedError(`WebRTC is not available in this Node.js: node-datachannel could not be loaded (${err instanceof Error ? err.message : String(err)})`)
    ;(e as { cause?: unknown }).cause = err
    throw e
  }
  if (typeof mod.RTCPeerConnection !== 'function') throw new UnsupportedError('WebRTC is not available in this Node.js: node-datachannel/polyfill has no RTCPeerConnection')
  const Base = mod.RTCPeerConnection as RtcPeerConnectionConstructor
  // node-datachannel writes a TURN server's username and credential into a URL
  // (`turn:user:pass@host`) unescaped, and libdatachannel reads the username up to the first
  // `:`: a coturn REST username (`expiry:peerId`) or a base64 credential would be cut. Escaped,
  // libdatachannel decodes them back.
  return rtcPeer(class extends (Base as new (config?: RtcConfiguration) => InstanceType<RtcPeerConnectionConstructor>) {
    constructor (config?: RtcConfiguration) { super(escapeCredentials(config)) }
  } as RtcPeerConnectionConstructor)
}

/** `config` with each ICE server's username and credential percent-encoded (see `loadPeer`). */
export function escapeCredentials (config: RtcConfiguration | undefined): RtcConfiguration | undefined {
  if (config?.iceServers === undefined) return config
  return {
    ...config,
    iceServers: config.iceServers.map(s => ({
      ...s,
      ...(s.username === undefined ? {} : { username: encodeURIComponent(s.username) }),
      ...(s.credential === undefined ? {} : { credential: encodeURIComponent(s.credential) })
    }))
  }
}

/** A WebRTC transport: dial `webrtc:<peerId>`, listen on `webrtc:*`; signals through the node's overlay. */
export function webRTC (init: WebRTCInit = {}): Transport {
  return createWebRTC(loadPeer, init)
}
