/**
 * The secure handshake, as pure functions over bytes (no I/O), so that it can be tested step
 * by step, fuzzed, and checked against the vectors in docs/protocol.md.
 *
 * Three messages (SIGMA-I in the shape of Secure Scuttlebutt's secret handshake):
 *   1. I → R  e_I ‖ HMAC(K, "hearsay/1 hello" ‖ e_I ‖ L_I) ‖ L_I           64 + 1 + n bytes
 *   2. R → I  e_R ‖ box(k_R, S_R ‖ sig_R(T)) ‖ L_R                         144 + 1 + m bytes
 *   3. I → R  box(k_I, S_I ‖ sig_I(T ‖ S_R))                               112 bytes
 * K is the network key. Without it a responder sends nothing at all, so a stranger learns
 * nothing about the node. Both signatures cover the transcript T of both ephemeral keys, K and
 * both cipher suite lists L (count ‖ ids), so a recorded handshake cannot be replayed, a man in
 * the middle cannot splice two, and one that edits a list (a downgrade) fails the handshake.
 * A hello without a list (an older peer: 64 bytes) gets a reply without one (144 bytes), the
 * transcript without lists, and XSalsa20-Poly1305.
 */
import { concat, fromHex, utf8 } from '../util/bytes.js'
import {
  BOX_KEY_BYTES, BOX_NONCE_BYTES, BOX_OVERHEAD, DH_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES,
  constantTimeEqual, hash, secretbox, secretboxOpen, signAsync, verifyAsync
} from './crypto.js'
import { deriveKeysAsync, dhAsync, dhFreshKeyPairAsync, dhKeyPairAsync, hashAsync, macAsync } from './web-crypto.js'
import type { DhKeyPair } from './crypto.js'
import { XSALSA20_POLY1305 } from './cipher-suite.js'
import { HandshakeError, PeerIdMismatchError, SelfDialError } from '../util/errors.js'
import type { Identity, PeerId } from './identity.js'
import { peerIdFromPublicKey } from './identity.js'
import type { Random } from '../util/clock.js'
import { systemRandom } from '../util/clock.js'

/** Lengths of the hello and the reply without a cipher suite list (an older peer's); each list adds 1 + its count. */
export const HELLO_BYTES = 64
export const REPLY_BYTES = DH_BYTES + BOX_OVERHEAD + PUBLIC_KEY_BYTES + SIGNATURE_BYTES
/** Most suites one list may name. */
export const MAX_SUITES = 16
export const AUTH_BYTES = BOX_OVERHEAD + PUBLIC_KEY_BYTES + SIGNATURE_BYTES

const HELLO_LABEL = utf8('hearsay/1 hello')
const KEYS_LABEL = utf8('hearsay/1 keys')
const TRANSCRIPT_LABEL = utf8('hearsay/1 transcript')
const SESSION_LABEL = utf8('hearsay/1 session id')
const RESPONDER_LABEL = utf8('hearsay/1 responder')
const INITIATOR_LABEL = utf8('hearsay/1 initiator')
const ZERO_NONCE = new Uint8Array(BOX_NONCE_BYTES)

/**
 * The key of the public network: what a node uses when no `networkKey` is set. It is
 * SHA-256("hearsay/1 public network"), written out so that no hash runs at import
 * (handshake.test.ts checks it).
 */
export const PUBLIC_NETWORK_KEY = fromHex('28cbcb209d06ebaff5e206eb122d70866cb6008e70735d302339d36ee5bd3f03')

/** Checks a `networkKey` option; a string is returned as the passphrase it is. @internal */
export function checkNetworkKey (key: Uint8Array | string | undefined): Uint8Array | string {
  if (key === undefined) return PUBLIC_NETWORK_KEY
  if (typeof key === 'string') {
    if (key.length === 0) throw new TypeError('networkKey must not be empty')
    return key
  }
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new TypeError('networkKey must be a 32-byte Uint8Array or a string')
  return key
}

const passphrase = (key: string): Uint8Array => utf8(`hearsay/1 network key:${key}`)

/**
 * A network key is 32 bytes; a string is hashed into one, so that a passphrase can be used.
 * Peers with different keys cannot complete a handshake.
 */
export function toNetworkKey (key: Uint8Array | string | undefined): Uint8Array {
  const k = checkNetworkKey(key)
  return typeof k === 'string' ? hash(passphrase(k)) : k
}

