import * as ed25519 from '@noble/ed25519'
import { hash as sha256, SHA256 } from '@stablelib/sha256'
import { hash as sha512 } from '@stablelib/sha512'
import { hmac } from '@stablelib/hmac'
import { HKDF } from '@stablelib/hkdf'
import { scalarMult } from '@stablelib/x25519'
import { setJsFallback } from './web-crypto.js'

/**
 * The hashes in JavaScript (StableLib): what the sync API needs (state and membership
 * signatures, merkle leaves, `smartRelay`, `toNetworkKey`, `generateIdentity`), and what the
 * async API falls back to where WebCrypto is missing (a page served over plain http from a
 * LAN address is not a secure context: it has no `crypto.subtle`). A module of its own, which
 * a bundle that only handshakes (hearsay/lite) leaves out: 3.6 kB gzip.
 */

/** Installs SHA-512 for @noble/ed25519's sync API (it ships without a hash to stay small). */
export function syncHash (): void {
  const hashes = ed25519.hashes as { sha512?: (message: Uint8Array) => Uint8Array }
  hashes.sha512 ??= sha512
}

export const sha256Sync = (data: Uint8Array): Uint8Array => sha256(data)
export const hmacSync = (key: Uint8Array, data: Uint8Array): Uint8Array => hmac(SHA256, key, data)
export const hkdfSync = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array => new HKDF(SHA256, ikm, salt, info).expand(length)

/**
 * Lets the async API work without WebCrypto. The full SDK's `createNode` (of `@hearsay/core`
 * and `hearsay`) calls it; `hearsay/lite`'s does not, and there a page without a secure
 * context fails to start with `UnsupportedError` saying so.
 */
export function installJsCrypto (): void {
  syncHash()
  const hashes = ed25519.hashes as { sha512Async?: (message: Uint8Array) => Promise<Uint8Array> }
  // noble's own default asks crypto.subtle, which this fallback is for doing without
  hashes.sha512Async = async (m) => sha512(m)
  setJsFallback({
    sha256: sha256Sync,
    hmac: hmacSync,
    hkdf: hkdfSync,
    x25519: scalarMult,
    ed25519: {
      publicKey: async (seed) => await ed25519.getPublicKeyAsync(seed),
      sign: async (message, seed) => await ed25519.signAsync(message, seed),
      verify: async (signature, message, publicKey) => { try { return await ed25519.verifyAsync(signature, message, publicKey) } catch { return false } }
    }
  })
}
