/**
 * Browser entry: a hearsay node in the page (WebSocket transport, no overlay) that dials the
 * Node-side node given in the query string and reports on `window.__state`.
 *
 *   /browser-node.html?addr=ws://127.0.0.1:1234&key=<network passphrase>
 *
 * `addr` is required; `key` is optional (the public network without it). Once connected, the
 * test drives the page with `window.__send(type, data)` and `window.__stop()`. Failures are
 * reported in the state, never thrown or logged as errors: the test asserts the page logs none.
 */
import { createNode } from '@hearsay/core'
import type { HearsayNode, Peer } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'

export interface PageError { name: string, code?: string, message: string, cause?: string }

export interface PageState {
  status: 'starting' | 'dialling' | 'connected' | 'failed' | 'stopped'
  /** The page node's peer id (known once started). */
  id?: string
  /** The id the remote proved in the handshake. */
  remoteId?: string
  /** `node.dial()` from call to resolved: WebSocket connect + secure handshake, ms. */
  dialMs?: number
  error?: PageError
  /** Application messages received, in order. */
  messages: Array<{ from: string, type: string, data: unknown }>
  /** Peers that disconnected, with the close reason's code if any. */
  disconnects: Array<{ id: string, reason?: string }>
}

declare global {
  interface Window {
    __state?: PageState
    __send?: (type: string, data: unknown) => void
    __stop?: () => Promise<void>
  }
}

function describeError (err: unknown): PageError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) }
  const out: PageError = { name: err.name, message: err.message }
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') out.code = code
  if (err.cause !== undefined) out.cause = err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : String(err.cause)
  return out
}

const state: PageState = { status: 'starting', messages: [], disconnects: [] }
window.__state = state

async function main (): Promise<void> {
  const params = new URLSearchParams(location.search)
  const addr = params.get('addr')
  if (addr === null || addr === '') throw new Error('the page needs ?addr=ws://host:port')
  const key = params.get('key') ?? undefined

  const node: HearsayNode = createNode({ transports: [webSockets()], overlay: false, networkKey: key, defaultProtocol: 'ws' })
  node.on('message', ({ from, type, data }) => { state.messages.push({ from: from.id, type, data }) })
  node.on('peer:disconnect', ({ peer, reason }) => {
    const code = (reason as { code?: unknown } | undefined)?.code
    state.disconnects.push(typeof code === 'string' ? { id: peer.id, reason: code } : { id: peer.id })
  })
  window.__stop = async () => {
    await node.stop()
    state.status = 'stopped'
  }
  await node.start()
  state.id = node.id
  state.status = 'dialling'

  const started = performance.now()
  let peer: Peer
  try {
    peer = await node.dial(addr, { timeout: 10_000 })
  } catch (err) {
    state.error = describeError(err)
    state.status = 'failed'
    console.info(`dial failed: ${state.error.code ?? state.error.name}: ${state.error.message}`)
    return
  }
  state.dialMs = performance.now() - started
  state.remoteId = peer.id
  window.__send = (type, data) => { peer.send(type, data) }
  state.status = 'connected'
}

main().catch((err: unknown) => {
  state.error = describeError(err)
  state.status = 'failed'
  console.error(err)
})
