/**
 * The main `hearsay` entry (Node): `hearsay/lite` plus WebRTC when node-datachannel loads, and
 * the optional wrapper that keeps a node working without it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as main from '../src/main.node.js'
import { createNode, memoryStore, optionalWebRTC } from '../src/main.node.js'
import type { HearsayNode, Logger } from '../src/main.node.js'
import { withWebRTCListen } from '../src/with-webrtc.js'

const nodes: HearsayNode[] = []
afterEach(async () => { while (nodes.length > 0) await nodes.pop()!.stop() })
async function started (o: Parameters<typeof createNode>[0]): Promise<HearsayNode> {
  const n = createNode({ store: memoryStore(), ...o })
  nodes.push(n)
  await n.start()
  return n
}

describe('hearsay (main Node entry)', () => {
  it('exports everything of hearsay/lite, plus optionalWebRTC', () => {
    expect(typeof main.levelStore).toBe('function')
    expect(typeof main.webSockets).toBe('function')
    expect(typeof main.optionalWebRTC).toBe('function')
    expect(main.DEFAULT_STORE).toBe('./.hearsay')
  })

  it('listens for WebRTC offers by default and advertises webrtc:<id>', async () => {
    const n = await started({ listen: ['ws://127.0.0.1:0'] })
    expect(n.addresses[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    expect(n.addresses).toContain(`webrtc:${n.id}`)
  })

  it('webrtc: false, or transports of its own, leaves WebRTC out', async () => {
    expect((await started({ webrtc: false })).addresses).toEqual([])
    expect((await started({ transports: [main.webSockets()], listen: ['ws://127.0.0.1:0'] })).addresses).toHaveLength(1)
    expect(() => createNode({ store: memoryStore(), webrtc: 1 as unknown as false })).toThrow(TypeError)
  })

  it('carries every service by default (the full SDK); a services list of its own wins', async () => {
    const full = await started({ webrtc: false })
    full.state.set('k', 'v')
    expect(full.state.get('k')).toBe('v')
    expect(typeof full.events.say).toBe('function')
    expect(typeof full.createBroadcastStream).toBe('function')
    const some = await started({ webrtc: false, services: [main.eventsService()] })
    expect(typeof some.events.hear).toBe('function')
    expect(() => some.state).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }))
  })

  it('adds webrtc:* once', () => {
    expect(withWebRTCListen(undefined)).toEqual(['webrtc:*'])
    expect(withWebRTCListen(['tcp://127.0.0.1:0'])).toEqual(['tcp://127.0.0.1:0', 'webrtc:*'])
    expect(withWebRTCListen(['webrtc:*'])).toEqual(['webrtc:*'])
  })

  it('without node-datachannel the node still starts: a warning, no webrtc address, dials refused as unsupported', async () => {
    const warnings: string[] = []
    const logger: Logger = { debug: () => {}, info: () => {}, warn: (m) => warnings.push(m), error: () => {} }
    const missing = optionalWebRTC({}, async () => { throw new Error("Cannot find module 'node-datachannel'") })
    const n = await started({ transports: [missing], listen: ['webrtc:*'], logger })
    expect(n.addresses).toEqual([])
    expect(warnings.join('\n')).toMatch(/WebRTC is off/)
    await expect(n.dial(`webrtc:${'a'.repeat(52)}`)).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('node-datachannel') })
  })
})
