import * as ed25519 from '@noble/ed25519'
import { UnsupportedError } from '../util/errors.js'

/**
 * The handshake's hashes (SHA-256, HMAC, HKDF, and SHA-512 for ed25519) through the platform's
 * WebCrypto, so that a browser bundle carries no JavaScript hash for them. Where WebCrypto is
 * missing (a page that is not a secure context), the JavaScript ones of `js-crypto.ts` stand in
 * once `installJsCrypto()` ran; without them the call fails with `UnsupportedError`.
 */
interface JsFallback {
  sha256: (data: Uint8Array) => Uint8Array
  sha512: (data: Uint8Array) => Uint8Array
  hmac: (key: Uint8Array, data: Uint8Array) => Uint8Array
  hkdf: (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => Uint8Array
}

let fallback: JsFallback | undefined

/** @internal called by `installJsCrypto` */
export function setJsFallback (f: JsFallback): void { fallback = f }

const subtle = (): SubtleCrypto | undefined => globalThis.crypto?.subtle
/** WebCrypto's types want an ArrayBuffer-backed view; ours always are. */
const buf = (b: Uint8Array): Uint8Array<ArrayBuffer> => b as Uint8Array<ArrayBuffer>

function js (): JsFallback {
  if (fallback !== undefined) return fallback
  throw new UnsupportedError('WebCrypto (crypto.subtle) is missing: serve the page over https or from localhost, or use createNode from \'hearsay\' (it falls back to JavaScript hashes)')
}

async function sha512Async (message: Uint8Array): Promise<Uint8Array> {
  const s = subtle()
  return s === undefined ? js().sha512(message) : new Uint8Array(await s.digest('SHA-512', buf(message)))
}

/** Makes ed25519's async API hash through here (its own default needs WebCrypto). */
export function asyncHash (): void {
  (ed25519.hashes as { sha512Async: (m: Uint8Array) => Promise<Uint8Array> }).sha512Async = sha512Async
}

export async function hashAsync (data: Uint8Array): Promise<Uint8Array> {
  const s = subtle()
  return s === undefined ? js().sha256(data) : new Uint8Array(await s.digest('SHA-256', buf(data)))
}

export async function macAsync (key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const s = subtle()
  if (s === undefined) return js().hmac(key, data)
  const k = await s.importKey('raw', buf(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await s.sign('HMAC', k, buf(data)))
}

export async function deriveKeysAsync (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  const s = subtle()
  if (s === undefined) return js().hkdf(ikm, salt, info, length)
  const k = await s.importKey('raw', buf(ikm), 'HKDF', false, ['deriveBits'])
  return new Uint8Array(await s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: buf(salt), info: buf(info) }, k, length * 8))
}
