import { withFullSdk } from '@hearsay/core'
import type { Transport } from '@hearsay/core'
import type { WebRTCInit } from '@hearsay/transport-webrtc'
import type { HearsayOptions as BaseOptions } from './options.js'

/** The options of `createNode()` from `hearsay`: those of `hearsay/lite`, plus `webrtc`. */
export interface HearsayOptions extends BaseOptions {
  /**
   * Options of the default WebRTC transport, or `false` to leave WebRTC out. With the default
   * transports the node also listens on `webrtc:*` (offers signalled through the overlay), so
   * peers that learn its id can connect to it directly. Ignored when `transports` is given.
   * @default {} (WebRTC on; in Node only when node-datachannel loads)
   */
  webrtc?: WebRTCInit | false
}

/** The listen addresses with `webrtc:*` added, unless a `webrtc:` address is there already. */
export function withWebRTCListen (listen: string[] | undefined): string[] {
  const list = listen ?? []
  return list.some(a => a.startsWith('webrtc:')) ? list : [...list, 'webrtc:*']
}

/**
 * The options a `hearsay/lite` createNode gets from the main entry: the platform's transports
 * plus WebRTC, listening for offers. Options that set `transports`, or `webrtc: false`, pass
 * through untouched (minus `webrtc`).
 */
export function withWebRTC (options: HearsayOptions, base: () => Transport[], webrtc: (init: WebRTCInit) => Transport): BaseOptions {
  const { webrtc: init, ...rest } = options
  if (init === false || rest.transports !== undefined) return rest
  if (init !== undefined && (typeof init !== 'object' || init === null)) throw new TypeError('webrtc must be an options object or false')
  return { ...rest, transports: [...base(), webrtc(init ?? {})], listen: withWebRTCListen(rest.listen) }
}

/**
 * The main entry is the full SDK: the same options as `@hearsay/core`'s `createNode`
 * (`withFullSdk`: every service, overlay signalling, the ICE exchange, `'flood'`, the legacy-name
 * advice and the JavaScript hashes). `hearsay/lite` has none of it by default, so that what an
 * application does not use stays out of its bundle.
 */
export function withAllServices<O extends BaseOptions> (options: O): O {
  return withFullSdk(options)
}
