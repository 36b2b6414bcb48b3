import type { CipherSuite, FrameCipher } from './cipher-suite.js'
import { xsalsa20Poly1305 } from './cipher-suite.js'
import { DecryptError } from '../util/errors.js'

/**
 * Per-direction frame encryption after the handshake, with the link's cipher suite
 * (XSalsa20-Poly1305 unless the handshake chose another). The nonce is an implicit counter (not
 * sent): zero bytes then the frame number as a big-endian u64 in the nonce's last 8 bytes. Keys
 * differ per direction, so a nonce never repeats under a key, and a dropped, replayed, reordered
 * or altered frame fails authentication.
 */
export class BoxStream {
  #counter = 0
  readonly #nonce: Uint8Array
  readonly #view: DataView
  readonly #cipher: FrameCipher
  constructor (key: Uint8Array, suite: CipherSuite = xsalsa20Poly1305) {
    this.#cipher = suite.create(key)
    this.#nonce = new Uint8Array(suite.nonceBytes)
    this.#view = new DataView(this.#nonce.buffer)
  }

  #next (): Uint8Array {
    // 2^53 frames per session is beyond any real connection's life
    const at = this.#nonce.length - 8
    this.#view.setUint32(at, Math.floor(this.#counter / 0x100000000))
    this.#view.setUint32(at + 4, this.#counter >>> 0)
    this.#counter++
    return this.#nonce
  }

  /** A promise with an asynchronous suite (the nonce is taken now: call in frame order). */
  seal (plain: Uint8Array): Uint8Array | Promise<Uint8Array> {
    return this.#cipher.seal(plain, this.#next())
  }

  /** Throws `DecryptError` when the frame does not authenticate (an asynchronous suite's promise rejects with it). */
  open (boxed: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const plain = this.#cipher.open(boxed, this.#next())
    if (plain === null) throw new DecryptError()
    return plain
  }
}
