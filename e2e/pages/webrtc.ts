/**
 * Browser entry for the WebRTC e2e tests: a node from the main `hearsay` browser entry (ws
 * client + WebRTC, listening on `webrtc:*`), with a memory store so several pages of one origin
 * do not share IndexedDB. Driven through `window.__rtc`; failures come back as values.
 */
import { createNode, memoryStore, secureChannel, webCryptoAes256Gcm, xsalsa20Poly1305 } from 'hearsay'
import type { HearsayNode, Peer } from 'hearsay'

export interface RtcError { name: string, code?: string, reason?: string, message: string }
export interface RtcStart { id?: string, addresses?: string[], error?: RtcError }
export interface RtcDial { remoteId?: string, address?: string, ms?: number, error?: RtcError }
export interface RtcPeerInfo { id: string, address: string }

export interface RtcPage {
  /**
   * Starts a node that joins through `seed` (ws://…); `overlay` runs HyParView; `webCryptoAes`
   * offers AES-256-GCM through WebCrypto ahead of XSalsa20-Poly1305 (browsers' default).
   */
  start: (seed: string, overlay: boolean, networkKey?: string, webCryptoAes?: boolean) => Promise<RtcStart>
  /** The cipher suite of the link to `id`. */
  cipherSuite: (id: string) => string | undefined
  /** Resolves once `id` is a connected peer (or rejects after `ms`). */
  waitPeer: (id: string, ms: number) => Promise<void>
  dial: (address: string) => Promise<RtcDial>
  hangUp: (id: string) => Promise<void>
  peers: () => RtcPeerInfo[]
  send: (to: string, type: string, data: unknown) => void
  messages: () => Array<{ from: string, type: string, data: unknown }>
  /**
   * Sends `count` messages of `size` bytes to `to`, with backpressure, then waits for the far end
   * to confirm it received them all; resolves with the time from the first send to that reply.
   */
  blast: (to: string, size: number, count: number) => Promise<number>
  stop: () => Promise<void>
}

declare global {
  interface Window { __rtc?: RtcPage }
}

let node: HearsayNode | undefined
const received: Array<{ from: string, type: string, data: unknown }> = []
let benchCount = 0
const benchDone = new Map<string, (n: number) => void>()

function describe (err: unknown): RtcError {
  const e = err as Error & { code?: string, reason?: string }
  return { name: e.name, message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}), ...(typeof e.reason === 'string' ? { reason: e.reason } : {}) }
}

function peer (id: string): Peer {
  const p = node?.getPeer(id)
  if (p === undefined) throw new Error(`not connected to ${id}`)
  return p
}

window.__rtc = {
  start: async (seed, overlay, networkKey, webCryptoAes) => {
    const channel = webCryptoAes === true ? { channel: secureChannel({ ...(networkKey === undefined ? {} : { networkKey }), cipherSuites: [webCryptoAes256Gcm(), xsalsa20Poly1305] }) } : {}
    node = createNode({ store: memoryStore(), seeds: [seed], overlay, ...(networkKey === undefined ? {} : { networkKey }), ...channel, heartbeatInterval: 500 })
    node.on('message', ({ from, type, data }) => { if (!type.startsWith('bench')) received.push({ from: from.id, type, data }) })
    node.route('bench', () => { benchCount++ })
    node.route('bench.end', (m) => { m.from.send('bench.done', benchCount); benchCount = 0 })
    node.route('bench.done', (m) => { benchDone.get(m.from.id)?.(m.data as number) })
    try {
      await node.start()
      return { id: node.id, addresses: node.addresses }
    } catch (err) {
      return { error: describe(err) }
    }
  },
  waitPeer: async (id, ms) => {
    const n = node!
    if (n.getPeer(id) !== undefined) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new Error(`no peer ${id} within ${ms} ms`)) }, ms)
      const off = n.on('peer:connect', (p) => { if (p.id === id) { clearTimeout(timer); off(); resolve() } })
    })
  },
  dial: async (address) => {
    const started = performance.now()
    try {
      const p = await node!.dial(address, { timeout: 15_000 })
      return { remoteId: p.id, address: p.address, ms: performance.now() - started }
    } catch (err) {
      return { error: describe(err) }
    }
  },
  hangUp: async (id) => { await node!.hangUp(id) },
  cipherSuite: (id) => (node?.getPeer(id)?.link.conn as { cipherSuite?: string } | undefined)?.cipherSuite,
  peers: () => (node?.peers() ?? []).map(p => ({ id: p.id, address: p.address })),
  send: (to, type, data) => { peer(to).send(type, data) },
  messages: () => [...received],
  blast: async (to, size, count) => {
    const p = peer(to)
    const payload = new Uint8Array(size).fill(7)
    const done = new Promise<number>((resolve) => { benchDone.set(to, resolve) })
    const started = performance.now()
    for (let i = 0; i < count; i++) {
      p.send('bench', payload)
      // the link's own backpressure: wait while more than 1 MiB is queued
      if (p.link.conn.bufferedAmount > 1024 * 1024) await p.link.conn.drained()
    }
    p.send('bench.end', null)
    const got = await done
    if (got !== count) throw new Error(`the far end counted ${got} of ${count}`)
    return performance.now() - started
  },
  stop: async () => { await node?.stop(); node = undefined }
}
