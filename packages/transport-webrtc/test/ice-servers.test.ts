/**
 * ICE servers learned from the node a node joined through (`ice.servers`): the WebRTC transport
 * uses them unless the application set its own; they name the host the node dialled; offers
 * from peers the node did not dial by host, and malformed ones, are dropped and counted. A fake
 * peer records the configuration each WebRTC session gets (no WebRTC runs: no namespace needed).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, HearsayNode as Node, overlaySignalling } from '@hearsay/core'
import type { HearsayNode, IceServerOffer, NodeOptions, Peer, ServiceContext } from '@hearsay/core'
import { assert } from '@hearsay/core/compliance'
import { webSockets } from '@hearsay/transport-ws'
import type { PeerConstructor, PeerOptions } from '../src/peer-types.js'
import type { RtcConfiguration } from '../src/rtc-types.js'
import type { WebRTCInit } from '../src/options.js'
import { createWebRTC } from '../src/transport.js'

const OFFER: IceServerOffer[] = [
  { scheme: 'stun', port: 3478 },
  { scheme: 'turn', port: 3479, transport: 'udp', username: '1700000000:me', credential: 'secret' }
]

const nodes: HearsayNode[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

/** A WebRTC transport whose peers only record their configuration and never connect. */
function recordingWebRTC (init: WebRTCInit = {}): { transport: ReturnType<typeof createWebRTC>, configs: RtcConfiguration[] } {
  const configs: RtcConfiguration[] = []
  const Fake = class {
    destroyed = false
    readonly bufferSize = 0
    constructor (options: PeerOptions) { configs.push(options.config ?? {}) }
    on (): this { return this }
    signal (): void {}
    send (): void {}
    destroy (): void { this.destroyed = true }
  } as unknown as PeerConstructor
  return { transport: createWebRTC(async () => Fake, init), configs }
}

async function start (options: NodeOptions): Promise<HearsayNode> {
  const node = createNode({ signalling: overlaySignalling(), overlay: false, ...options })
  nodes.push(node)
  await node.start()
  return node
}

/** The configuration of a WebRTC session `from` opens to `to` (the dial is abandoned at once). */
async function sessionConfig (from: HearsayNode, to: HearsayNode, configs: RtcConfiguration[]): Promise<RtcConfiguration> {
  const before = configs.length
  const controller = new AbortController()
  const dial = from.dial(`webrtc:${to.id}`, { signal: controller.signal }).catch(() => {})
  await assert.eventually(() => configs.length > before, 5_000, 'a WebRTC session')
  controller.abort()
  await dial
  return configs[configs.length - 1]!
}

