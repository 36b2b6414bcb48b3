import * as nodeCrypto from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { installEd25519, nodeEd25519 } from '../src/index.js'
import { sign, signAsync, signingKeyPairFromSeed, verify, verifyAsync } from '../src/wire/crypto.js'
import { fromBase64Url, toBase64Url } from '../src/util/bytes.js'

afterEach(() => { installEd25519(undefined) })

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('nodeEd25519 (node:crypto, injected)', () => {
  it('signs the JavaScript curve\'s bytes (RFC 8032 is deterministic) and verifies them, for random keys and messages', () => {
    const native = nodeEd25519(nodeCrypto)
    for (let i = 0; i < 20; i++) {
      const { publicKey, secretKey } = signingKeyPairFromSeed(nodeCrypto.randomBytes(32))
      const msg = nodeCrypto.randomBytes(i * 37)
      const sig = native.sign(msg, secretKey)
      expect(hex(sig)).toBe(hex(sign(msg, secretKey)))
      expect(native.verify(sig, msg, publicKey)).toBe(true)
      const bad = sig.slice()
      bad[i % 64]! ^= 1
      expect(native.verify(bad, msg, publicKey)).toBe(false)
    }
    // not a key: false, not a throw
    expect(native.verify(new Uint8Array(64), new Uint8Array(1), new Uint8Array(31))).toBe(false)
  })

  it('signs with the seed of the array it is given now, not a key it parsed for that array before', () => {
    const native = nodeEd25519(nodeCrypto)
    const a = signingKeyPairFromSeed(new Uint8Array(32).fill(1))
    const b = signingKeyPairFromSeed(new Uint8Array(32).fill(2))
    const key = a.secretKey.slice()
    const msg = new Uint8Array([1, 2, 3])
    expect(native.verify(native.sign(msg, key), msg, a.publicKey)).toBe(true)
    key.set(b.secretKey)
    expect(native.verify(native.sign(msg, key), msg, b.publicKey)).toBe(true)
  })
})

describe('installEd25519', () => {
  it('signs through it; a "valid" from it is final, an "invalid" goes to the JavaScript curve (ZIP-215) to decide', async () => {
    const { publicKey, secretKey } = signingKeyPairFromSeed(new Uint8Array(32).fill(3))
    const msg = new Uint8Array([9])
    const good = sign(msg, secretKey)
    const bad = good.slice()
    bad[0]! ^= 1
    const calls = { sign: 0, verify: 0 }
    // a native verifier that refuses everything: the JavaScript rules still accept the good one
    installEd25519({ sign: (m, k) => { calls.sign++; return nodeEd25519(nodeCrypto).sign(m, k) }, verify: () => { calls.verify++; return false } })
    expect(hex(sign(msg, secretKey))).toBe(hex(good))
    expect(hex(await signAsync(msg, secretKey))).toBe(hex(good))
    expect(verify(good, msg, publicKey)).toBe(true)
    expect(await verifyAsync(good, msg, publicKey)).toBe(true)
    expect(verify(bad, msg, publicKey)).toBe(false)
    expect(calls).toEqual({ sign: 2, verify: 3 })
    // a native "valid" is taken as it is (the JavaScript curve is not asked)
    installEd25519({ sign: () => good, verify: () => true })
    expect(verify(bad, msg, publicKey)).toBe(true)
    // wrong sizes never reach it
    expect(verify(good.subarray(1), msg, publicKey)).toBe(false)
    installEd25519(undefined)
    expect(verify(bad, msg, publicKey)).toBe(false)
  })

  it('toBase64Url and fromBase64Url are RFC 4648 base64url without padding (the JWK of a key)', () => {
    for (let n = 0; n < 40; n++) {
      const b = nodeCrypto.randomBytes(n)
      expect(toBase64Url(b)).toBe(b.toString('base64url'))
      expect(Buffer.from(fromBase64Url(b.toString('base64url'))).equals(b)).toBe(true)
    }
  })
})
