/**
 * `hearsay` for Node.js: `hearsay/lite` (WebSocket, TCP, LevelDB, everything of
 * `@hearsay/core`) plus WebRTC when node-datachannel is installed (an optional dependency,
 * loaded when the node starts; without it the node runs without WebRTC and warns). Electron:
 * the main process takes this entry, renderers the browser one.
 */
import type { allServices, HearsayNode, Service, ServiceMap } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { tcp } from '@hearsay/transport-tcp'
import { createNode as createLiteNode } from './index.node.js'
import { optionalWebRTC } from './webrtc-optional.node.js'
import { networkChanges } from './network-changes.node.js'
import { withAllServices, withWebRTC } from './with-webrtc.js'
import type { HearsayOptions } from './with-webrtc.js'

export * from './index.node.js'
export { optionalWebRTC, NO_WEBRTC_WARNING } from './webrtc-optional.node.js'
export { webRTC, WEBRTC_DEFAULTS } from '@hearsay/transport-webrtc'
export type { WebRTCInit, RtcConfiguration, RtcIceServer } from '@hearsay/transport-webrtc'
export type { HearsayOptions }

/**
 * Creates a node with every service (`services` default `allServices()`: `node.state`,
 * `node.events`, peer streams, broadcast streams): `hearsay/lite`'s `createNode()` (LevelDB store in `./.hearsay` by default)
 * with the transports `[webSockets(), tcp(), optionalWebRTC(options.webrtc)]`, listening on
 * `webrtc:*` besides `listen`. `pageLifecycle` defaults to `networkChanges()` (Node has no page:
 * an interface change re-checks every link, as `online` does in a page).
 */
export function createNode<const S extends readonly Service[] = ReturnType<typeof allServices>> (options: HearsayOptions & { services?: S } = {}): HearsayNode<ServiceMap<S>> {
  const life = options.pageLifecycle
  const platform = { ...options, pageLifecycle: life === undefined || life === true ? networkChanges() : life }
  return createLiteNode(withWebRTC(withAllServices(platform), () => [webSockets(), tcp()], optionalWebRTC)) as HearsayNode<ServiceMap<S>>
}
