import { AbstractConnection, forwardPause } from './abstract-connection.js'
import { toHex } from '../util/bytes.js'
import type { AbortOptions } from '../util/abort.js'
import { toAbortError } from '../util/abort.js'
import { BoxStream } from '../wire/box-stream.js'
import type { Channel, UpgradeOptions, UpgradedConnection } from './channel.js'
import { BusyError, ConnectionClosedError, HandshakeError, HearsayError, TooLargeError } from '../util/errors.js'
import { decodeBatch, isBatch } from '../wire/frame-batch.js'
import { FrameCoalescer, MAX_BATCH_BYTES } from '../wire/frame-coalescer.js'
import { FramePump } from './frame-pump.js'
import { checkNetworkKey, initiator, responder, toNetworkKeyAsync } from '../wire/handshake.js'
import type { HandshakeResult } from '../wire/handshake.js'
import { SECURE_FRAME_OVERHEAD } from '../util/limits.js'
import type { Connection } from './transport.js'
import { defaultCipherSuites } from '../wire/cipher-suite.js'
import type { CipherSuite } from '../wire/cipher-suite.js'

export interface SecureChannelOptions {
  /** Shared secret of a closed network: 32 bytes, or a passphrase. Default: the public network. */
  networkKey?: Uint8Array | string
  /**
   * Send the frames of one event-loop turn as one batch (one secretbox, one transport frame;
   * docs/protocol.md, "Batches"). Receivers always accept batches. `false` seals every frame on
   * its own. @default true
   */
  coalesce?: boolean
  /**
   * Cipher suites for the frames, preferred first; the handshake takes the first of the
   * dialler's that the other end also lists (docs/protocol.md, "Cipher suites"). @default the
   * suites installed with `installCipherSuite` (AES-256-GCM by `hearsay`'s Node entries), then
   * XSalsa20-Poly1305
   */
  cipherSuites?: readonly CipherSuite[]
}

/** The production channel: mutual ed25519 authentication, then the negotiated AEAD (secretbox by default) on every frame (or batch of frames). */
export function secureChannel (opts: SecureChannelOptions = {}): Channel {
  // checked now, hashed (a passphrase) once, at the first handshake: WebCrypto is async
  checkNetworkKey(opts.networkKey)
  let key: Promise<Uint8Array> | undefined
  const coalesce = opts.coalesce ?? true
  const fixed = opts.cipherSuites
  if (fixed !== undefined && (fixed.length === 0 || new Set(fixed.map(s => s.id)).size !== fixed.length)) {
    throw new TypeError('cipherSuites must list at least one suite, each id once')
  }
  return {
    name: 'secure',
    overhead: SECURE_FRAME_OVERHEAD,
    async upgrade (conn: Connection, o: UpgradeOptions): Promise<UpgradedConnection> {
      const pump = new FramePump(conn, o.maxFrameBytes + SECURE_FRAME_OVERHEAD)
      const deadline = { clock: o.clock, at: o.clock.now() + o.timeoutMs, signal: o.signal }
      const suites = fixed ?? defaultCipherSuites()
      const ids = suites.map(s => s.id)
      let result: HandshakeResult
      try {
        if (o.role === 'initiator') {
          const networkKey = await (key ??= toNetworkKeyAsync(opts.networkKey))
          const hs = initiator({ identity: o.identity, networkKey, random: o.random, expectedPeer: o.expectedPeer, suites: ids })
          const hello = await hs.hello()
          let reply: Uint8Array
          try {
            // the hello is hashed first (WebCrypto is async): a responder that refuses the
            // connection at once (a per-address cap) may have closed it by then
            conn.send(hello)
            reply = await pump.next(deadline)
          } catch (err) {
            // a responder closes without a word when our hello fails its check: the one way to
            // tell a wrong network key from a dropped link is that the close came right here.
            // One that refused for load says so where the transport carries a reason (ws: 1013)
            const busy = busyCause(err)
            if (busy !== undefined) throw new BusyError(busy.reason, { cause: err })
            if (err instanceof ConnectionClosedError) throw new HandshakeError('the remote closed the connection after our hello: wrong network key, not a hearsay node, or a node too busy to take the handshake over a transport that cannot say so (TCP)', { cause: err })
            throw err
          }
          const { auth, result: r } = await hs.reply(reply)
          conn.send(auth)
          result = r
        } else {
          const networkKey = await (key ??= toNetworkKeyAsync(opts.networkKey))
          const hs = responder({ identity: o.identity, networkKey, random: o.random, suites: ids })
          const hello = await pump.next(o.helloTimeoutMs === undefined ? deadline : { ...deadline, at: Math.min(deadline.at, o.clock.now() + o.helloTimeoutMs) })
          const reply = await hs.hello(hello)
          o.onProven?.()
          conn.send(reply)
          result = await hs.auth(await pump.next(deadline))
        }
      } catch (err) {
        // cancelled while a step hashed (WebCrypto is async): the link closed under it, and the
        // caller's abort is the reason, not the closed connection
        const e = o.signal?.aborted === true ? toAbortError(o.signal.reason) : err instanceof HearsayError ? err : new HandshakeError('handshake failed', { cause: err })
        // A failed responder says nothing: strangers learn nothing about the node. The reason
        // stays local (thrown, counted): a transport that carries close reasons (ws) would
        // otherwise tell a keyless client "wrong network key".
        conn.close(o.role === 'responder' ? undefined : e)
        throw e
      }
      // the handshake chose from our own list
      const suite = suites.find(s => s.id === result.suite)!
      const secure = new SecureConnection(conn, result, suite, o.maxFrameBytes, coalesce)
      pump.takeover(secure.sink)
      return { remotePeer: result.remoteId, conn: secure, linkId: toHex(result.sessionId) }
    }
  }
}

