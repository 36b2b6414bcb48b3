import type { NativeEd25519 } from './crypto.js'
import { SEED_BYTES } from './crypto.js'
import { toBase64Url } from '../util/bytes.js'

/** What `nodeEd25519` takes of `node:crypto` (injected: core imports no `node:*`). */
export interface NodeEd25519Api {
  /** `key`: DER as a Uint8Array (node:crypto's types say Buffer; it takes any view). */
  createPrivateKey: (opts: { key: never, format: 'der', type: 'pkcs8' }) => object
  createPublicKey: (opts: { key: { kty: 'OKP', crv: 'Ed25519', x: string }, format: 'jwk' }) => object
  sign: (algorithm: null, data: Uint8Array, key: never) => Uint8Array
  verify: (algorithm: null, data: Uint8Array, key: never, signature: Uint8Array) => boolean
}

/** RFC 8410's PKCS #8 wrapping of an ed25519 seed (node:crypto takes no raw private key). */
const ED25519_PKCS8 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20)
/** Public keys kept parsed (peers come back); the table starts over when full. */
const MAX_PUBLIC_KEYS = 1024

/**
 * node:crypto's ed25519 (OpenSSL) for `installEd25519(nodeEd25519(await import('node:crypto')))`.
 * A private key is made from the seed alone, as the JavaScript curve does (the public half of
 * `secretKey` is not trusted), and parsed once per secret key: PKCS #8 costs ~30 signatures.
 * A verification OpenSSL refuses (or that throws: a key not on the curve) returns false, which
 * sends it to the JavaScript curve's ZIP-215 rules.
 */
export function nodeEd25519 (api: NodeEd25519Api): NativeEd25519 {
  const secrets = new WeakMap<Uint8Array, [object, Uint8Array]>()
  const publics = new Map<string, object>()
  return {
    sign (message, secretKey) {
      let known = secrets.get(secretKey)
      // the bytes are compared too: a caller may refill its array with another key
      if (known === undefined || known[1].some((b, i) => b !== secretKey[i])) {
        const der = new Uint8Array(48)
        der.set(ED25519_PKCS8)
        der.set(secretKey.subarray(0, SEED_BYTES), 16)
        secrets.set(secretKey, known = [api.createPrivateKey({ key: der as never, format: 'der', type: 'pkcs8' }), secretKey.slice()])
      }
      const sig = api.sign(null, message, known[0] as never)
      return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength)
    },
    verify (signature, message, publicKey) {
      try {
        const x = toBase64Url(publicKey)
        let key = publics.get(x)
        if (key === undefined) {
          if (publics.size >= MAX_PUBLIC_KEYS) publics.clear()
          publics.set(x, key = api.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }))
        }
        return api.verify(null, message, key as never, signature)
      } catch {
        return false
      }
    }
  }
}
