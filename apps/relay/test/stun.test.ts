/**
 * The relay's STUN server (src/stun.ts) and TURN credentials (src/turn.ts): the RFC 5769 test
 * vector, answers over real UDP, malformed datagrams dropped and counted, the per-address rate
 * limit, and the relay offering both to a node that joined through it.
 */
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { Metrics, silentLogger } from '@hearsay/core'
import { assert } from '@hearsay/core/compliance'
import { bindingSuccess, MAGIC_COOKIE, parseBindingRequest, readMappedAddress, startStunServer } from '../src/stun.js'
import type { StunServer } from '../src/stun.js'
import { parseTurnUrl, turnCredential, turnOffer } from '../src/turn.js'
import { cleanup, testNode, testRelay } from './helpers.js'

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map(b => parseInt(b, 16)))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** A Binding request with a random transaction id and `attrs` (already encoded) after the header. */
function request (attrs: Uint8Array = new Uint8Array(0), type = 0x0001): Uint8Array {
  const msg = new Uint8Array(20 + attrs.length)
  const view = new DataView(msg.buffer)
  view.setUint16(0, type)
  view.setUint16(2, attrs.length)
  view.setUint32(4, MAGIC_COOKIE)
  crypto.getRandomValues(msg.subarray(8, 20))
  msg.set(attrs, 20)
  return msg
}

const servers: StunServer[] = []
const sockets: Socket[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(async s => { await s.close() }))
  for (const s of sockets.splice(0)) s.close()
  await cleanup()
})

async function client (): Promise<{ socket: Socket, port: number, answers: Uint8Array[], send: (msg: Uint8Array, to: number) => void }> {
  const socket = createSocket('udp4')
  sockets.push(socket)
  const answers: Uint8Array[] = []
  socket.on('message', (m) => { answers.push(new Uint8Array(m)) })
  await new Promise<void>(resolve => { socket.bind(0, '127.0.0.1', () => { resolve() }) })
  return { socket, port: socket.address().port, answers, send: (msg, to) => { socket.send(msg, to, '127.0.0.1') } }
}

describe('STUN codec (RFC 8489)', () => {
  it('encodes XOR-MAPPED-ADDRESS as RFC 5769 §2.2 does (192.0.2.1:32853)', () => {
    const tid = hex('b7e7a701 bc34d686 fa87dfae')
    const answer = bindingSuccess(tid, '192.0.2.1', 32853)
    // header: success, length 12, cookie, transaction id; then the attribute of the vector
    expect(toHex(answer)).toBe('0101000c2112a442b7e7a701bc34d686fa87dfae' + '002000080001a147e112a643')
    expect(readMappedAddress(answer)).toEqual({ address: '192.0.2.1', port: 32853 })
  })

  it('encodes IPv6 (RFC 5769 §2.3: 2001:db8:1234:5678:11:2233:4455:6677 port 32853)', () => {
    const tid = hex('b7e7a701 bc34d686 fa87dfae')
    const answer = bindingSuccess(tid, '2001:db8:1234:5678:11:2233:4455:6677', 32853)
    expect(toHex(answer.subarray(20))).toBe('00200014' + '0002a147' + '0113a9faa5d3f179bc25f4b5bed2b9d9')
    expect(readMappedAddress(answer)).toEqual({ address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 })
  })

  it('tells malformed datagrams apart', () => {
    expect(parseBindingRequest(new Uint8Array(10))).toEqual({ ok: false, reason: 'short' })
    expect(parseBindingRequest(new Uint8Array(20))).toEqual({ ok: false, reason: 'not-stun' })
    expect(parseBindingRequest(request(new Uint8Array(0), 0x0003))).toEqual({ ok: false, reason: 'not-binding' })
    const badLength = request(new Uint8Array(4))
    new DataView(badLength.buffer).setUint16(2, 8)
    expect(parseBindingRequest(badLength)).toEqual({ ok: false, reason: 'bad-length' })
    // an attribute that claims more bytes than the message has
    expect(parseBindingRequest(request(hex('80220010 00000000')))).toEqual({ ok: false, reason: 'bad-attribute' })
    expect(parseBindingRequest(new Uint8Array(600))).toEqual({ ok: false, reason: 'too-large' })
    // SOFTWARE (0x8022, comprehension-optional) is fine; 0x0024 (PRIORITY) is not understood here
    expect(parseBindingRequest(request(hex('80220004 61626364')))).toMatchObject({ ok: true, unknown: [] })
    expect(parseBindingRequest(request(hex('00240004 6e0001ff')))).toMatchObject({ ok: true, unknown: [0x24] })
  })
})