/** The `BusyError` in `err`'s cause chain (a close reason the transport carried), if any. */
function busyCause (err: unknown): BusyError | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 16; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof BusyError) return e
  }
  return undefined
}

/** Bytes of frames an asynchronous suite may hold while opening them, per link. */
const MAX_OPENING = 32 * 1024 * 1024

/** Runs `fn` now, or once `tail` settles. */
function after (tail: Promise<void> | undefined, fn: () => void): void {
  if (tail === undefined) fn()
  else tail.finally(fn).catch(() => {})
}

/**
 * Runs `then(value)` after the step `tail` ends (frame order for an asynchronous suite): at once
 * when nothing waits and the value is ready (a synchronous suite never waits). Returns the new tail.
 */
function inOrder<T> (tail: Promise<void> | undefined, value: T | Promise<T>, then: (v: T) => void, fail: (err: unknown) => void): Promise<void> | undefined {
  if (tail === undefined && !(value instanceof Promise)) { then(value); return undefined }
  const next = Promise.all([tail, value]).then(([, v]) => { then(v) })
  next.catch(fail)
  return next
}

class SecureConnection extends AbstractConnection {
  readonly #tx: BoxStream
  readonly #rx: BoxStream
  readonly #out: FrameCoalescer | undefined
  /** The last write or delivery waiting on an asynchronous suite (none with a synchronous one). */
  #txTail: Promise<void> | undefined
  #rxTail: Promise<void> | undefined
  /** Plaintext bytes being sealed, and frame bytes being opened. */
  #sealing = 0
  #opening = 0
  readonly remotePublicKey: Uint8Array
  readonly pause: Connection['pause']
  readonly resume: Connection['resume']
  /** The frames' cipher suite, as the handshake chose it. */
  readonly cipherSuite: string

  constructor (private readonly raw: Connection, r: HandshakeResult, suite: CipherSuite, maxFrameBytes: number, coalesce: boolean) {
    super({ remoteAddress: raw.remoteAddress, direction: raw.direction, maxFrameBytes })
    ;({ pause: this.pause, resume: this.resume } = forwardPause(raw))
    this.#tx = new BoxStream(r.sendKey, suite)
    this.#rx = new BoxStream(r.recvKey, suite)
    this.cipherSuite = suite.name
    this.remotePublicKey = r.remotePublicKey
    if (coalesce) {
      this.#out = new FrameCoalescer(Math.min(maxFrameBytes, raw.batchBytes ?? MAX_BATCH_BYTES), this.#seal, this.#fail)
    }
  }

  readonly #deliver = (plain: Uint8Array): void => { this._receive(plain) }

  readonly #fail = (err: unknown): void => { this._closed(err instanceof Error ? err : new ConnectionClosedError('send failed', { cause: err })) }

  /** Seals and writes one frame; an asynchronous suite's frames wait for the ones sealed before them. */
  readonly #seal = (plain: Uint8Array): void => {
    this.#sealing += plain.length
    this.#txTail = inOrder(this.#txTail, this.#tx.seal(plain), (boxed) => {
      this.#sealing -= plain.length
      if (!this.raw.closed) this.raw.send(boxed)
    }, this.#fail)
  }

  #open (plain: Uint8Array): void {
    if (!isBatch(plain)) { this._receive(plain); return }
    try { decodeBatch(plain, this.#deliver) } catch (err) { this._closed(err as Error) }
  }

  readonly sink = {
    // a frame is read only while it is opened (a cipher copies or decrypts it into new memory):
    // the transport may hand a view into its read buffer
    transient: true,
    onMessage: (boxed: Uint8Array): void => {
      // an asynchronous suite delivers in frame order too; a peer may not pile up more than
      // MAX_OPENING bytes of frames still being opened (memory stays bounded)
      const size = boxed.length
      if ((this.#opening += size) > MAX_OPENING) { this._closed(new TooLargeError('decrypt queue full')); return }
      let plain: Uint8Array | Promise<Uint8Array>
      try { plain = this.#rx.open(boxed) } catch (err) { this._closed(err as Error); return }
      this.#rxTail = inOrder(this.#rxTail, plain, (p) => {
        this.#opening -= size
        if (!this.closed) this.#open(p)
      }, this.#fail)
    },
    // frames still being opened were received before the close: they are delivered first
    onClose: (reason?: Error): void => { void after(this.#rxTail, () => { this._closed(reason) }) }
  }

  get bufferedAmount (): number { return this.raw.bufferedAmount + (this.#out?.pendingBytes ?? 0) + this.#sealing }

  override async drained (options?: AbortOptions): Promise<void> {
    // a write that fails here means the link is closing: drained() resolves, as it does on a close
    try { this.#out?.flush() } catch { /* reported through onClose */ }
    await this.#txTail?.catch(() => {})
    await this.raw.drained(options)
  }

  protected _send (frame: Uint8Array): void {
    if (this.#out !== undefined) this.#out.push(frame)
    else this.#seal(frame)
  }

  protected _close (reason?: Error): void {
    // frames sent just before a close (a goodbye) still leave, in order, ahead of it
    if (!this.raw.closed) { try { this.#out?.flush() } catch { /* the link is gone: so are they */ } }
    this.#out?.clear()
    void after(this.#txTail, () => { this.raw.close(reason) })
  }
}
