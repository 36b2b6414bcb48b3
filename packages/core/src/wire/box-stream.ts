import { BOX_NONCE_BYTES, secretbox, secretboxOpen } from './crypto.js'
import { DecryptError } from '../util/errors.js'

/**
 * Per-direction frame encryption after the handshake. The nonce is an implicit counter (not
 * sent): 16 zero bytes then the frame number as a big-endian u64. Keys differ per direction,
 * so a nonce never repeats under a key, and a dropped, replayed, reordered or altered frame
 * fails authentication.
 */
export class BoxStream {
  #counter = 0
  readonly #nonce = new Uint8Array(BOX_NONCE_BYTES)
  readonly #view = new DataView(this.#nonce.buffer)
  constructor (private readonly key: Uint8Array) {}

  #next (): Uint8Array {
    // 2^53 frames per session is beyond any real connection's life
    this.#view.setUint32(16, Math.floor(this.#counter / 0x100000000))
    this.#view.setUint32(20, this.#counter >>> 0)
    this.#counter++
    return this.#nonce
  }

  seal (plain: Uint8Array): Uint8Array {
    return secretbox(plain, this.#next(), this.key)
  }

  /** Throws `DecryptError` when the frame does not authenticate. */
  open (boxed: Uint8Array): Uint8Array {
    const plain = secretboxOpen(boxed, this.#next(), this.key)
    if (plain === null) throw new DecryptError()
    return plain
  }
}
