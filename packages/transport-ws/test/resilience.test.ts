import { createServer as createHttpServer } from 'node:http'
import { connect, createServer as createNetServer } from 'node:net'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { Connection, Listener, Transport } from '@hearsay/core'
import { webSockets } from '../src/index.node.js'
import { collect, nextConnection } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

function transport (init?: Parameters<typeof webSockets>[0]): Transport {
  const t = webSockets(init)
  cleanups.push(async () => { await t.close() })
  return t
}

/** A raw TCP client that performs the WebSocket opening handshake by hand. */
async function rawUpgrade (port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  cleanups.push(async () => { socket.destroy() })
  socket.write([
    'GET / HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', '', ''
  ].join('\r\n'))
  await new Promise<void>(resolve => socket.once('data', () => resolve()))
  return socket
}

/** Proves that a listener still accepts and carries frames. */
async function stillWorks (listener: Listener, accepted: () => Promise<Connection>): Promise<void> {
  const a = await transport().dial(listener.addresses[0]!)
  const b = await accepted()
  const got = collect(b)
  a.send(Uint8Array.of(42))
  await expect.poll(() => got.frames.length).toBe(1)
  a.close()
}

function portOf (address: string): number { return Number(new URL(address).port) }

describe('ws transport (Node): resets and aborted dials', () => {
  it('a client reset under an inbound ws (mid-frame and mid-handshake) closes that connection only', async () => {
    const queue: Connection[] = []
    const listener = await transport().listen('ws://127.0.0.1:0', c => queue.push(c))
    const next = async (): Promise<Connection> => { await expect.poll(() => queue.length).toBeGreaterThan(0); return queue.shift()! }
    const port = portOf(listener.addresses[0]!)

    const raw = await rawUpgrade(port)
    const got = collect(await next())
    // a masked binary frame header announcing 100 bytes, then only 3 of them, then RST
    raw.write(Uint8Array.of(0x82, 0x80 | 100, 1, 2, 3, 4, 9, 9, 9))
    raw.resetAndDestroy()
    expect(await got.closed).toMatchObject({ code: 'ERR_CONNECTION_CLOSED' })
    expect(got.frames).toHaveLength(0)

    const half = connect(port, '127.0.0.1')
    half.on('error', () => {})
    await new Promise(resolve => half.once('connect', resolve))
    half.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr')
    half.resetAndDestroy()

    await stillWorks(listener, next)
  })

  it('destroying the raw TCP socket under an inbound ws with an error does not crash the process', async () => {
    const tcp: Socket[] = []
    const server = createHttpServer()
    server.on('connection', s => tcp.push(s))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) })
    const { accept, accepted } = nextConnection()
    const listener = await transport({ server }).listen('ws://127.0.0.1:0', accept)
    const a = await transport().dial(listener.addresses[0]!)
    const ga = collect(a)
    const gb = collect(await accepted)
    tcp[0]!.destroy(Object.assign(new Error('simulated reset'), { code: 'ECONNRESET' }))
    expect(await gb.closed).toBeDefined()
    expect(await ga.closed).toMatchObject({ code: 'ERR_CONNECTION_CLOSED' })

    const again = nextConnection()
    const second = await transport({ server }).listen('ws://127.0.0.1:0/again', again.accept)
    await stillWorks(second, async () => await again.accepted)
  })

  it('aborting a dial mid-handshake rejects with AbortError and closes the half-open socket', async () => {
    const silent = createNetServer()
    const sockets: Socket[] = []
    silent.on('connection', s => { sockets.push(s); s.on('error', () => {}); s.resume() })
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => { for (const s of sockets) s.destroy(); await new Promise(resolve => silent.close(resolve)) })
    const port = (silent.address() as { port: number }).port

    const ac = new AbortController()
    const dialing = transport().dial(`ws://127.0.0.1:${port}`, { signal: ac.signal })
    await expect.poll(() => sockets.length).toBe(1)
    const serverSideClosed = new Promise(resolve => sockets[0]!.once('close', resolve))
    ac.abort()
    await expect(dialing).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await serverSideClosed
  })

  it('transport.close fails a pending dial with DialError', async () => {
    const silent = createNetServer(s => { s.on('error', () => {}) })
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => { silent.close() })
    const t = webSockets()
    const dialing = t.dial(`ws://127.0.0.1:${(silent.address() as { port: number }).port}`)
    await t.close()
    await expect(dialing).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
  })
})
