/**
 * The coalescent application: a Node `Duplex` over one hearsay node. Writing to it sends to
 * every connected peer; reading from it gives what peers wrote, after each peer's chunks went
 * through the middleware chain (`use()`). The node runs without hearsay's overlay: coalescent
 * apps are linked point to point (their seeds and whoever dials them), which is what its
 * relaying middleware and `broadcast` (to every connected peer) are written for.
 */
import { Duplex } from 'node:stream'
import type { Readable } from 'node:stream'
import { createNode, HearsayError, NotStartedError } from '@hearsay/core'
import type { HearsayNode, Peer } from '@hearsay/core'
import { tcp } from '@hearsay/transport-tcp'
import { webSockets } from '@hearsay/transport-ws'
import { buildChain } from './middleware.js'
import type { ChainStream, CoalescentMiddleware } from './middleware.js'
import { hearsayLogger, resolveOptions } from './options.js'
import type { CoalescentLogger, CoalescentOptions, ResolvedOptions } from './options.js'
import { SeedKeeper } from './seed-keeper.js'
import { CHUNK_TYPE, CoalescentSocket, sendChunks } from './socket.js'

/** What `app.address()` returns once listening, as `net.Server.address()` does. */
export interface AppAddress { address: string, port: number, family: 'IPv4' | 'IPv6' }

/** Thrown by a second `listen()`: one app is one node with one listener. */
export class AlreadyListeningError extends HearsayError {
  override readonly name: string = 'AlreadyListeningError'
  constructor () { super('coalescent: app.listen() was already called', 'ERR_ALREADY_LISTENING') }
}

export class CoalescentApp extends Duplex {
  readonly options: Readonly<ResolvedOptions>
  readonly logger: CoalescentLogger
  /** Added by the courier middleware: `broadcast(type, data)` to every connected peer. */
  broadcast?: (type: string, data?: unknown) => void
  /** Added by the router middleware: `route(type, (socket, message) => …)`. */
  route?: (type: string, handler: (socket: CoalescentSocket, message: any) => void) => void
  readonly #stack: CoalescentMiddleware<CoalescentApp>[] = []
  readonly #sockets = new Map<string, CoalescentSocket>()
  /** Chain tails paused because the app's readable side was full. */
  readonly #paused = new Set<ChainStream | Readable>()
  /** A write made while no peer was connected waits here (with its callback) for the first. */
  #held: { chunk: Buffer, callback: (err?: Error | null) => void } | undefined
  #node: HearsayNode | undefined
  #keeper: SeedKeeper | undefined
  #closing: Promise<void> | undefined

  constructor (options?: CoalescentOptions) {
    // the readable side is in object mode: the courier middleware turns bytes into messages
    super({ readableObjectMode: true, decodeStrings: true, allowHalfOpen: true })
    this.options = Object.freeze(resolveOptions(options))
    this.logger = this.options.logger
  }

  /** The hearsay node under the app, once `listen()` was called. */
  get node (): HearsayNode | undefined { return this.#node }

  /** Adds a middleware (see the README's one rule); calls its `_plugin(app)` now. Chainable. */
  use (middleware: CoalescentMiddleware<CoalescentApp>): this {
    if (typeof middleware !== 'function') throw new TypeError(`coalescent: app.use() takes a function that returns a stream.Transform, got ${middleware === null ? 'null' : typeof middleware}`)
    if (this.#sockets.size > 0) {
      this.logger.warn('coalescent: middleware added by use() applies to peers that connect from now on, not to the ones already connected')
    }
    this.#stack.push(middleware)
    if (typeof middleware._plugin === 'function') middleware._plugin(this)
    return this
  }

  /** The sockets of the connected peers. */
  connections (): CoalescentSocket[] { return [...this.#sockets.values()] }

  /**
   * Listens on `port` (TCP; 0 picks a free port) and links to the seeds. `host` is a hearsay
   * addition (default every interface, as `net.Server.listen(port)`); `callback` runs once
   * listening, and a failure is emitted as `error`.
   */
  listen (port: number, host?: string | (() => void), callback?: () => void): this {
    if (typeof host === 'function') { callback = host; host = undefined }
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`coalescent: app.listen(port) needs a port 0..65535, got ${String(port)}`)
    if (host !== undefined && (typeof host !== 'string' || host.length === 0)) throw new TypeError('coalescent: app.listen(port, host) needs a host string')
    if (callback !== undefined && typeof callback !== 'function') throw new TypeError('coalescent: the listen callback must be a function')
    if (this.#node !== undefined) throw new AlreadyListeningError()
    const h = host ?? '0.0.0.0'
    const node = createNode({
      transports: [tcp(), webSockets()],
      listen: [`tcp://${h.includes(':') ? `[${h}]` : h}:${port}`],
      logger: hearsayLogger(this.logger),
      overlay: false
    })
    this.#node = node
    this.#wire(node)
    node.start().then(() => {
      this.#keeper = new SeedKeeper(node, this.options.seeds, this.options.minPeers, this.options.maxPeers, this.logger)
      this.#keeper.start()
      callback?.call(this)
    }, (err: unknown) => { this.emit('error', err) })
    return this
  }

  /** The listening address (`net.Server.address()`), or null before `listen()` completed. */
  address (): AppAddress | null {
    const a = this.#node?.status === 'running' ? this.#node.addresses[0] : undefined
    if (a === undefined) return null
    const url = new URL(a)
    const address = url.hostname.replace(/^\[|\]$/g, '')
    return { address, port: Number(url.port), family: address.includes(':') ? 'IPv6' : 'IPv4' }
  }

  /** Stops the node (every link closed), ends the readable side; `callback` when done. */
  close (callback?: (err?: Error) => void): this {
    if (callback !== undefined && typeof callback !== 'function') throw new TypeError('coalescent: the close callback must be a function')
    this.#closing ??= (async () => {
      this.#keeper?.stop()
      await this.#node?.stop()
      this.#release(new NotStartedError('coalescent: the app closed before any peer connected; the write was not sent'))
      for (const s of this.#sockets.values()) s.disconnected()
      this.#sockets.clear()
      this.push(null)
    })()
    this.#closing.then(() => { callback?.call(this) }, (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err))
      if (callback !== undefined) callback.call(this, e); else this.emit('error', e)
    })
    return this
  }

