import { UnsupportedError } from '@hearsay/core'
import type { Connection, DialOptions, Listener, ListenOptions, Transport, TransportContext, AbortOptions } from '@hearsay/core'
import type { WebRTCInit } from '@hearsay/transport-webrtc'

/**
 * WebRTC for Node when it is there: `@hearsay/transport-webrtc` (an optional dependency: its
 * node-datachannel is a native module) is imported when the node starts. If it cannot be
 * loaded the transport stays inert: a warning is logged, `listen('webrtc:*')` gives a listener
 * with no address (nothing is advertised) and dials reject with `UnsupportedError`.
 */
export function optionalWebRTC (init: WebRTCInit = {}, load: () => Promise<{ webRTC: (init: WebRTCInit) => Transport }> = loadTransport): Transport {
  let inner: Transport | undefined
  let missing: string | undefined
  const unavailable = (): UnsupportedError => new UnsupportedError(`WebRTC is not available in this Node.js: ${missing ?? 'the transport was not started'}`)
  return {
    name: 'webrtc',
    protocols: ['webrtc'],
    supports: { listen: true },
    async start (context: TransportContext, options?: AbortOptions): Promise<void> {
      try {
        const t = (await load()).webRTC(init)
        await t.start?.(context, options)
        inner = t
      } catch (err) {
        missing = err instanceof Error ? err.message : String(err)
        context.logger.warn('WebRTC is off: @hearsay/transport-webrtc or node-datachannel could not be loaded', { err })
      }
    },
    async dial (address: string, options?: DialOptions): Promise<Connection> {
      if (inner === undefined) throw unavailable()
      return await inner.dial(address, options)
    },
    async listen (address: string, onConnection: (conn: Connection) => void, options?: ListenOptions): Promise<Listener> {
      if (inner !== undefined) return await inner.listen(address, onConnection, options)
      return { addresses: [], close: async () => {} }
    },
    async close (): Promise<void> { await inner?.close() }
  }
}

async function loadTransport (): Promise<{ webRTC: (init: WebRTCInit) => Transport }> {
  return await import('@hearsay/transport-webrtc')
}
