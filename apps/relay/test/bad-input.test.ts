/**
 * Garbage at the relay: WebSocket clients (the `ws` library, as a broken or hostile page would)
 * and raw TCP sockets that send bytes that are no handshake are disconnected and counted; a peer
 * connected before keeps its link, new peers still join, and the HTTP side keeps answering.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { addressOf, cleanup, testNode, testRelay } from './helpers.js'

afterEach(cleanup)

const CLOSE_TIMEOUT = 10_000

/** Opens a ws client, sends `frames` once open, resolves with the close code when the relay closes it. */
async function sendGarbage (url: string, frames: Array<Buffer | string>): Promise<number> {
  const ws = new WebSocket(url)
  ws.on('error', () => {})
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`the relay did not close the garbage client within ${CLOSE_TIMEOUT} ms`)) }, CLOSE_TIMEOUT)
    ws.once('open', () => { for (const f of frames) ws.send(f) })
    ws.once('close', (code) => { clearTimeout(timer); resolve(code) })
  })
}

/** Writes `bytes` on a raw TCP socket and resolves with what came back once the relay closed it. */
async function rawTcp (address: string, bytes: Buffer): Promise<string> {
  const { hostname, port } = new URL(address.replace(/^\w+:/, 'http:'))
  const socket = net.connect(Number(port), hostname)
  socket.on('error', () => {})
  let received = ''
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`the relay did not close the raw socket within ${CLOSE_TIMEOUT} ms`)) }, CLOSE_TIMEOUT)
    socket.on('data', (d) => { received += d.toString('latin1') })
    socket.once('connect', () => { socket.write(bytes) })
    socket.once('close', () => { clearTimeout(timer); resolve(received) })
  })
}

describe('relay: bad input', () => {
  it('disconnects WebSocket clients that send garbage, counts the failed handshakes, and keeps serving everyone else', async () => {
    const relay = await testRelay()
    const ws = addressOf(relay, 'ws')
    const before = await testNode({ seeds: [ws] })
    await expect.poll(() => relay.node.peers().some(p => p.id === before.id), { timeout: 10_000 }).toBe(true)
    const failures = relay.node.metrics.get('handshake.failures')

    const garbage: Array<Array<Buffer | string>> = [
      [randomBytes(100)],
      ['GET / HTTP/1.1'],
      [Buffer.alloc(0), randomBytes(32), randomBytes(4096)],
      [randomBytes(200_000)]
    ]
    for (const frames of garbage) {
      const code = await sendGarbage(ws, frames)
      expect(code).toBeGreaterThanOrEqual(1000)
    }
    await expect.poll(() => relay.node.metrics.get('handshake.failures'), { timeout: 10_000 }).toBeGreaterThanOrEqual(failures + garbage.length)

    // the peer from before still has its link, a new peer joins, HTTP answers
    expect(relay.node.peers().map(p => p.id)).toContain(before.id)
    expect(await before.ping(before.getPeer(relay.node.id)!)).toBeGreaterThanOrEqual(0)
    const after = await testNode({ overlay: false })
    expect((await after.dial(ws)).id).toBe(relay.node.id)
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200)
    expect(relay.log.filter(l => l.level === 'error')).toEqual([])
  })

  it('closes raw TCP sockets that send garbage to the TCP listener or to the HTTP port', async () => {
    const relay = await testRelay()
    await rawTcp(addressOf(relay, 'tcp'), randomBytes(1000))
    const http = await rawTcp(addressOf(relay, 'ws'), Buffer.from('\x16\x03\x01 not http at all\r\n\r\n', 'latin1'))
    expect(http).toMatch(/^HTTP\/1\.1 400/)
    // an upgrade to a path nobody listens on is refused too
    const upgrade = await rawTcp(addressOf(relay, 'ws'), Buffer.from('GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'))
    expect(upgrade).toMatch(/^HTTP\/1\.1 404/)
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200)
    const client = await testNode({ overlay: false })
    expect((await client.dial(addressOf(relay, 'tcp'))).id).toBe(relay.node.id)
  })
})
