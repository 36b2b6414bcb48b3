import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import type { Transport } from '@hearsay/core'
import { BusyError } from '@hearsay/core'
import { closeCodeFor, reasonForClose } from '../src/close-codes.js'
import { webSockets } from '../src/index.node.js'
import { collect, nextConnection } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

function transport (init?: Parameters<typeof webSockets>[0]): Transport {
  const t = webSockets(init)
  cleanups.push(async () => { await t.close() })
  return t
}

/** A bare `ws` client, with no frame limit of its own; resolves its close code. */
async function rawClient (address: string): Promise<{ ws: WebSocket, closeCode: Promise<number> }> {
  const ws = new WebSocket(address)
  ws.on('error', () => {})
  cleanups.push(async () => { ws.terminate() })
  const closeCode = new Promise<number>(resolve => ws.once('close', code => resolve(code)))
  await new Promise(resolve => ws.once('open', resolve))
  return { ws, closeCode }
}

/** A bare `ws` server that greets every client with `greeting`; resolves the close code it sees. */
async function rawServer (greeting: string | Uint8Array): Promise<{ address: string, closeCode: Promise<number> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  cleanups.push(async () => {
    for (const c of wss.clients) c.terminate()
    await new Promise(resolve => wss.close(resolve))
  })
  let gotCode: (code: number) => void = () => {}
  const closeCode = new Promise<number>(resolve => { gotCode = resolve })
  wss.on('connection', ws => {
    ws.on('error', () => {})
    ws.once('close', code => gotCode(code))
    ws.send(greeting)
  })
  await new Promise(resolve => wss.once('listening', resolve))
  return { address: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, closeCode }
}

describe('ws transport (Node): protocol violations', () => {
  it('an inbound text frame closes the connection with InvalidFrameError and code 1003', async () => {
    const { accept, accepted } = nextConnection()
    const listener = await transport().listen('ws://127.0.0.1:0', accept)
    const raw = await rawClient(listener.addresses[0]!)
    const got = collect(await accepted)
    raw.ws.send('hello')
    expect(await got.closed).toMatchObject({ code: 'ERR_INVALID_FRAME' })
    expect(got.frames).toHaveLength(0)
    expect(await raw.closeCode).toBe(1003)
  })

  it('an outbound text frame closes the connection with InvalidFrameError', async () => {
    const server = await rawServer('hello')
    const got = collect(await transport().dial(server.address))
    expect(await got.closed).toMatchObject({ code: 'ERR_INVALID_FRAME' })
    expect(await server.closeCode).toBe(1003)
  })

  it('ws maxPayload enforces the listener limit: one byte over closes with TooLargeError and code 1009', async () => {
    const { accept, accepted } = nextConnection()
    const listener = await transport().listen('ws://127.0.0.1:0', accept, { maxFrameBytes: 1000 })
    const raw = await rawClient(listener.addresses[0]!)
    const got = collect(await accepted)
    raw.ws.send(new Uint8Array(1000))
    raw.ws.send(new Uint8Array(1001))
    const reason = await got.closed
    expect(reason).toMatchObject({ code: 'ERR_TOO_LARGE' })
    // ws rejected it from the frame header, before AbstractConnection saw the payload
    expect((reason as Error).cause).toMatchObject({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' })
    expect(got.frames.map(f => f.length)).toEqual([1000])
    expect(await raw.closeCode).toBe(1009)
  })

  it('ws maxPayload enforces the dial limit', async () => {
    const server = await rawServer(new Uint8Array(5000))
    const got = collect(await transport().dial(server.address, { maxFrameBytes: 4999 }))
    expect(await got.closed).toMatchObject({ code: 'ERR_TOO_LARGE' })
    expect(got.frames).toHaveLength(0)
    expect(await server.closeCode).toBe(1009)
  })

  it('the sender of an oversized frame learns of it as TooLargeError (close code 1009)', async () => {
    const { accept, accepted } = nextConnection()
    const listener = await transport().listen('ws://127.0.0.1:0', accept, { maxFrameBytes: 1000 })
    const a = await transport().dial(listener.addresses[0]!, { maxFrameBytes: 1_000_000 })
    const ga = collect(a)
    collect(await accepted)
    a.send(new Uint8Array(5000))
    expect(await ga.closed).toMatchObject({ code: 'ERR_TOO_LARGE' })
  })

  it('a connection closed with BusyError (a refusal for load) reaches the far end as BusyError with its reason, over close code 1013 (4013 from a browser)', async () => {
    const { accept, accepted } = nextConnection()
    const listener = await transport().listen('ws://127.0.0.1:0', accept)
    const raw = await rawClient(listener.addresses[0]!)
    ;(await accepted).close(new BusyError('handshake-evicted'))
    expect(await raw.closeCode).toBe(1013)

    const { accept: accept2, accepted: accepted2 } = nextConnection()
    const listener2 = await transport().listen('ws://127.0.0.1:0', accept2)
    const got = collect(await transport().dial(listener2.addresses[0]!))
    ;(await accepted2).close(new BusyError('per-address'))
    expect(await got.closed).toMatchObject({ name: 'BusyError', code: 'ERR_BUSY', reason: 'per-address' })
    // the browser's application-range form, and a text that is not hearsay's
    expect(reasonForClose(4013, 'the remote is busy (handshakes): try again later')).toMatchObject({ code: 'ERR_BUSY', reason: 'handshakes' })
    expect(reasonForClose(1013, '')).toMatchObject({ code: 'ERR_BUSY', reason: 'busy' })
    expect(closeCodeFor(new BusyError('handshakes'))).toBe(1013)
  })
})
