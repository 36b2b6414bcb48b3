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

  it('a runtime whose WebCrypto has no X25519 (browsers before 2025): hearsay/lite fails the handshake with UnsupportedError, the full SDK falls back', async () => {
    vi.resetModules()
    const web = await import('../src/wire/web-crypto.js')
    const real = globalThis.crypto
    const subtle = real.subtle
    const importKey = subtle.importKey.bind(subtle) as (...a: unknown[]) => Promise<CryptoKey>
    vi.stubGlobal('crypto', {
      getRandomValues: real.getRandomValues.bind(real),
      subtle: new Proxy(subtle, {
        get: (t, k) => k === 'importKey'
          ? async (format: string, data: unknown, algorithm: { name?: string } | string, ...rest: unknown[]) => {
            if ((typeof algorithm === 'string' ? algorithm : algorithm.name) === 'X25519') throw new DOMException('Unrecognized name.', 'NotSupportedError')
            return await importKey(format, data, algorithm, ...rest)
          }
          : (t as unknown as Record<string | symbol, unknown>)[k] instanceof Function ? ((t as unknown as Record<string | symbol, (...a: unknown[]) => unknown>)[k]!).bind(t) : (t as unknown as Record<string | symbol, unknown>)[k]
      })
    })
    await expect(web.dhKeyPairAsync(new Uint8Array(32).fill(3))).rejects.toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('no X25519') }))
    // what installJsCrypto() installs (the full SDK): StableLib's X25519, the same bytes
    const { scalarMult } = await import('@stablelib/x25519')
    web.setJsFallback({ sha256: () => new Uint8Array(), hmac: () => new Uint8Array(), hkdf: () => new Uint8Array(), x25519: scalarMult, ed25519: { publicKey: async () => new Uint8Array(32), sign: async () => new Uint8Array(64), verify: async () => false } })
    expect(toHex((await web.dhKeyPairAsync(new Uint8Array(32).fill(3))).publicKey)).toBe(toHex(scalarMult(new Uint8Array(32).fill(3), Uint8Array.of(9, ...new Uint8Array(31)))))
    expect(await web.dhAsync(new Uint8Array(32).fill(3), new Uint8Array(32))).toBeNull()
    vi.resetModules()
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

/** `crypto` whose subtle runs `override(name, args)` first for one method (undefined: the real one). */
function stubSubtle (method: 'importKey' | 'verify', override: (algorithm: string, args: unknown[]) => unknown): void {
  const real = globalThis.crypto
  const subtle = real.subtle as unknown as Record<string | symbol, (...a: unknown[]) => unknown>
  vi.stubGlobal('crypto', {
    getRandomValues: real.getRandomValues.bind(real),
    subtle: new Proxy(subtle, {
      get: (t, k) => {
        const f = t[k]
        if (typeof f !== 'function') return f
        if (k !== method) return f.bind(t)
        return async (...args: unknown[]) => {
          const alg = (method === 'importKey' ? args[2] : args[0]) as { name?: string } | string
          const out = override(typeof alg === 'string' ? alg : alg.name ?? '', args)
          return out === undefined ? await f.apply(t, args) : await out
        }
      }
    })
  })
}

describe('ed25519 through WebCrypto', () => {
  const seed = new Uint8Array(32).fill(7)
  const msg = new Uint8Array([1, 2, 3])

  it('a runtime without Ed25519 (browsers before 2025): hearsay/lite fails with UnsupportedError, the full SDK falls back to the same bytes', async () => {
    vi.resetModules()
    const ref = await import('../src/wire/web-crypto.js')
    const pub = await ref.ed25519PublicKeyAsync(seed)
    const sig = await ref.ed25519SignAsync(msg, seed)
    vi.resetModules()
    const web = await import('../src/wire/web-crypto.js')
    stubSubtle('importKey', (alg) => alg === 'Ed25519' ? Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError')) : undefined)
    await expect(web.ed25519SignAsync(msg, seed)).rejects.toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('no Ed25519') }))
    await expect(web.ed25519VerifyAsync(sig, msg, pub)).rejects.toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }))
    const { installJsCrypto: install } = await import('../src/wire/js-crypto.js')
    install()
    expect(toHex(await web.ed25519PublicKeyAsync(seed))).toBe(toHex(pub))
    expect(toHex(await web.ed25519SignAsync(msg, seed))).toBe(toHex(sig))
    expect(await web.ed25519VerifyAsync(sig, msg, pub)).toBe(true)
    vi.resetModules()
  })

  it('WebCrypto\'s "invalid" is final in hearsay/lite and asks the JavaScript curve (ZIP-215) in the full SDK; its "valid" is final', async () => {
    vi.resetModules()
    const web = await import('../src/wire/web-crypto.js')
    const pub = await web.ed25519PublicKeyAsync(seed)
    const sig = await web.ed25519SignAsync(msg, seed)
    const bad = sig.slice()
    bad[5]! ^= 1
    expect(await web.ed25519VerifyAsync(sig, msg, pub)).toBe(true)
    expect(await web.ed25519VerifyAsync(bad, msg, pub)).toBe(false)
    // a stricter platform that refuses everything
    stubSubtle('verify', (alg) => alg === 'Ed25519' ? Promise.resolve(false) : undefined)
    expect(await web.ed25519VerifyAsync(sig, msg, pub)).toBe(false)
    const { installJsCrypto: install } = await import('../src/wire/js-crypto.js')
    install()
    expect(await web.ed25519VerifyAsync(sig, msg, pub)).toBe(true)
    expect(await web.ed25519VerifyAsync(bad, msg, pub)).toBe(false)
    vi.resetModules()
  })
})

