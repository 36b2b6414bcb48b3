/**
 * Issue 18, "nothing for keyless clients", over WebRTC's data channel (node-datachannel): a
 * client that reaches a node's data channel without the network key (a hello under another
 * key, or random bytes) gets the channel closed with nothing said, as over ws and tcp
 * (transport-ws/test/keyless-client.test.ts). The raw connection is dialled with the transport
 * itself, so no secure channel runs on the client's side; the node on the far end runs its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateIdentity, initiator, toNetworkKey } from '@hearsay/core'
import type { Connection, Transport } from '@hearsay/core'
import { assert } from '@hearsay/core/compliance'
import { inNetns, SignalNet } from './helpers.js'
import type { Member } from './helpers.js'

/**
 * Sends `bytes` on a raw data channel to `target`; resolves with what came back once the far end
 * closed it: frames, and the reason its close carried (a data channel's close is an in-band
 * close code, so a reason other than `undefined` would tell the client something).
 */
async function probe (client: Transport, target: Member, bytes: Uint8Array): Promise<{ frames: number, reason: string | undefined, closed: boolean }> {
  const conn: Connection = await client.dial(`webrtc:${target.node.id}`)
  let frames = 0
  const closed = new Promise<Error | undefined>(resolve => { conn.setHandlers({ onMessage: () => { frames++ }, onClose: (reason) => { resolve(reason) } }) })
  conn.send(bytes)
  const reason = await assert.within(closed, 10_000, 'the far end to close the data channel')
  return { frames, reason: reason?.message, closed: conn.closed }
}

describe.skipIf(!inNetns)('a keyless client over a WebRTC data channel', () => {
  let net: SignalNet
  let client: Member
  let target: Member
  beforeAll(async () => {
    // every node has the relay's network key (they signal through it); the client's raw channel carries none
    const networkKey = 'a closed network'
    net = await new SignalNet({ networkKey, handshakeTimeout: 2000 }).start()
    target = await net.member({ networkKey, handshakeTimeout: 2000, listen: ['webrtc:*'] })
    client = await net.member({ networkKey })
  })
  afterAll(async () => { await net.stop() })

  it('a hello under another network key: closed with no frame and a plain close (no reason)', async () => {
    const hello = await initiator({ identity: generateIdentity(), networkKey: toNetworkKey('not the key') }).hello()
    expect(await probe(client.transport, target, hello)).toEqual({ frames: 0, reason: undefined, closed: true })
    await assert.eventually(() => target.node.metrics.get('handshake.failures') >= 1, 5000, 'the failure counted')
  })

  it('64 random bytes: the same', async () => {
    const before = target.node.metrics.get('handshake.failures')
    expect(await probe(client.transport, target, crypto.getRandomValues(new Uint8Array(64)))).toEqual({ frames: 0, reason: undefined, closed: true })
    await assert.eventually(() => target.node.metrics.get('handshake.failures') > before, 5000, 'the failure counted')
  })
})
