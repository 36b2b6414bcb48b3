import { UnsupportedError } from '@hearsay/core'
import type { Connection, DialOptions, Listener, ListenOptions, Transport, TransportContext, AbortOptions } from '@hearsay/core'
import { webRTC } from '@hearsay/transport-webrtc'
import type { WebRTCInit } from '@hearsay/transport-webrtc'

/** The code of the process warning a node without WebRTC emits (once per process). */
export const NO_WEBRTC_WARNING = 'HEARSAY_NO_WEBRTC'
let warned = false

/**
 * WebRTC for Node when it is there: `@hearsay/transport-webrtc` loads node-datachannel (an
 * optional dependency: a native module, with binaries for the common platforms in its npm
 * packages) when the node starts. If it cannot be loaded the transport stays inert: the node's
 * logger gets a warning, the process a `HEARSAY_NO_WEBRTC` warning on stderr (once; pass
 * `webrtc: false` to go without WebRTC on purpose), `listen('webrtc:*')` gives a listener with
 * no address (nothing is advertised) and dials reject with `UnsupportedError`.
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
        warnProcess(`hearsay: WebRTC is off, node-datachannel could not be loaded (${missing}). Install it (npm install node-datachannel), or pass webrtc: false to createNode() to go without WebRTC on purpose.`)
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
  return { webRTC }
}

function warnProcess (message: string): void {
  if (warned) return
  warned = true
  const proc = (globalThis as { process?: { emitWarning?: (msg: string, options: { code: string }) => void } }).process
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(message, { code: NO_WEBRTC_WARNING })
  else console.warn(message)
}
