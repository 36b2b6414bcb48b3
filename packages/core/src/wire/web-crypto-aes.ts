import type { CipherSuite } from './cipher-suite.js'
import { AES_256_GCM } from './cipher-suite.js'
import { DecryptError } from '../util/errors.js'
import { buf } from './web-crypto.js'

const AES_GCM = 'AES-GCM'

/**
 * The part of WebCrypto's `crypto.subtle` the suite uses, typed here: a Node application may
 * compile without the DOM library, which declares `SubtleCrypto`. Methods, so that
 * `crypto.subtle` fits.
 */
export interface AesGcmSubtle {
  importKey (format: 'raw', key: Uint8Array<ArrayBuffer>, algorithm: 'AES-GCM', extractable: false, usages: Array<'encrypt' | 'decrypt'>): Promise<unknown>
  encrypt (algorithm: { name: 'AES-GCM', iv: Uint8Array<ArrayBuffer> }, key: unknown, data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer>
  decrypt (algorithm: { name: 'AES-GCM', iv: Uint8Array<ArrayBuffer> }, key: unknown, data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer>
}

/**
 * AES-256-GCM through WebCrypto (`crypto.subtle`), for browsers: the same suite on the wire as
 * `aes256Gcm(node:crypto)` (id 2, 12-byte nonce, ciphertext then the 16-byte tag), so a page
 * and a Node relay seal with AES-GCM. WebCrypto is asynchronous: the secure channel seals and
 * opens one coalesced batch per call and keeps frame order. The full `hearsay` browser entry
 * installs it; `hearsay/lite` keeps XSalsa20-Poly1305 (its bundle budget).
 */
export function webCryptoAes256Gcm (subtle: AesGcmSubtle = globalThis.crypto.subtle): CipherSuite {
  return {
    id: AES_256_GCM,
    name: 'aes-256-gcm',
    nonceBytes: 12,
    create: (rawKey) => {
      let key: unknown
      const imported = subtle.importKey('raw', buf(rawKey.slice()), AES_GCM, false, ['encrypt', 'decrypt']).then((k) => { key = k })
      // WebCrypto copies the nonce and the data when called (the box stream reuses its nonce
      // buffer); until the key is imported, at a link's first frames, they are copied here
      const run = async (op: 'encrypt' | 'decrypt', data: Uint8Array, nonce: Uint8Array): Promise<Uint8Array> => {
        if (key === undefined) {
          const [iv, bytes] = [nonce.slice(), data.slice()]
          await imported
          return new Uint8Array(await subtle[op]({ name: AES_GCM, iv: buf(iv) }, key!, buf(bytes)))
        }
        return new Uint8Array(await subtle[op]({ name: AES_GCM, iv: buf(nonce) }, key, buf(data)))
      }
      return {
        seal: async (plain, nonce) => await run('encrypt', plain, nonce),
        open: async (boxed, nonce) => {
          try { return await run('decrypt', boxed, nonce) } catch (err) { throw new DecryptError(undefined, { cause: err }) }
        }
      }
    }
  }
}