/** `toNetworkKey` hashing with WebCrypto (what the secure channel uses). @internal */
export async function toNetworkKeyAsync (key: Uint8Array | string | undefined): Promise<Uint8Array> {
  const k = checkNetworkKey(key)
  return typeof k === 'string' ? await hashAsync(passphrase(k)) : k
}

/** What a finished handshake yields: the proven remote identity and the session keys. */
export interface HandshakeResult {
  remoteId: PeerId
  remotePublicKey: Uint8Array
  /** Key for frames this side sends. */
  sendKey: Uint8Array
  /** Key for frames this side receives. */
  recvKey: Uint8Array
  /** Public, identical on both sides, unique per handshake: names the link. */
  sessionId: Uint8Array
  /** The cipher suite id both ends chose for the frames (cipher-suite.ts). */
  suite: number
}

export interface HandshakeOptions {
  identity: Identity
  networkKey: Uint8Array
  /** Only for test vectors: a fixed ephemeral secret. */
  ephemeralSecret?: Uint8Array
  random?: Random
  /**
   * Cipher suite ids this end supports, preferred first (1 to MAX_SUITES). An initiator without
   * them sends an older peer's hello (no list: XSalsa20-Poly1305); a responder without them
   * supports XSalsa20-Poly1305 alone.
   */
  suites?: readonly number[]
}

/** @internal */
export interface Session {
  boxR: Uint8Array
  boxI: Uint8Array
  i2r: Uint8Array
  r2i: Uint8Array
  transcript: Uint8Array
  /** The chosen suite; undefined when the lists share none (the handshake then fails). */
  suite: number | undefined
}

/** A suite list on the wire: count ‖ one byte per id. @internal */
export function encodeSuites (suites: readonly number[]): Uint8Array {
  if (suites.length < 1 || suites.length > MAX_SUITES) throw new TypeError(`a cipher suite list has 1 to ${MAX_SUITES} entries`)
  for (const id of suites) if (!Number.isInteger(id) || id < 1 || id > 255) throw new TypeError('a cipher suite id is an integer from 1 to 255')
  return Uint8Array.of(suites.length, ...suites)
}

/** The list that ends a hello or a reply whose fixed part is `fixed` bytes: none (an older peer) or a valid one. */
function trailingSuites (msg: Uint8Array, fixed: number, what: string): Uint8Array | undefined {
  if (msg.length === fixed) return undefined
  const n = msg[fixed] ?? 0
  if (n < 1 || n > MAX_SUITES || msg.length !== fixed + 1 + n) throw new HandshakeError(`handshake ${what} has the wrong length`)
  return msg.slice(fixed)
}

/** The first suite of the initiator's list that the responder's holds; unknown ids are skipped. @internal */
export function chooseSuite (listI: Uint8Array | undefined, listR: Uint8Array | undefined): number | undefined {
  if (listI === undefined || listR === undefined) return XSALSA20_POLY1305
  const theirs = listR.subarray(1)
  return listI.subarray(1).find(id => theirs.includes(id))
}

async function session (shared: Uint8Array, networkKey: Uint8Array, eI: Uint8Array, eR: Uint8Array, listI: Uint8Array | undefined, listR: Uint8Array | undefined): Promise<Session> {
  const okm = await deriveKeysAsync(shared, networkKey, concat(KEYS_LABEL, eI, eR), BOX_KEY_BYTES * 4)
  return {
    boxR: okm.slice(0, 32),
    boxI: okm.slice(32, 64),
    i2r: okm.slice(64, 96),
    r2i: okm.slice(96, 128),
    // an older peer's transcript has no lists; a list is self-delimiting (count first)
    transcript: await hashAsync(listI === undefined || listR === undefined
      ? concat(TRANSCRIPT_LABEL, networkKey, eI, eR)
      : concat(TRANSCRIPT_LABEL, networkKey, eI, eR, listI, listR)),
    suite: chooseSuite(listI, listR)
  }
}

const helloMac = async (networkKey: Uint8Array, eI: Uint8Array, listI: Uint8Array | undefined): Promise<Uint8Array> =>
  await macAsync(networkKey, listI === undefined ? concat(HELLO_LABEL, eI) : concat(HELLO_LABEL, eI, listI))