describe('ICE servers offered by the node a node joined through', () => {
  it('a node that dialled ws://127.0.0.1 uses the offered servers on 127.0.0.1', async () => {
    const relay = await start({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], offerIceServers: () => OFFER })
    const { transport, configs } = recordingWebRTC()
    const node = await start({ transports: [webSockets(), transport], seeds: relay.addresses })
    await assert.eventually(() => node.metrics.get('ice.offers-received') === 1, 5_000, 'the offer')
    const config = await sessionConfig(node, relay, configs)
    expect(config.iceServers).toEqual([
      { urls: ['stun:127.0.0.1:3478'] },
      { urls: ['turn:127.0.0.1:3479?transport=udp'], username: '1700000000:me', credential: 'secret' }
    ])
  })

  it("the application's iceServers win, even []", async () => {
    const relay = await start({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], offerIceServers: () => OFFER })
    for (const iceServers of [[], [{ urls: 'stun:stun.example:3478' }]]) {
      const { transport, configs } = recordingWebRTC({ iceServers })
      const node = await start({ transports: [webSockets(), transport], seeds: relay.addresses })
      await assert.eventually(() => node.metrics.get('ice.offers-received') === 1, 5_000, 'the offer')
      expect((await sessionConfig(node, relay, configs)).iceServers).toEqual(iceServers)
    }
  })

  it('iceOfferRefresh sends the offer again (fresh TURN credentials); a throwing offerer is an error event, not a crash', async () => {
    let calls = 0
    const relay = await start({
      transports: [webSockets()],
      listen: ['ws://127.0.0.1:0'],
      iceOfferRefresh: 50,
      offerIceServers: () => [{ ...OFFER[1]!, username: `${++calls}:me` }]
    })
    const { transport, configs } = recordingWebRTC()
    const node = await start({ transports: [webSockets(), transport], seeds: relay.addresses })
    await assert.eventually(() => node.metrics.get('ice.offers-received') >= 3, 5_000, 'renewed offers')
    // the latest offer replaces the earlier ones
    const config = await sessionConfig(node, relay, configs)
    expect(config.iceServers).toHaveLength(1)
    expect(config.iceServers![0]!.username).not.toBe('1:me')

    const errors: Error[] = []
    const failing = await start({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], offerIceServers: () => { throw new Error('no servers today') } })
    failing.on('error', (err) => { errors.push(err) })
    const other = await start({ transports: [webSockets()], seeds: failing.addresses })
    await assert.eventually(() => errors.length === 1, 5_000, 'the error event')
    expect(errors[0]!.message).toBe('no servers today')
    expect(other.peers()).toHaveLength(1)
    expect(other.metrics.get('ice.offers-received')).toBe(0)
  })

  it('without the iceExchange option (hearsay/lite, new HearsayNode) offerIceServers is a TypeError', () => {
    expect(() => new Node({ offerIceServers: () => OFFER })).toThrow(/iceExchange/)
    expect(() => createNode({ offerIceServers: () => OFFER, iceExchange: undefined })).not.toThrow()
  })

  it('offers from a peer this node did not dial, or malformed ones, are dropped and counted', async () => {
    const { transport, configs } = recordingWebRTC()
    // the listening node learns nothing from the node that dialled it: it never chose its host
    const listener = await start({ transports: [webSockets(), transport], listen: ['ws://127.0.0.1:0'] })
    const dialler = await start({ transports: [webSockets()], seeds: listener.addresses, offerIceServers: () => OFFER })
    await assert.eventually(() => listener.metrics.get('drops.ice-unverified-host') === 1, 5_000, 'the unverified offer dropped')
    expect((await sessionConfig(listener, dialler, configs)).iceServers).toEqual([])
    // and a malformed offer (a third-party host smuggled in, a bad port, a STUN server with a password)
    const hub = await start({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], services: [rawService] })
    const node = await start({ transports: [webSockets()], seeds: hub.addresses })
    await assert.eventually(() => hub.peers().length === 1, 5_000, 'linked')
    const peer = hub.peers()[0]!
    const send = (data: unknown): void => { (hub.services as unknown as { raw: ReturnType<typeof rawService.create> }).raw.send(peer, 'ice.servers', data) }
    send({ servers: [{ scheme: 'stun', port: 3478, host: 'evil.example' }] })
    send({ servers: [{ scheme: 'stun', port: 0 }] })
    send({ servers: [{ scheme: 'stun', port: 3478, username: 'u', credential: 'c' }] })
    send({ servers: [{ scheme: 'ftp', port: 21 }] })
    send({ servers: Array(5).fill({ scheme: 'stun', port: 3478 }) })
    await assert.eventually(() => node.metrics.get('drops.ice-invalid') === 4, 5_000, 'malformed offers dropped')
    // the one with an extra `host` field is well-formed: its host is ignored, the dialled one used
    expect(node.metrics.get('ice.offers-received')).toBe(1)
  })
})

/** A service that sends reserved frames as the node's own protocols do (what a hostile peer could send). */
const rawService = {
  name: 'raw',
  create: (ctx: ServiceContext) => ({ send: (peer: Peer, type: string, data: unknown) => ctx.send(peer, type, data) })
}