describe('STUN server', () => {
  it('answers a Binding request with the address it came from; drops and counts garbage, and keeps serving', async () => {
    const metrics = new Metrics()
    const server = await startStunServer({ host: '127.0.0.1', port: 0, metrics, logger: silentLogger })
    servers.push(server)
    const c = await client()
    for (const garbage of [new Uint8Array(3), new Uint8Array(20), new Uint8Array(2000).fill(0xff), request(hex('00010010'))]) c.send(garbage, server.port)
    c.send(request(), server.port)
    await assert.eventually(() => c.answers.length === 1, 5_000, 'one answer')
    expect(readMappedAddress(c.answers[0]!)).toEqual({ address: '127.0.0.1', port: c.port })
    await assert.eventually(() => metrics.get('stun.requests') === 5, 5_000, 'every datagram seen')
    expect(metrics.get('drops.stun-short')).toBe(1)
    expect(metrics.get('drops.stun-not-stun')).toBe(1)
    expect(metrics.get('drops.stun-too-large')).toBe(1)
    expect(metrics.get('drops.stun-bad-attribute')).toBe(1)
    expect(metrics.get('stun.answers')).toBe(1)
  })

  it('rate-limits answers per source address', async () => {
    const metrics = new Metrics()
    let now = 1_000
    const server = await startStunServer({ host: '127.0.0.1', port: 0, metrics, logger: silentLogger, ratePerAddress: 2, now: () => now })
    servers.push(server)
    const c = await client()
    for (let i = 0; i < 10; i++) c.send(request(), server.port)
    await assert.eventually(() => metrics.get('stun.requests') === 10, 5_000, 'every request seen')
    // a burst of twice the rate, then nothing until time passes
    expect(metrics.get('stun.answers')).toBe(4)
    expect(metrics.get('drops.stun-rate-limit')).toBe(6)
    now += 1_000
    c.send(request(), server.port)
    await assert.eventually(() => metrics.get('stun.answers') === 5, 5_000, 'an answer after a second')
  })
})

describe('TURN credentials (coturn REST scheme)', () => {
  it('username expiry:peerId, password base64 HMAC-SHA1 of it with the secret', () => {
    // `echo -n 1700000000:peerA | openssl dgst -sha1 -hmac s3cret -binary | base64`
    expect(turnCredential('s3cret', 'peerA', 1_700_000_000)).toEqual({ username: '1700000000:peerA', credential: 'GeaOKmRzgE61in4JjwqYm2vRkeo=' })
    expect(turnOffer(parseTurnUrl('turn:relay.example?transport=udp'), 's3cret', 'peerA', 1_699_999_000_000, 1000))
      .toEqual({ scheme: 'turn', port: 3478, transport: 'udp', username: '1700000000:peerA', credential: 'GeaOKmRzgE61in4JjwqYm2vRkeo=' })
  })

  it('parses --turn-url', () => {
    expect(parseTurnUrl('turns:relay.example:443?transport=tcp')).toEqual({ scheme: 'turns', host: 'relay.example', port: 443, transport: 'tcp' })
    expect(parseTurnUrl('turn:[2001:db8::1]')).toEqual({ scheme: 'turn', host: '2001:db8::1', port: 3478 })
    for (const bad of ['stun:relay.example', 'turn:', 'turn:a:b', 'turn:user@host', 'turn:host:99999', 'turn:host?transport=sctp']) {
      expect(() => parseTurnUrl(bad), bad).toThrow()
    }
  })
})

describe('the relay offers its STUN server (and TURN) to the nodes that join through it', () => {
  it('a node that dialled ws://127.0.0.1:PORT learns stun:127.0.0.1:<stun port>', async () => {
    const relay = await testRelay()
    expect(relay.stunPort).toBeGreaterThan(0)
    const node = await testNode({ seeds: [`ws://127.0.0.1:${new URL(relay.url).port}`] })
    await assert.eventually(() => node.metrics.get('ice.offers-received') === 1, 10_000, 'the offer')
    expect(relay.node.metrics.get('ice.offers-sent')).toBe(1)
  })

  it('--stun-port off: no STUN server and nothing offered', async () => {
    const relay = await testRelay({ stunPort: false })
    expect(relay.stunPort).toBeUndefined()
    const node = await testNode({ seeds: [`ws://127.0.0.1:${new URL(relay.url).port}`] })
    await assert.eventually(() => node.peers().length === 1, 10_000, 'linked')
    expect(relay.node.metrics.get('ice.offers-sent')).toBe(0)
  })
})