/** @internal */
export async function ephemeral (opts: HandshakeOptions): Promise<DhKeyPair> {
  if (opts.ephemeralSecret !== undefined) return await dhKeyPairAsync(opts.ephemeralSecret)
  const random = opts.random ?? systemRandom
  // the system's randomness: let WebCrypto make the key (no import); an injected random source
  // (the simulator, tests) keeps its keys reproducible
  if (random === systemRandom) return await dhFreshKeyPairAsync(() => random.bytes(DH_BYTES))
  return await dhKeyPairAsync(random.bytes(DH_BYTES))
}

function checkRemote (local: Identity, remoteKey: Uint8Array): PeerId {
  const id = peerIdFromPublicKey(remoteKey)
  if (id === local.id) throw new SelfDialError()
  return id
}

/** Step 2 at the initiator, pure: checks msg2 and builds msg3. Exported for fuzzing. @internal */
export async function processReply (opts: HandshakeOptions & { expectedPeer?: PeerId }, e: DhKeyPair, msg2: Uint8Array): Promise<{ auth: Uint8Array, result: HandshakeResult }> {
  if (!(msg2 instanceof Uint8Array) || msg2.length < REPLY_BYTES) throw new HandshakeError('handshake reply has the wrong length')
  const listI = opts.suites === undefined ? undefined : encodeSuites(opts.suites)
  const listR = trailingSuites(msg2, REPLY_BYTES, 'reply')
  // a hello with a list gets a reply with one: a reply without one is a downgrade (or an older peer that refused the hello)
  if ((listI === undefined) !== (listR === undefined)) throw new HandshakeError('handshake reply has the wrong length')
  const eR = msg2.slice(0, DH_BYTES)
  const shared = await dhAsync(e.secretKey, eR)
  if (shared === null) throw new HandshakeError('handshake reply has a weak ephemeral key')
  const s = await session(shared, opts.networkKey, e.publicKey, eR, listI, listR)
  const inner = secretboxOpen(msg2.subarray(DH_BYTES, REPLY_BYTES), ZERO_NONCE, s.boxR)
  if (inner === null) throw new HandshakeError('handshake reply failed authentication (wrong network key?)')
  const remoteKey = inner.slice(0, PUBLIC_KEY_BYTES)
  const sig = inner.subarray(PUBLIC_KEY_BYTES)
  if (!await verifyAsync(sig, concat(RESPONDER_LABEL, s.transcript), remoteKey)) throw new HandshakeError('responder signature is invalid')
  const remoteId = checkRemote(opts.identity, remoteKey)
  if (opts.expectedPeer !== undefined && opts.expectedPeer !== remoteId) throw new PeerIdMismatchError(opts.expectedPeer, remoteId)
  if (s.suite === undefined) throw new HandshakeError(`no cipher suite in common (ours: ${String(opts.suites)}; theirs: ${String(listR?.subarray(1))})`)
  const sigI = await signAsync(concat(INITIATOR_LABEL, s.transcript, remoteKey), opts.identity.secretKey)
  const auth = secretbox(concat(opts.identity.publicKey, sigI), ZERO_NONCE, s.boxI)
  return { auth, result: { remoteId, remotePublicKey: remoteKey, sendKey: s.i2r, recvKey: s.r2i, sessionId: await hashAsync(concat(SESSION_LABEL, s.transcript)), suite: s.suite } }
}

