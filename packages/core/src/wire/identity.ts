import { fromBase32, toBase32 } from '../util/bytes.js'
import { PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SEED_BYTES, sign, signingKeyPairFromSeed, signingKeyPairFromSeedAsync, verify } from './crypto.js'
import type { SigningKeyPair } from './crypto.js'
import type { Random } from '../util/clock.js'
import { systemRandom } from '../util/clock.js'

/** A peer id is the base32 (RFC 4648, lower case, unpadded) text of its ed25519 public key. */
export type PeerId = string

export interface Identity {
  readonly id: PeerId
  readonly publicKey: Uint8Array
  /** 64 bytes: seed followed by public key. Keep it secret. */
  readonly secretKey: Uint8Array
}

export const PEER_ID_LENGTH = 52

export function peerIdFromPublicKey (publicKey: Uint8Array): PeerId {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new TypeError(`public key must be ${PUBLIC_KEY_BYTES} bytes`)
  return toBase32(publicKey)
}

export function publicKeyFromPeerId (id: PeerId): Uint8Array {
  if (typeof id !== 'string' || id.length !== PEER_ID_LENGTH) throw new TypeError('not a peer id')
  return fromBase32(id)
}

export function isPeerId (value: unknown): value is PeerId {
  if (typeof value !== 'string' || value.length !== PEER_ID_LENGTH) return false
  // what fromBase32 accepts, without decoding (every frame of the overlay carries a few ids):
  // base32 letters only, and the 4 bits past the key's 256 zero (canonical)
  let v = 0
  for (let i = 0; i < PEER_ID_LENGTH; i++) {
    const c = value.charCodeAt(i)
    if (c >= 97 && c <= 122) v = c - 97 // a..z: 0..25
    else if (c >= 50 && c <= 55) v = c - 24 // 2..7: 26..31
    else return false
  }
  return (v & 15) === 0
}

const toIdentity = (kp: SigningKeyPair): Identity => Object.freeze({ id: peerIdFromPublicKey(kp.publicKey), publicKey: kp.publicKey, secretKey: kp.secretKey })

export function identityFromSeed (seed: Uint8Array): Identity {
  return toIdentity(signingKeyPairFromSeed(seed))
}

export function generateIdentity (random: Random = systemRandom): Identity {
  return identityFromSeed(random.bytes(SEED_BYTES))
}

/** As `generateIdentity`, hashing with WebCrypto: what the node uses, so that bundles without sync signing stay small. @internal */
export async function generateIdentityAsync (random: Random = systemRandom): Promise<Identity> {
  return toIdentity(await signingKeyPairFromSeedAsync(random.bytes(SEED_BYTES)))
}

function checkSecretKey (secretKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    throw new TypeError(`secret key must be a ${SECRET_KEY_BYTES}-byte Uint8Array`)
  }
}

function checkHalves (secretKey: Uint8Array, id: Identity): Identity {
  const claimed = secretKey.subarray(SEED_BYTES)
  for (let i = 0; i < PUBLIC_KEY_BYTES; i++) {
    if (claimed[i] !== id.publicKey[i]) throw new TypeError('secret key halves do not match')
  }
  return id
}

/** The identity a 64-byte secret key claims (its second half), unchecked: `identityFromSecretKeyAsync` checks it. @internal */
export function claimedIdentity (secretKey: Uint8Array): Identity {
  checkSecretKey(secretKey)
  const publicKey = secretKey.slice(SEED_BYTES)
  return Object.freeze({ id: peerIdFromPublicKey(publicKey), publicKey, secretKey })
}

/** Rebuilds an identity from its 64-byte secret key, checking that the halves agree. */
export function identityFromSecretKey (secretKey: Uint8Array): Identity {
  checkSecretKey(secretKey)
  return checkHalves(secretKey, identityFromSeed(secretKey.slice(0, SEED_BYTES)))
}

/** As `identityFromSecretKey`, hashing with WebCrypto. @internal */
export async function identityFromSecretKeyAsync (secretKey: Uint8Array): Promise<Identity> {
  checkSecretKey(secretKey)
  return checkHalves(secretKey, toIdentity(await signingKeyPairFromSeedAsync(secretKey.slice(0, SEED_BYTES))))
}

export function signWith (identity: Identity, message: Uint8Array): Uint8Array {
  return sign(message, identity.secretKey)
}

export function verifyFrom (peerId: PeerId, message: Uint8Array, signature: Uint8Array): boolean {
  let key: Uint8Array
  try { key = publicKeyFromPeerId(peerId) } catch { return false }
  return verify(signature, message, key)
}
