/**
 * hearsay's Node entries sign and verify with node:crypto's ed25519 (`installEd25519`). RFC 8032 signatures
 * are deterministic, so a handshake with fixed keys must give the very bytes it gives with the
 * JavaScript curve, and a peer must accept them.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { identityFromSeed, initiator, installEd25519, responder, toNetworkKey } from '@hearsay/core'
import { installNodeCiphers } from '../src/node-ciphers.js'

afterEach(() => { installEd25519(undefined) })

const seeded = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)

/** Every message of one handshake with fixed identities and ephemeral secrets, as hex. */
async function transcript (k: number): Promise<string[]> {
  const common = { networkKey: toNetworkKey('signer test'), suites: [1] }
  const i = initiator({ ...common, identity: identityFromSeed(seeded(32, k)), ephemeralSecret: seeded(32, k + 1) })
  const r = responder({ ...common, identity: identityFromSeed(seeded(32, k + 2)), ephemeralSecret: seeded(32, k + 3) })
  const hello = await i.hello()
  const reply = await r.hello(hello)
  const { auth, result } = await i.reply(reply)
  const done = await r.auth(auth)
  expect(done.remoteId).toBe(identityFromSeed(seeded(32, k)).id)
  expect(result.remoteId).toBe(identityFromSeed(seeded(32, k + 2)).id)
  return [hello, reply, auth].map(b => Buffer.from(b).toString('hex'))
}

describe('node:crypto signer', () => {
  it('gives the JavaScript curve\'s bytes: the same handshakes, accepted by the other end', async () => {
    for (const k of [1, 40, 99, 200]) {
      installEd25519(undefined)
      const js = await transcript(k)
      installNodeCiphers()
      expect(await transcript(k)).toEqual(js)
    }
  })
})