/** Step 1 at the responder, pure: checks msg1 and builds msg2. Exported for fuzzing. @internal */
export async function processHello (opts: HandshakeOptions, ephemeralKey: DhKeyPair | (() => Promise<DhKeyPair>), msg1: Uint8Array): Promise<{ reply: Uint8Array, session: Session }> {
  if (!(msg1 instanceof Uint8Array) || msg1.length < HELLO_BYTES) throw new HandshakeError('handshake hello has the wrong length')
  const listI = trailingSuites(msg1, HELLO_BYTES, 'hello')
  const eI = msg1.slice(0, DH_BYTES)
  if (!constantTimeEqual(msg1.subarray(DH_BYTES, HELLO_BYTES), await helloMac(opts.networkKey, eI, listI))) {
    throw new HandshakeError('handshake hello failed authentication (wrong network key?)')
  }
  // the responder's key pair is made only for a hello that proved the network key: garbage and
  // wrong-key hellos cost a MAC check, not an X25519 key generation (issue 18: 8 % of a relay's
  // core under 40 such hellos per second)
  const e = typeof ephemeralKey === 'function' ? await ephemeralKey() : ephemeralKey
  const shared = await dhAsync(e.secretKey, eI)
  if (shared === null) throw new HandshakeError('handshake hello has a weak ephemeral key')
  // an older peer's hello (no list) gets a reply without one
  const listR = listI === undefined ? undefined : encodeSuites(opts.suites ?? [XSALSA20_POLY1305])
  const s = await session(shared, opts.networkKey, eI, e.publicKey, listI, listR)
  const sigR = await signAsync(concat(RESPONDER_LABEL, s.transcript), opts.identity.secretKey)
  const reply = concat(e.publicKey, secretbox(concat(opts.identity.publicKey, sigR), ZERO_NONCE, s.boxR))
  // sent even when the lists share no suite: the initiator then fails with the reason
  return { reply: listR === undefined ? reply : concat(reply, listR), session: s }
}

/** Step 3 at the responder, pure: checks msg3. Exported for fuzzing. @internal */
export async function processAuth (opts: HandshakeOptions, s: Session, msg3: Uint8Array): Promise<HandshakeResult> {
  if (!(msg3 instanceof Uint8Array) || msg3.length !== AUTH_BYTES) throw new HandshakeError('handshake auth has the wrong length')
  const inner = secretboxOpen(msg3, ZERO_NONCE, s.boxI)
  if (inner === null) throw new HandshakeError('handshake auth failed authentication')
  const remoteKey = inner.slice(0, PUBLIC_KEY_BYTES)
  const sig = inner.subarray(PUBLIC_KEY_BYTES)
  if (!await verifyAsync(sig, concat(INITIATOR_LABEL, s.transcript, opts.identity.publicKey), remoteKey)) {
    throw new HandshakeError('initiator signature is invalid')
  }
  const remoteId = checkRemote(opts.identity, remoteKey)
  if (s.suite === undefined) throw new HandshakeError('no cipher suite in common')
  return { remoteId, remotePublicKey: remoteKey, sendKey: s.r2i, recvKey: s.i2r, sessionId: await hashAsync(concat(SESSION_LABEL, s.transcript)), suite: s.suite }
}

/** The dialling side. Call `hello()`, send it, then `reply(msg2)`, send `auth` (each step resolves: the hashes are WebCrypto's). */
export function initiator (opts: HandshakeOptions & { expectedPeer?: PeerId }): {
  hello: () => Promise<Uint8Array>
  reply: (msg2: Uint8Array) => Promise<{ auth: Uint8Array, result: HandshakeResult }>
} {
  // drawn now: a seeded random gives the same keys whenever hello() is called (a failure, e.g.
  // no X25519 anywhere, surfaces at hello())
  const e = ephemeral(opts)
  e.catch(() => {})
  let stage = 0
  return {
    async hello () {
      if (stage !== 0) throw new HandshakeError('hello already sent')
      stage = 1
      const { publicKey } = await e
      const listI = opts.suites === undefined ? undefined : encodeSuites(opts.suites)
      const mac = await helloMac(opts.networkKey, publicKey, listI)
      return listI === undefined ? concat(publicKey, mac) : concat(publicKey, mac, listI)
    },
    async reply (msg2) {
      if (stage !== 1) throw new HandshakeError('unexpected handshake reply')
      stage = 2
      return await processReply(opts, await e, msg2)
    }
  }
}

/** The accepting side. `hello(msg1)` returns msg2 to send; `auth(msg3)` finishes. */
export function responder (opts: HandshakeOptions): {
  hello: (msg1: Uint8Array) => Promise<Uint8Array>
  auth: (msg3: Uint8Array) => Promise<HandshakeResult>
} {
  let stage = 0
  let s: Session | undefined
  return {
    async hello (msg1) {
      if (stage !== 0) throw new HandshakeError('unexpected handshake hello')
      stage = 1
      const r = await processHello(opts, async () => await ephemeral(opts), msg1)
      s = r.session
      return r.reply
    },
    async auth (msg3) {
      if (stage !== 1 || s === undefined) throw new HandshakeError('unexpected handshake auth')
      stage = 2
      return await processAuth(opts, s, msg3)
    }
  }
}
