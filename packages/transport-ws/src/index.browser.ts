import type { Transport } from '@hearsay/core'
import IsoWebSocket from 'isomorphic-ws'
import { browserWebSockets } from './transport.browser.js'
import type { WebSocketConstructor } from './transport.browser.js'
import type { WebSocketsInit } from './options.js'

export type { WebSocketsInit }

/**
 * A WebSocket transport for browsers (and other runtimes with a global `WebSocket`): dials
 * only; `listen` rejects with `UnsupportedError`.
 */
export function webSockets (init: WebSocketsInit = {}): Transport {
  // isomorphic-ws's browser entry re-exports the global WebSocket (typed as `ws`, hence the cast)
  return browserWebSockets(IsoWebSocket as unknown as WebSocketConstructor | null, init)
}
