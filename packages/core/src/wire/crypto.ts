/**
 * The one place that touches cryptographic libraries. Each is a tree-shakable ES module that
 * runs unchanged in browsers and Node, and each is byte-identical to tweetnacl (RFC 8032 and
 * RFC 7748 are deterministic; secretbox is NaCl's construction, tag first), so the test
 * vectors in docs/protocol.md pin them all:
 * - @noble/ed25519: signatures, ZIP-215 verification;
 * - StableLib (the modular successor of tweetnacl-js, by its author): secretbox
 *   (xsalsa20-poly1305, the per-frame hot path), and the hashes of the sync API (SHA-256,
 *   SHA-512, HMAC, HKDF) and the X25519 fallback in `js-crypto.ts`. The async API (the
 *   handshake, the node's identity) hashes and does X25519 with WebCrypto (`web-crypto.ts`), so
 *   that a bundle without the sync API (hearsay/lite) carries no JavaScript hash or curve.
 * docs/decisions.md ("Crypto libraries") has the speed and bundle-size measurements.
 */
import * as ed25519 from '@noble/ed25519'
import { openSecretBox, secretBox } from '@stablelib/nacl/lib/secretbox.js'
import { hkdfSync, hmacSync, sha256Sync, syncHash } from './js-crypto.js'
import { asyncHash } from './web-crypto.js'
import { UnsupportedError } from '../util/errors.js'

export const PUBLIC_KEY_BYTES = 32
export const SECRET_KEY_BYTES = 64
export const SEED_BYTES = 32
export const SIGNATURE_BYTES = 64
export const DH_BYTES = 32
export const BOX_KEY_BYTES = 32
export const BOX_NONCE_BYTES = 24
export const BOX_OVERHEAD = 16

export interface SigningKeyPair {
  /** 32-byte ed25519 public key. */
  publicKey: Uint8Array
  /** 64 bytes: the 32-byte seed followed by the public key (tweetnacl's layout). */
  secretKey: Uint8Array
}

function keyPair (seed: Uint8Array, publicKey: Uint8Array): SigningKeyPair {
  const secretKey = new Uint8Array(SECRET_KEY_BYTES)
  secretKey.set(seed)
  secretKey.set(publicKey, SEED_BYTES)
  return { publicKey, secretKey }
}

function checkSeed (seed: Uint8Array): void {
  if (seed.length !== SEED_BYTES) throw new TypeError(`seed must be ${SEED_BYTES} bytes`)
}

export function signingKeyPairFromSeed (seed: Uint8Array): SigningKeyPair {
  checkSeed(seed)
  syncHash()
  return keyPair(seed, ed25519.getPublicKey(seed))
}

export async function signingKeyPairFromSeedAsync (seed: Uint8Array): Promise<SigningKeyPair> {
  checkSeed(seed)
  asyncHash()
  return keyPair(seed, await ed25519.getPublicKeyAsync(seed))
}

export function sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  syncHash()
  return ed25519.sign(message, secretKey.subarray(0, SEED_BYTES))
}

export async function signAsync (message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  asyncHash()
  return await ed25519.signAsync(message, secretKey.subarray(0, SEED_BYTES))
}

const verifiable = (signature: Uint8Array, publicKey: Uint8Array): boolean =>
  signature.length === SIGNATURE_BYTES && publicKey.length === PUBLIC_KEY_BYTES

export function verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!verifiable(signature, publicKey)) return false
  syncHash()
  try {
    return ed25519.verify(signature, message, publicKey)
  } catch {
    return false
  }
}

export async function verifyAsync (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (!verifiable(signature, publicKey)) return false
  asyncHash()
  try {
    return await ed25519.verifyAsync(signature, message, publicKey)
  } catch (err) {
    // a malformed key or signature is a failed check; no WebCrypto is not
    if (err instanceof UnsupportedError) throw err
    return false
  }
}

export interface DhKeyPair { publicKey: Uint8Array, secretKey: Uint8Array }

export function secretbox (plain: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  return secretBox(key, nonce, plain)
}

/** Returns null when authentication fails. */
export function secretboxOpen (boxed: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null {
  if (boxed.length < BOX_OVERHEAD) return null
  return openSecretBox(key, nonce, boxed)
}

export function hash (data: Uint8Array): Uint8Array {
  return sha256Sync(data)
}

export function mac (key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmacSync(key, data)
}

export function deriveKeys (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfSync(ikm, salt, info, length)
}

export function constantTimeEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let acc = 0
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!
  return acc === 0
}
