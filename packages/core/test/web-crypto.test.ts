/**
 * The handshake and the node's identity hash with WebCrypto. A page that is not a secure context
 * (plain http from a LAN address) has no `crypto.subtle`: there `hearsay/lite` (a bare
 * `HearsayNode`) fails loudly, and the full SDK (`createNode`) falls back to JavaScript hashes
 * with the same bytes. The checks of this file run in order: the fallback, once installed,
 * stays for the module's life.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { HearsayNode, MemoryNetwork, createNode, identityFromSeed, initiator, installJsCrypto, plainChannel, responder, toHex, toNetworkKey } from '../src/index.js'

const I = identityFromSeed(new Uint8Array(32).fill(1))
const R = identityFromSeed(new Uint8Array(32).fill(2))
const K = toNetworkKey('test vectors')

async function handshake (): Promise<string[]> {
  const i = initiator({ identity: I, networkKey: K, ephemeralSecret: new Uint8Array(32).fill(3) })
  const r = responder({ identity: R, networkKey: K, ephemeralSecret: new Uint8Array(32).fill(4) })
  const m1 = await i.hello()
  const m2 = await r.hello(m1)
  const { auth: m3, result } = await i.reply(m2)
  const rr = await r.auth(m3)
  return [m1, m2, m3, result.sendKey, rr.sessionId].map(toHex)
}

afterEach(() => { vi.unstubAllGlobals() })

/** What an insecure context has: `crypto.getRandomValues`, no `crypto.subtle`. */
const insecure = (): void => {
  const real = globalThis.crypto
  vi.stubGlobal('crypto', { getRandomValues: real.getRandomValues.bind(real) })
}

describe('without WebCrypto (a page that is not a secure context)', () => {
  it('hearsay/lite (no JavaScript hashes installed): the handshake and start() fail with UnsupportedError naming the cure', async () => {
    const withWebCrypto = await handshake()
    insecure()
    await expect(handshake()).rejects.toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('https or from localhost') }))
    const node = new HearsayNode({ transports: [new MemoryNetwork().transport('a')], channel: plainChannel() })
    await expect(node.start()).rejects.toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }))
    vi.unstubAllGlobals()
    expect(await handshake()).toEqual(withWebCrypto)
  })

  it('the full SDK falls back to JavaScript hashes: the same bytes, and a node starts', async () => {
    const withWebCrypto = await handshake()
    installJsCrypto()
    insecure()
    expect(await handshake()).toEqual(withWebCrypto)
    const node = createNode({ transports: [new MemoryNetwork().transport('b')], channel: plainChannel() })
    await node.start()
    expect(node.id).toHaveLength(52)
    await node.stop()
  })
})
