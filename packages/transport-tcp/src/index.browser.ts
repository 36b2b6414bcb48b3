import { UnsupportedError } from '@hearsay/core'
import type { Connection, Listener, Transport } from '@hearsay/core'
import type { TcpInit } from './options.js'

export type { TcpInit } from './options.js'
// the framing is the same in every runtime: one export list, in the module that owns it
export * from './frame-decoder.js'

/** Browsers have no raw TCP sockets: this transport rejects every dial and listen. */
export function tcp (_init: TcpInit = {}): Transport {
  const unsupported = (): UnsupportedError => new UnsupportedError('TCP is not available in browsers; use the WebSocket transport')
  return {
    name: 'tcp',
    protocols: ['tcp'],
    supports: { listen: false },
    dial: async (): Promise<Connection> => { throw unsupported() },
    listen: async (): Promise<Listener> => { throw unsupported() },
    close: async () => {}
  }
}