describe('X25519 through WebCrypto', () => {
  it('gives the bytes of RFC 7748 (its test vector), null for low-order public keys, and the same as the JavaScript fallback', async () => {
    vi.resetModules()
    const { dhAsync, dhKeyPairAsync } = await import('../src/wire/web-crypto.js')
    const { scalarMult } = await import('@stablelib/x25519')
    const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map(b => parseInt(b, 16)))
    // RFC 7748, section 6.1
    const a = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    const b = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
    expect(toHex((await dhKeyPairAsync(a)).publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    const bPub = (await dhKeyPairAsync(b)).publicKey
    expect(toHex((await dhAsync(a, bPub))!)).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
    // low-order points: the all-zero point and the point of order 8 (cofactor) give an all-zero secret
    expect(await dhAsync(a, new Uint8Array(32))).toBeNull()
    expect(await dhAsync(a, fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'))).toBeNull()
    for (let i = 0; i < 20; i++) {
      const sk = crypto.getRandomValues(new Uint8Array(32))
      const pk = crypto.getRandomValues(new Uint8Array(32))
      expect(toHex((await dhAsync(sk, pk))!)).toBe(toHex(scalarMult(sk, pk)))
    }
    await expect(dhAsync(new Uint8Array(31), bPub)).rejects.toThrow(TypeError)
    // a key pair's private key is imported once and reused by the next X25519 of the same array;
    // an array refilled with another secret is not taken for the one before
    const sk = a.slice()
    const aPub = (await dhKeyPairAsync(sk)).publicKey
    sk.set(b)
    expect(toHex((await dhKeyPairAsync(sk)).publicKey)).toBe(toHex(bPub))
    expect(toHex((await dhAsync(sk, aPub))!)).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
  })

  it('a fresh pair made by WebCrypto (a handshake\'s ephemeral key) agrees with any other pair, and its secret holds no key bytes; without X25519 it comes from the random bytes', async () => {
    vi.resetModules()
    const web = await import('../src/wire/web-crypto.js')
    const { scalarMult } = await import('@stablelib/x25519')
    const drawn: Uint8Array[] = []
    const random = (): Uint8Array => { const b = crypto.getRandomValues(new Uint8Array(32)); drawn.push(b); return b }
    const a = await web.dhFreshKeyPairAsync(random)
    const b = await web.dhFreshKeyPairAsync(random)
    expect(drawn).toHaveLength(0) // WebCrypto made them
    expect(a.secretKey).toEqual(new Uint8Array(32))
    expect(toHex(a.publicKey)).not.toBe(toHex(b.publicKey))
    const ab = (await web.dhAsync(a.secretKey, b.publicKey))!
    expect(toHex(ab)).toBe(toHex((await web.dhAsync(b.secretKey, a.publicKey))!))
    // against a pair from known bytes, checked with the JavaScript curve
    const c = crypto.getRandomValues(new Uint8Array(32))
    const cPair = await web.dhKeyPairAsync(c)
    expect(toHex((await web.dhAsync(a.secretKey, cPair.publicKey))!)).toBe(toHex(scalarMult(c, a.publicKey)))
    expect(await web.dhAsync(a.secretKey, new Uint8Array(32))).toBeNull()

    // a runtime whose WebCrypto cannot generate X25519 keys: the pair comes from `random`
    vi.resetModules()
    const old = await import('../src/wire/web-crypto.js')
    const real = globalThis.crypto
    const subtle = real.subtle
    vi.stubGlobal('crypto', {
      getRandomValues: real.getRandomValues.bind(real),
      subtle: new Proxy(subtle, {
        get: (t, k) => k === 'generateKey'
          ? async () => { throw new DOMException('Unrecognized name.', 'NotSupportedError') }
          : (t as unknown as Record<string | symbol, unknown>)[k] instanceof Function ? ((t as unknown as Record<string | symbol, (...a: unknown[]) => unknown>)[k]!).bind(t) : (t as unknown as Record<string | symbol, unknown>)[k]
      })
    })
    try {
      const d = await old.dhFreshKeyPairAsync(random)
      expect(drawn).toHaveLength(1)
      expect(toHex(d.publicKey)).toBe(toHex(scalarMult(drawn[0]!, Uint8Array.of(9, ...new Uint8Array(31)))))
      expect(toHex(d.secretKey)).toBe(toHex(drawn[0]!))
    } finally {
      vi.unstubAllGlobals()
      vi.resetModules()
    }
  })
})
