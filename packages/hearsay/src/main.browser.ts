/**
 * `hearsay` for browsers: `hearsay/lite` (WebSocket client, IndexedDB, everything of
 * `@hearsay/core`) plus WebRTC by default: `createNode()` dials `webrtc:<peerId>` through the
 * overlay and accepts offers, so browsers that learn of each other connect directly.
 * `hearsay/lite` is the same without WebRTC (a smaller bundle).
 */
import type { allServices, HearsayNode, Service, ServiceMap } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { webRTC } from '@hearsay/transport-webrtc'
import { createNode as createLiteNode } from './index.browser.js'
import { withAllServices, withWebRTC } from './with-webrtc.js'
import type { HearsayOptions } from './with-webrtc.js'

export * from './index.browser.js'
export { webRTC, WEBRTC_DEFAULTS } from '@hearsay/transport-webrtc'
export type { WebRTCInit, RtcConfiguration, RtcIceServer } from '@hearsay/transport-webrtc'
export type { HearsayOptions }

/**
 * Creates a node with every service (`services` default `allServices()`: `node.state`,
 * `node.events`, peer streams, broadcast streams): `hearsay/lite`'s `createNode()` (IndexedDB store, `defaultProtocol` `'ws'`)
 * with the transports `[webSockets(), webRTC(options.webrtc)]`, listening on `webrtc:*`.
 */
export function createNode<const S extends readonly Service[] = ReturnType<typeof allServices>> (options: HearsayOptions & { services?: S } = {}): HearsayNode<ServiceMap<S>> {
  return createLiteNode(withWebRTC(withAllServices(options), () => [webSockets()], webRTC)) as HearsayNode<ServiceMap<S>>
}
