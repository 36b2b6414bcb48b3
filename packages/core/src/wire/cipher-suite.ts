import { BOX_OVERHEAD, secretbox, secretboxOpen } from './crypto.js'

/**
 * The AEAD that seals the frames after the handshake (docs/protocol.md, "Cipher suites"). The
 * handshake picks one per link from the suites both ends list; the handshake's own two boxes
 * are always XSalsa20-Poly1305. A suite may be asynchronous (WebCrypto): the secure channel
 * keeps frame order either way.
 *
 * Core ships XSalsa20-Poly1305 (JavaScript, runs everywhere). AES-256-GCM needs a native
 * implementation, which core cannot import (it loads in browsers): the Node entries of
 * `hearsay` install `aes256Gcm(node:crypto)`; an application on `@hearsay/core` in Node does
 * the same with `installCipherSuite`.
 */
export interface CipherSuite {
  /** One byte on the wire. */
  readonly id: number
  readonly name: string
  /** Nonce length: the frame counter is written big-endian into its last 8 bytes, the rest is zero. */
  readonly nonceBytes: number
  /** Per-direction state for one key (e.g. a prepared key object). */
  create: (key: Uint8Array) => FrameCipher
}

/**
 * Seals and opens one direction's frames. An asynchronous cipher (WebCrypto's) returns
 * promises: the secure channel still writes and delivers in frame order. A cipher reads the
 * `nonce`, the plaintext it seals and the frame it opens only during the call (WebCrypto copies
 * them at once): the callers reuse those buffers as soon as it returns.
 */
export interface FrameCipher {
  /** Ciphertext and 16-byte tag (`BOX_OVERHEAD`) for one frame. */
  seal: (plain: Uint8Array, nonce: Uint8Array) => Uint8Array | Promise<Uint8Array>
  /** The plaintext, or null when the frame does not authenticate (an asynchronous cipher's promise rejects with `DecryptError`). */
  open: (boxed: Uint8Array, nonce: Uint8Array) => Uint8Array | null | Promise<Uint8Array>
}

export const XSALSA20_POLY1305 = 1
export const AES_256_GCM = 2

/** NaCl's `crypto_secretbox` (tag first), 24-byte nonce. Every node has it. */
export const xsalsa20Poly1305: CipherSuite = {
  id: XSALSA20_POLY1305,
  name: 'xsalsa20-poly1305',
  nonceBytes: 24,
  create: (key) => ({
    seal: (plain, nonce) => secretbox(plain, nonce, key),
    open: (boxed, nonce) => secretboxOpen(boxed, nonce, key)
  })
}

/** The part of `node:crypto` that `aes256Gcm` uses (typed here: core does not import Node). */
export interface NodeCipherApi {
  createCipheriv: (algorithm: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array) => {
    update: (data: Uint8Array) => Uint8Array
    final: () => Uint8Array
    getAuthTag: () => Uint8Array
  }
  createDecipheriv: (algorithm: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array) => {
    update: (data: Uint8Array) => Uint8Array
    final: () => Uint8Array
    setAuthTag: (tag: Uint8Array) => unknown
  }
}

/**
 * AES-256-GCM through an injected `node:crypto` (`aes256Gcm(await import('node:crypto'))`):
 * 12-byte nonce, ciphertext then the 16-byte tag (as RFC 5116 and WebCrypto lay it out).
 */
export function aes256Gcm (api: NodeCipherApi): CipherSuite {
  return {
    id: AES_256_GCM,
    name: 'aes-256-gcm',
    nonceBytes: 12,
    create: (rawKey) => {
      const key = rawKey.slice()
      return {
        seal: (plain, nonce) => {
          const c = api.createCipheriv('aes-256-gcm', key, nonce)
          const body = c.update(plain)
          c.final()
          const out = new Uint8Array(body.length + BOX_OVERHEAD)
          out.set(body)
          out.set(c.getAuthTag(), body.length)
          return out
        },
        open: (boxed, nonce) => {
          if (boxed.length < BOX_OVERHEAD) return null
          const d = api.createDecipheriv('aes-256-gcm', key, nonce)
          d.setAuthTag(boxed.subarray(boxed.length - BOX_OVERHEAD))
          const plain = d.update(boxed.subarray(0, boxed.length - BOX_OVERHEAD))
          try { d.final() } catch { return null }
          // a plain view, not node's Buffer: core hands out no Buffer, and every later subarray
          // (a batch's entries, msgpack's bin values) is cheaper on a Uint8Array
          return plain.constructor === Uint8Array ? plain : new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength)
        }
      }
    }
  }
}

let installed: CipherSuite[] = []

/**
 * Offers `suite` in every secure channel's handshake from now on (one that lists no
 * `cipherSuites` of its own), ahead of XSalsa20-Poly1305 and of suites installed before it: the
 * last installed is preferred. Installing a suite of the same id again replaces it.
 */
export function installCipherSuite (suite: CipherSuite): void {
  installed = [suite, ...installed.filter(s => s.id !== suite.id && s.id !== XSALSA20_POLY1305)]
}

/** What a secure channel offers by default: the installed suites, then XSalsa20-Poly1305. @internal */
export function defaultCipherSuites (): CipherSuite[] {
  return [...installed, xsalsa20Poly1305]
}

/** Forgets installed suites (tests). @internal */
export function resetCipherSuites (): void { installed = [] }
