/**
 * WebRTC between nodes that signal through a relay (node-datachannel, inside the test's network
 * namespace): signalling errors (unknown peer, refused, timeout, abort), the direct link that
 * outlives the relay, frames larger than a chunk, and the overlay dialling `webrtc:` addresses
 * by itself.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { generateIdentity, UnsupportedError } from '@hearsay/core'
import type { HearsayNode, SignalFailure, Transport, TransportContext } from '@hearsay/core'
import { assert } from '@hearsay/core/compliance'
import { webRTC } from '../src/index.node.js'
import { inNetns, RELAY, SignalNet } from './helpers.js'

const { eventually } = assert
const UNKNOWN = generateIdentity().id

/** A peer that takes offers and never answers: for timeouts and cancellation. */
class Silent implements Transport {
  readonly name = 'silent'
  readonly protocols = ['silent']
  readonly supports = { listen: false }
  readonly offers: string[] = []
  readonly failures: SignalFailure[] = []
  async start (context: TransportContext): Promise<void> {
    context.signals.setHandlers({ onSignal: s => { this.offers.push(s.session) }, onFailure: f => { this.failures.push(f) } })
  }

  async dial (): Promise<never> { throw new UnsupportedError('silent') }
  async listen (): Promise<never> { throw new UnsupportedError('silent') }
  async close (): Promise<void> {}
}

let net: SignalNet | undefined
afterEach(async () => { await net?.stop(); net = undefined })

async function signalNet (relay = {}): Promise<SignalNet> {
  net = await new SignalNet(relay).start()
  return net
}

function webrtcAddress (n: HearsayNode): string { return n.addresses.find(a => a.startsWith('webrtc:'))! }

describe.skipIf(!inNetns)('WebRTC between nodes', () => {
  it('connects through the relay, then keeps talking after the relay stops', async () => {
    const n = await signalNet()
    const a = (await n.member({ listen: ['webrtc:*'] })).node
    const b = (await n.member({ listen: ['webrtc:*'] })).node
    expect(webrtcAddress(a)).toBe(`webrtc:${a.id}`)
    const started = Date.now()
    const peer = await b.dial(webrtcAddress(a))
    console.log(`WebRTC dial node→node through a relay: ${Date.now() - started} ms (signalling + ICE + DTLS + secure handshake)`)
    expect(peer.id).toBe(a.id)
    expect(peer.address).toBe(`webrtc:${a.id}`)
    expect(n.relay.metrics.get('rtc.forwarded')).toBeGreaterThanOrEqual(2)
    await eventually(() => a.getPeer(b.id) !== undefined, 10_000)
    expect(a.getPeer(b.id)!.address).toBe(`webrtc:${b.id}`)

    await n.relay.stop()
    await eventually(() => a.getPeer(n.relay.id) === undefined && b.getPeer(n.relay.id) === undefined, 10_000, 'relay gone')
    const got: unknown[] = []
    a.route('chat', (m) => { got.push(m.data) })
    // a frame of 200 kB crosses as 13 chunks and arrives whole
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff)
    peer.send('chat', 'after the relay')
    peer.send('chat', big)
    await eventually(() => got.length === 2, 10_000, 'messages after the relay stopped')
    expect(got[0]).toBe('after the relay')
    expect(Buffer.from(got[1] as Uint8Array).equals(Buffer.from(big))).toBe(true)
    expect(await b.ping(a.id)).toBeGreaterThanOrEqual(0)
  })

  it('an unknown peer: the relay answers and the dial fails at once as unreachable', async () => {
    const n = await signalNet()
    const b = (await n.member()).node
    const started = Date.now()
    const err = await b.dial(`webrtc:${UNKNOWN}`).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'SignalFailedError', code: 'ERR_DIAL_FAILED', reason: 'unreachable', peer: UNKNOWN })
    expect(Date.now() - started).toBeLessThan(2000)
    expect(n.relay.metrics.get('drops.rtc-no-route')).toBe(1)
  })

  it('a peer that does not listen on webrtc refuses; a bad address is InvalidAddressError', async () => {
    const n = await signalNet()
    const a = (await n.member({ listen: [] })).node
    const b = (await n.member()).node
    await expect(b.dial(`webrtc:${a.id}`)).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED', reason: 'refused' })
    await expect(b.dial('webrtc:nope')).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
  })

  it('a peer that never answers: node.dial times out with ERR_TIMEOUT and the peer is told', async () => {
    const n = await signalNet()
    const silent = new Silent()
    const s = await n.member({ transports: [n.network.transport(), silent] })
    const b = (await n.member()).node
    await expect(b.dial(`webrtc:${s.node.id}`, { timeout: 1500 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    expect(silent.offers).toHaveLength(1)
    await eventually(() => silent.failures.length === 1, 5000, 'cancel reached the peer')
    expect(silent.failures[0]).toMatchObject({ from: b.id, code: 'cancelled', session: silent.offers[0] })
  })

  it('the transport gives up after connectTimeout with TimeoutError; an abort rejects with ERR_ABORTED', async () => {
    const n = await signalNet()
    const silent = new Silent()
    const s = await n.member({ transports: [n.network.transport(), silent] })
    const m = await n.member({}, { connectTimeout: 500 })
    await expect(m.transport.dial(`webrtc:${s.node.id}`)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    const ac = new AbortController()
    const dialling = m.transport.dial(`webrtc:${s.node.id}`, { signal: ac.signal })
    await eventually(() => silent.offers.length === 2, 5000, 'second offer')
    ac.abort()
    await expect(dialling).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    await eventually(() => silent.failures.length === 2, 5000, 'both sessions cancelled at the peer')
    expect(silent.failures.map(f => f.code)).toEqual(['cancelled', 'cancelled'])
  })

  it('a transport that no node started cannot dial or listen', async () => {
    const t = webRTC()
    await expect(t.dial(`webrtc:${UNKNOWN}`)).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
    await expect(t.listen('webrtc:*', () => {})).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
    await t.close()
    const n = await signalNet()
    const m = await n.member({ listen: ['webrtc:*'] })
    await expect(m.transport.listen('webrtc:*', () => {})).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' })
    await expect(m.transport.listen(`webrtc:${UNKNOWN}`, () => {})).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
    await expect(m.transport.start!(m.transport as unknown as TransportContext)).rejects.toThrow(TypeError)
  })

  it('the overlay dials the webrtc: addresses it learns: two nodes that only know the relay link up directly', async () => {
    const n = await signalNet({ overlay: true })
    const overlay = { overlay: true, listen: ['webrtc:*'], seeds: [RELAY], shuffleInterval: 500 }
    const a = (await n.member(overlay)).node
    const b = (await n.member(overlay)).node
    // JOIN through the relay reaches the other (FORWARD_JOIN / shuffle); it connects by webrtc:<id>
    await eventually(() => a.getPeer(b.id) !== undefined && b.getPeer(a.id) !== undefined, 15_000, 'direct link made by the overlay')
    expect(a.getPeer(b.id)!.address).toBe(`webrtc:${b.id}`)
    expect(b.getPeer(a.id)!.address).toBe(`webrtc:${a.id}`)
    // the link comes first; the NEIGHBOR exchange over it then puts each in the other's active view
    await eventually(() => a.overlay!.active.includes(b.id) && b.overlay!.active.includes(a.id), 15_000, 'neighbours in both active views')
  })
})
