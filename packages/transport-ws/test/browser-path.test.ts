import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { transportCompliance } from '@hearsay/core/compliance'
import type { Transport } from '@hearsay/core'
import { browserWebSockets } from '../src/transport.browser.js'
import type { WebSocketConstructor } from '../src/transport.browser.js'
import { webSockets as browserEntry } from '../src/index.browser.js'
import { webSockets } from '../src/index.node.js'
import { collect, deadPort, nextConnection } from './helpers.js'

// Node 20 has no global WebSocket; ws implements the same WHATWG interface (binaryType,
// bufferedAmount, addEventListener, close codes), so the browser code path runs against it.
const WhatwgWebSocket = WebSocket as unknown as WebSocketConstructor

/** Dials with the browser transport, listens with the Node one. */
function mixed (): Transport {
  const browser = browserWebSockets(WhatwgWebSocket)
  const node = webSockets()
  return {
    name: browser.name,
    protocols: browser.protocols,
    supports: node.supports,
    dial: async (address, options) => await browser.dial(address, options),
    listen: async (address, onConnection, options) => await node.listen(address, onConnection, options),
    close: async () => { await browser.close(); await node.close() }
  }
}

describe('ws transport (browser code path over ws): compliance', () => {
  let dead = 0
  beforeAll(async () => { dead = await deadPort() })
  for (const c of transportCompliance({
    create: mixed,
    listenAddress: () => 'ws://127.0.0.1:0',
    deadAddress: () => `ws://127.0.0.1:${dead}`,
    invalidAddress: 'ws://'
  })) it(c.name, c.fn)
})

describe('ws transport (browser code path over ws)', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })
  const track = <T extends { close: () => Promise<void> }>(t: T): T => { cleanups.push(async () => { await t.close() }); return t }

  it('cannot listen: supports.listen is false and listen rejects with UnsupportedError', async () => {
    const t = browserEntry()
    expect(t.supports.listen).toBe(false)
    expect(t.protocols).toEqual(['ws', 'wss'])
    await expect(t.listen('ws://127.0.0.1:0', () => {})).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' })
  })

  it('a text frame closes the connection with InvalidFrameError and an application close code', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    cleanups.push(async () => { for (const c of wss.clients) c.terminate(); await new Promise(resolve => wss.close(resolve)) })
    const serverSaw = new Promise<number>(resolve => wss.on('connection', ws => { ws.on('close', code => resolve(code)); ws.send('hello') }))
    await new Promise(resolve => wss.once('listening', resolve))
    const t = track(browserWebSockets(WhatwgWebSocket))
    const got = collect(await t.dial(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`))
    expect(await got.closed).toMatchObject({ code: 'ERR_INVALID_FRAME' })
    expect(await serverSaw).toBe(4003)
  })

  it('a send on a socket that is closing, before its close event, fails with ConnectionClosedError and closes the link (a page back from a freeze)', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    cleanups.push(async () => { for (const c of wss.clients) c.terminate(); await new Promise(resolve => wss.close(resolve)) })
    await new Promise(resolve => wss.once('listening', resolve))
    const t = track(browserWebSockets(WhatwgWebSocket))
    const conn = await t.dial(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
    const got = collect(conn)
    // the socket starts closing under the connection (readyState CLOSING; no close event yet)
    ;(conn as unknown as { socket: WebSocket }).socket.close()
    expect(() => { conn.send(new Uint8Array([1])) }).toThrow(expect.objectContaining({ code: 'ERR_CONNECTION_CLOSED' }))
    expect(conn.closed).toBe(true)
    expect(await got.closed).toMatchObject({ code: 'ERR_CONNECTION_CLOSED' })
  })

  it('an oversized frame is refused on receipt and the Node peer hears TooLargeError (code 4009)', async () => {
    const { accept, accepted } = nextConnection()
    const listener = await track(webSockets()).listen('ws://127.0.0.1:0', accept)
    const a = await track(browserWebSockets(WhatwgWebSocket)).dial(listener.addresses[0]!, { maxFrameBytes: 1000 })
    const ga = collect(a)
    const b = await accepted
    const gb = collect(b)
    b.send(new Uint8Array(1001))
    expect(await ga.closed).toMatchObject({ code: 'ERR_TOO_LARGE' })
    expect(ga.frames).toHaveLength(0)
    expect(await gb.closed).toMatchObject({ code: 'ERR_TOO_LARGE' })
  })

  it('drained() polls only while awaited, and close stops the polling', async () => {
    const { accept, accepted } = nextConnection()
    const listener = await track(webSockets()).listen('ws://127.0.0.1:0', accept)
    const a = await track(browserWebSockets(WhatwgWebSocket, { highWaterMark: 64 * 1024 })).dial(listener.addresses[0]!)
    collect(a)
    collect(await accepted)
    const timer = (): unknown => (a as unknown as { timer: unknown }).timer
    for (let i = 0; i < 64; i++) a.send(new Uint8Array(64 * 1024))
    expect(a.bufferedAmount).toBeGreaterThan(32 * 1024)
    const waiting = a.drained()
    expect(timer()).toBeDefined()
    await waiting
    expect(a.bufferedAmount).toBeLessThanOrEqual(32 * 1024)
    expect(timer()).toBeUndefined()

    for (let i = 0; i < 64; i++) a.send(new Uint8Array(64 * 1024))
    const pending = a.drained()
    expect(timer()).toBeDefined()
    a.close()
    expect(timer()).toBeUndefined()
    await pending
  })
})
