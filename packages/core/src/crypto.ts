/**
 * The one place that touches cryptographic libraries. tweetnacl gives x25519 and secretbox
 * (xsalsa20-poly1305); @noble/curves gives ed25519 signatures, byte-identical to tweetnacl's
 * (RFC 8032 is deterministic) and about ten times faster on this machine class; @noble/hashes
 * gives SHA-256, HMAC and HKDF. All run unchanged in browsers and Node.
 */
import nacl from 'tweetnacl'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { hkdf } from '@noble/hashes/hkdf.js'

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

export function signingKeyPairFromSeed (seed: Uint8Array): SigningKeyPair {
  if (seed.length !== SEED_BYTES) throw new TypeError(`seed must be ${SEED_BYTES} bytes`)
  const kp = nacl.sign.keyPair.fromSeed(seed)
  return { publicKey: kp.publicKey, secretKey: kp.secretKey }
}

export function sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey.subarray(0, SEED_BYTES))
}

export function verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false
  try {
    return ed25519.verify(signature, message, publicKey)
  } catch {
    return false
  }
}

export interface DhKeyPair { publicKey: Uint8Array, secretKey: Uint8Array }

export function dhKeyPairFromSecret (secretKey: Uint8Array): DhKeyPair {
  if (secretKey.length !== DH_BYTES) throw new TypeError(`x25519 secret must be ${DH_BYTES} bytes`)
  return { publicKey: nacl.scalarMult.base(secretKey), secretKey }
}

/** x25519; returns null for a low-order public key (an all-zero shared secret). */
export function dh (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  const shared = nacl.scalarMult(secretKey, publicKey)
  let acc = 0
  for (const b of shared) acc |= b
  return acc === 0 ? null : shared
}

export function secretbox (plain: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  return nacl.secretbox(plain, nonce, key)
}

/** Returns null when authentication fails. */
export function secretboxOpen (boxed: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null {
  if (boxed.length < BOX_OVERHEAD) return null
  return nacl.secretbox.open(boxed, nonce, key)
}

export function hash (data: Uint8Array): Uint8Array {
  return sha256(data)
}

export function mac (key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(sha256, key, data)
}

export function deriveKeys (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdf(sha256, ikm, salt, info, length)
}

export function constantTimeEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let acc = 0
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!
  return acc === 0
}