  #wire (node: HearsayNode): void {
    node.on('peer:connect', (peer) => { this.#socketFor(peer) })
    node.on('peer:disconnect', ({ peer }) => {
      const socket = this.#sockets.get(peer.id)
      if (socket === undefined) return
      this.#sockets.delete(peer.id)
      socket.disconnected()
      this.emit('peerDisconnected', socket)
      this.#keeper?.tick()
    })
    node.on('error', (err) => { this.emit('error', err, undefined) })
    node.route(CHUNK_TYPE, (msg, peer) => {
      if (!(msg.data instanceof Uint8Array)) {
        // a hearsay node that is not a coalescent app sent this type: say so, do not guess
        node.metrics.drop('coalescent-malformed')
        this.logger.warn(`coalescent: ignored a "${CHUNK_TYPE}" message without bytes from ${peer.id}`)
        return
      }
      this.#socketFor(peer).receive(msg.data)
    })
  }

  /** The peer's socket, made (chain built, `_init` hooks run, `peerConnected` emitted) on first sight. */
  #socketFor (peer: Peer): CoalescentSocket {
    const known = this.#sockets.get(peer.id)
    if (known !== undefined) return known
    const socket = new CoalescentSocket(this.#node!, peer, this.options.encoding)
    this.#sockets.set(peer.id, socket)
    const onError = (err: Error): void => { this.emit('error', err, socket) }
    socket.on('error', onError)
    let tail: Readable | ChainStream
    try {
      tail = buildChain(this, socket, this.#stack, onError)
    } catch (err) {
      onError(err as Error)
      tail = socket
    }
    tail.on('data', (chunk: unknown) => {
      if (!this.push(chunk)) { tail.pause?.(); this.#paused.add(tail) }
    })
    this.emit('peerConnected', socket)
    this.#flushHeld()
    return socket
  }

  override _read (): void {
    for (const tail of this.#paused) tail.resume?.()
    this.#paused.clear()
  }

  /** "Connected peers get whatever you write to it"; with none yet, the write waits for the first. */
  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.#sockets.size === 0) { this.#held = { chunk, callback }; return }
    this.#sendAll(chunk, callback)
  }

  #flushHeld (): void {
    const held = this.#held
    if (held === undefined) return
    this.#held = undefined
    this.#sendAll(held.chunk, held.callback)
  }

  #release (err: Error): void {
    const held = this.#held
    this.#held = undefined
    held?.callback(err)
  }

  #sendAll (chunk: Buffer, callback: (err?: Error | null) => void): void {
    for (const socket of this.#sockets.values()) {
      try {
        sendChunks(socket.peer, chunk)
      } catch (err) {
        // one peer gone mid-write is that peer's problem, reported with its socket
        this.emit('error', err, socket)
      }
    }
    callback()
  }

  override _final (callback: (err?: Error | null) => void): void { callback() }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.close(() => { callback(err) })
  }
}
