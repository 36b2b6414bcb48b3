import * as ed25519 from '@noble/ed25519'
import { hash as sha512 } from '@stablelib/sha512'

/**
 * @noble/ed25519 ships without a sync hash so that it stays small: its sync API (state and
 * membership signatures, `generateIdentity`) needs SHA-512 installed, which this does on first
 * use. A module of its own so that a bundle that only handshakes (hearsay/lite, async ed25519
 * over WebCrypto's SHA-512) leaves @stablelib/sha512 out: 2.1 kB gzip.
 */
export function syncHash (): void {
  const hashes = ed25519.hashes as { sha512?: (message: Uint8Array) => Uint8Array }
  hashes.sha512 ??= sha512
}
