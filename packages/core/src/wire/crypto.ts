/**
 * The one place that touches cryptographic libraries. Each is a tree-shakable ES module that
 * runs unchanged in browsers and Node, and each is byte-identical to tweetnacl (RFC 8032 and
 * RFC 7748 are deterministic; secretbox is NaCl's construction, tag first), so the test
 * vectors in docs/protocol.md pin them all:
 * - @noble/ed25519: signatures, ZIP-215 verification;
 * - StableLib (the modular successor of tweetnacl-js, by its author): XSalsa20 and Poly1305
 *   for secretbox (the per-frame hot path: NaCl's construction is written out below, as
 *   `@stablelib/nacl` writes it, so that a bundle does not carry that package's random source), and the hashes of the sync API (SHA-256,
 *   SHA-512, HMAC, HKDF) and the X25519 fallback in `js-crypto.ts`. The async API (the
 *   handshake, the node's identity) hashes and does X25519 with WebCrypto (`web-crypto.ts`), so
 *   that a bundle without the sync API (hearsay/lite) carries no JavaScript hash or curve.
 * docs/decisions.md ("Crypto libraries") has the speed and bundle-size measurements.
 */
import * as ed25519 from '@noble/ed25519'
import { oneTimeAuth } from '@stablelib/poly1305'
import { stream, streamXOR } from '@stablelib/xsalsa20'
import { hkdfSync, hmacSync, sha256Sync, syncHash } from './js-crypto.js'
import { ed25519PublicKeyAsync, ed25519SignAsync, ed25519VerifyAsync } from './web-crypto.js'

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
  return keyPair(seed, await ed25519PublicKeyAsync(seed))
}

/**
 * A platform's own ed25519 (`installEd25519`), e.g. node:crypto's (`nodeEd25519`).
 * - `sign`: RFC 8032 signatures are deterministic, so its bytes are the JavaScript curve's.
 * - `verify`: true only for a signature it accepts. Its false is not final: the JavaScript
 *   curve (ZIP-215) then decides, so every peer accepts exactly the same signatures. This
 *   holds because whatever a strict RFC 8032 verifier (OpenSSL) accepts, ZIP-215 accepts too: it
 *   takes every encoding strict rules take and its cofactored equation follows from theirs.
 */
export interface NativeEd25519 {
  sign: (message: Uint8Array, secretKey: Uint8Array) => Uint8Array
  verify: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
}

let native: NativeEd25519 | undefined

/**
 * Signs and verifies through `impl` from now on (`undefined`: JavaScript alone). `hearsay`'s
 * Node entries and the relay install node:crypto's: a quarter of a handshake's CPU went to
 * signing and most of the rest to verifying (docs/decisions.md, "Crypto libraries").
 */
export function installEd25519 (impl: NativeEd25519 | undefined): void { native = impl }

export function sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (native !== undefined) return native.sign(message, secretKey)
  syncHash()
  return ed25519.sign(message, secretKey.subarray(0, SEED_BYTES))
}

export async function signAsync (message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  return native !== undefined ? native.sign(message, secretKey) : await ed25519SignAsync(message, secretKey.subarray(0, SEED_BYTES))
}

/** Well-sized, and if a native verifier says "valid", no more to check (`NativeEd25519`). */
const verifiable = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean | undefined =>
  signature.length === SIGNATURE_BYTES && publicKey.length === PUBLIC_KEY_BYTES && (native?.verify(signature, message, publicKey) === true || undefined)

export function verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const quick = verifiable(signature, message, publicKey)
  if (quick !== undefined) return quick
  syncHash()
  try {
    return ed25519.verify(signature, message, publicKey)
  } catch {
    return false
  }
}

export async function verifyAsync (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  return verifiable(signature, message, publicKey) ?? await ed25519VerifyAsync(signature, message, publicKey)
}

export interface DhKeyPair { publicKey: Uint8Array, secretKey: Uint8Array }

/**
 * NaCl's secretbox (XSalsa20-Poly1305, the tag first), step for step as `@stablelib/nacl` (and
 * tweetnacl) compute it: the first 64-byte block of the stream gives the Poly1305 key (its first
 * 32 bytes) and encrypts the first 32 bytes of the message (its last 32); the stream from block 1
 * on encrypts the rest. `counter` is the nonce followed by the 8-byte block counter.
 */
function firstBlock (key: Uint8Array, nonce: Uint8Array, counter: Uint8Array): Uint8Array {
  if (nonce.length !== BOX_NONCE_BYTES) throw new TypeError(`a secretbox nonce is ${BOX_NONCE_BYTES} bytes`)
  counter.set(nonce)
  return stream(key, counter, new Uint8Array(64), 8)
}

/** Encrypts or decrypts `src` into `dst` (the same length) after the first block gave the Poly1305 key. */
function xorBody (key: Uint8Array, counter: Uint8Array, block: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
  for (let i = 0; i < 32 && i < src.length; i++) dst[i] = src[i]! ^ block[32 + i]!
  if (src.length > 32) streamXOR(key, counter, src.subarray(32), dst.subarray(32), 8)
}

export function secretbox (plain: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  const counter = new Uint8Array(BOX_NONCE_BYTES + 8)
  const block = firstBlock(key, nonce, counter)
  const out = new Uint8Array(BOX_OVERHEAD + plain.length)
  const body = out.subarray(BOX_OVERHEAD)
  xorBody(key, counter, block, plain, body)
  out.set(oneTimeAuth(block.subarray(0, 32), body))
  // the key stream is secret (the library wipes it too)
  block.fill(0)
  return out
}

/** Returns null when authentication fails. */
export function secretboxOpen (boxed: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null {
  if (boxed.length < BOX_OVERHEAD) return null
  const counter = new Uint8Array(BOX_NONCE_BYTES + 8)
  const block = firstBlock(key, nonce, counter)
  const body = boxed.subarray(BOX_OVERHEAD)
  let out: Uint8Array | null = null
  if (constantTimeEqual(oneTimeAuth(block.subarray(0, 32), body), boxed.subarray(0, BOX_OVERHEAD))) {
    out = new Uint8Array(body.length)
    xorBody(key, counter, block, body, out)
  }
  block.fill(0)
  return out
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
