import { UnsupportedError } from '../util/errors.js'
import { fromBase64Url } from '../util/bytes.js'

/**
 * The handshake's hashes (SHA-256, HMAC, HKDF), its X25519 and its ed25519 through the
 * platform's WebCrypto, so that a browser bundle carries no JavaScript for them (and Node runs
 * them natively). Where WebCrypto is missing (a page that is not a secure context) or has no
 * X25519 or Ed25519 (browsers before 2025), the JavaScript ones of `js-crypto.ts` stand in once
 * `installJsCrypto()` ran; without them the call fails with `UnsupportedError`.
 */
interface JsFallback {
  sha256: (data: Uint8Array) => Uint8Array
  hmac: (key: Uint8Array, data: Uint8Array) => Uint8Array
  hkdf: (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => Uint8Array
  /** RFC 7748 X25519, raw (the all-zero check is the caller's). */
  x25519: (secretKey: Uint8Array, publicKey: Uint8Array) => Uint8Array
  /** ed25519 in JavaScript (@noble/ed25519: ZIP-215 verification). */
  ed25519: {
    publicKey: (seed: Uint8Array) => Promise<Uint8Array>
    sign: (message: Uint8Array, seed: Uint8Array) => Promise<Uint8Array>
    verify: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => Promise<boolean>
  }
}

let fallback: JsFallback | undefined

/** @internal called by `installJsCrypto` */
export function setJsFallback (f: JsFallback): void { fallback = f }

const subtle = (): SubtleCrypto | undefined => globalThis.crypto?.subtle
/** WebCrypto's types want an ArrayBuffer-backed view; ours always are. @internal */
export const buf = (b: Uint8Array): Uint8Array<ArrayBuffer> => b as Uint8Array<ArrayBuffer>

function js (what = 'WebCrypto (crypto.subtle) is missing: serve the page over https or from localhost'): JsFallback {
  if (fallback !== undefined) return fallback
  throw new UnsupportedError(`${what}, or use createNode from 'hearsay' (it falls back to JavaScript)`)
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

/** RFC 8410's PKCS #8 wrapping of a raw X25519 private key: WebCrypto imports private keys in no raw form. */
const X25519_PKCS8 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20)
/** The X25519 base point: the public key of a secret is its product with it. */
const BASE_POINT = Uint8Array.of(9, ...new Uint8Array(31))
/** The runtime's WebCrypto has no X25519 (found at the first try, not asked again). */
let noX25519 = false

/**
 * The imported private key of each secret a key pair was made from (`dhKeyPairAsync`), for the
 * handshake's second X25519 with the same secret. WebCrypto imports a private key only as
 * PKCS #8, and parsing it costs ~7x the X25519 itself in Node (650 vs 90 µs): it was 11 % of a
 * mesh worker's CPU at 300 pages, twice per handshake. Weak: a secret dropped takes its key along.
 */
const imported = new WeakMap<Uint8Array, CryptoKey>()
let basePoint: Promise<CryptoKey> | undefined

async function importSecret (s: SubtleCrypto, secretKey: Uint8Array): Promise<CryptoKey | undefined> {
  const known = imported.get(secretKey)
  if (known !== undefined) return known
  const pkcs8 = new Uint8Array(48)
  pkcs8.set(X25519_PKCS8)
  pkcs8.set(secretKey, 16)
  try { return await s.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']) } catch { noX25519 = true; return undefined }
}

/**
 * X25519 (RFC 7748) of a 32-byte secret and a 32-byte public key; null when the result is all
 * zero (a low-order public key), which WebCrypto reports as an error.
 */
export async function dhAsync (secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array | null> {
  if (secretKey.length !== 32 || publicKey.length !== 32) throw new TypeError('x25519 keys must be 32 bytes')
  // a generated pair's key is found first: its secret holds no key bytes (`dhFreshKeyPairAsync`)
  const own = imported.get(secretKey)
  const s = own === undefined && noX25519 ? undefined : subtle()
  const priv = own ?? (s === undefined ? undefined : await importSecret(s, secretKey))
  if (s === undefined || priv === undefined) {
    const shared = js(noX25519 ? 'WebCrypto has no X25519 here' : undefined).x25519(secretKey, publicKey)
    return shared.some(b => b !== 0) ? shared : null
  }
  try {
    const pub = publicKey === BASE_POINT
      ? await (basePoint ??= s.importKey('raw', buf(BASE_POINT), { name: 'X25519' }, false, []))
      : await s.importKey('raw', buf(publicKey), { name: 'X25519' }, false, [])
    const shared = new Uint8Array(await s.deriveBits({ name: 'X25519', public: pub }, priv, 256))
    if (publicKey === BASE_POINT) imported.set(secretKey, priv)
    return shared
  } catch {
    return null
  }
}

/** The runtime's WebCrypto cannot generate X25519 keys (found at the first try). */
let noGenerate = false

/**
 * A fresh X25519 key pair made by WebCrypto itself, for a handshake's ephemeral key: no PKCS #8
 * to parse (generate + export ~215 µs in Node 20 against ~640 µs for import + derive, and a
 * handshake side does it once). Its `secretKey` is a placeholder that `dhAsync` knows the key
 * by; its bytes are zeros, never the key. Where WebCrypto has no X25519, the pair comes from
 * `random` as `dhKeyPairAsync` makes it.
 */
export async function dhFreshKeyPairAsync (random: () => Uint8Array): Promise<{ publicKey: Uint8Array, secretKey: Uint8Array }> {
  const s = noX25519 || noGenerate ? undefined : subtle()
  if (s !== undefined) {
    try {
      const pair = await s.generateKey({ name: 'X25519' }, false, ['deriveBits']) as CryptoKeyPair
      const publicKey = new Uint8Array(await s.exportKey('raw', pair.publicKey))
      const secretKey = new Uint8Array(32)
      imported.set(secretKey, pair.privateKey)
      return { publicKey, secretKey }
    } catch {
      // importing may still work (dhKeyPairAsync finds out)
      noGenerate = true
    }
  }
  return await dhKeyPairAsync(random())
}

/**
 * An X25519 key pair from a 32-byte secret. The pair holds its own copy of the secret, whose
 * imported key the next `dhAsync` with it reuses (nobody else can refill that array).
 */
export async function dhKeyPairAsync (secret: Uint8Array): Promise<{ publicKey: Uint8Array, secretKey: Uint8Array }> {
  const secretKey = secret.slice()
  return { publicKey: (await dhAsync(secretKey, BASE_POINT))!, secretKey }
}

/** RFC 8410's PKCS #8 wrapping of an ed25519 seed: WebCrypto imports private keys in no raw form. */
const ED25519_PKCS8 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20)
/** The runtime's WebCrypto has no Ed25519 (found at the first try, not asked again). */
let noEd25519 = false
/** The imported signing key of each seed, by the seed's bytes (a node signs with one key). */
const signingKeys = new Map<string, CryptoKey>()

/** The extractable signing key of a 32-byte seed, or undefined where WebCrypto has no Ed25519. */
async function signingKey (seed: Uint8Array): Promise<CryptoKey | undefined> {
  const s = noEd25519 ? undefined : subtle()
  if (s === undefined) return undefined
  const id = seed.join()
  let key = signingKeys.get(id)
  if (key === undefined) {
    const pkcs8 = new Uint8Array(48)
    pkcs8.set(ED25519_PKCS8)
    pkcs8.set(seed, 16)
    try { key = await s.importKey('pkcs8', pkcs8, 'Ed25519', true, ['sign']) } catch { noEd25519 = true; return undefined }
    if (signingKeys.size > 15) signingKeys.clear()
    signingKeys.set(id, key)
  }
  return key
}

const noEd = (): JsFallback['ed25519'] => js('WebCrypto has no Ed25519 here').ed25519

/** The ed25519 public key of a 32-byte seed. */
export async function ed25519PublicKeyAsync (seed: Uint8Array): Promise<Uint8Array> {
  const key = await signingKey(seed)
  if (key === undefined) return await noEd().publicKey(seed)
  const { x } = await subtle()!.exportKey('jwk', key)
  return fromBase64Url(x!)
}

/** An ed25519 signature (RFC 8032: the same bytes everywhere) with a 32-byte seed. */
export async function ed25519SignAsync (message: Uint8Array, seed: Uint8Array): Promise<Uint8Array> {
  const key = await signingKey(seed)
  return key === undefined ? await noEd().sign(message, seed) : new Uint8Array(await subtle()!.sign('Ed25519', key, buf(message)))
}

/**
 * Whether `signature` is `publicKey`'s on `message`. WebCrypto's "valid" is final; its
 * "invalid" is not where the JavaScript curve is installed (`installJsCrypto`: ZIP-215, which
 * accepts everything strict RFC 8032 does and a little more), so the full SDK accepts exactly
 * what every peer does. `hearsay/lite` alone stays strict: a signature only a non-canonical
 * signer makes fails its handshake, which costs nobody honest anything.
 */
export async function ed25519VerifyAsync (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  const s = noEd25519 ? undefined : subtle()
  if (s !== undefined) {
    try {
      if (await s.verify('Ed25519', await s.importKey('raw', buf(publicKey), 'Ed25519', false, ['verify']), buf(signature), buf(message))) return true
    } catch (err) {
      // any other failure (a key not on the curve) is an "invalid"
      if ((err as Error).name === 'NotSupportedError') noEd25519 = true
    }
    // WebCrypto said "invalid": final unless the JavaScript curve is there to check again
    if (!noEd25519 && fallback === undefined) return false
  }
  return await noEd().verify(signature, message, publicKey)
}
