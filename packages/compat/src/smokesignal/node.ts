/**
 * smokesignal's `Node` over one `HearsayNode` (TCP): smokesignal's names, events and Node
 * streams; hearsay's overlay does the peer search, the netsplit healing and the broadcast.
 */
import { EventEmitter } from 'node:events'
import { createNode, generateIdentity, memoryStore } from '@hearsay/core'
import type { HearsayNode, Peer, PeerStream } from '@hearsay/core'
import { tcp } from '@hearsay/transport-tcp'
import { StreamBridge } from '../shared/stream-bridge.js'
import { hostOf, resolveSmokeOptions } from './options.js'
import type { ResolvedSmokeOptions, SmokeLogger } from './options.js'
import { Peerlist } from './peerlist.js'
import { SOCKET_STREAM, SmokePeer } from './peer.js'

type Level = keyof SmokeLogger

export class SmokeNode extends EventEmitter {
  /** The options in force, with smokesignal's defaults filled in. */
  readonly options: ResolvedSmokeOptions
  /** This node's network-wide id (its hearsay peer id, known from construction on). */
  readonly id: string
  /** The peers this node is friends with. */
  readonly peers = new Peerlist()
  /**
   * A duplex stream: everyone gets what you write to it, and you read everything the other
   * nodes write. Usable at once: writes made before the node joined wait and go out on join.
   */
  readonly broadcast = new StreamBridge()
  readonly logger: SmokeLogger
  readonly #node: HearsayNode
  readonly #byId = new Map<string, SmokePeer>()
  /** Streams a peer opened before this side listed the peer (the two events race). */
  readonly #early = new Map<string, PeerStream>()
  /** start(), stop() and addPeer() run in call order: stop() right after start() stops it. */
  #ops: Promise<void> = Promise.resolve()
  #wanted: 'started' | 'stopped' = 'stopped'

  constructor (options: unknown) {
    super()
    this.options = resolveSmokeOptions(options)
    this.logger = this.options.logger
    const identity = generateIdentity()
    this.id = identity.id
    const { address, port, seeds } = this.options
    const self = (s: { address: string, port: number }): boolean => s.port === port && (hostOf(s.address) === hostOf(address) || s.address === '')
    this.#node = createNode({
      identity,
      transports: [tcp()],
      // smokesignal bound its server on every interface and told others `address`
      listen: [`tcp://0.0.0.0:${port}`],
      ...(port === 0 ? {} : { announceAddresses: [`tcp://${hostOf(address)}:${port}`] }),
      seeds: seeds.filter(s => !self(s)).map(s => `tcp://${hostOf(s.address)}:${s.port}`),
      minPeers: this.options.minPeerNo,
      maxPeers: this.options.maxPeerNo,
      // a seed's netsplit check is a dial: it fails after pingTimeout as smokesignal's ping did
      dialTimeout: this.options.pingTimeout,
      logger: this.logger,
      // a store of our own, kept across stop() and start() (the default one closes at stop)
      store: memoryStore(),
      closeStore: false
    })
    this.#wire()
  }

  /** The hearsay node underneath, for what smokesignal had no name for. */
  get hearsay (): HearsayNode { return this.#node }

  /** Starts the node: binds the port and enters the network through the seeds. */
  start (): this {
    if (this.#wanted === 'started') return this
    this.#wanted = 'started'
    this.#queue(async () => {
      await this.#node.start()
      const b = this.#node.createBroadcastStream()
      this.broadcast.attachWritable(b.writable)
      this.broadcast.attachReadable(b.readable, false)
      this.#log('debug', 'Server is listening!', this.#node.addresses)
    }, (err) => {
      this.#wanted = 'stopped'
      this.#log('fatal', err.message)
      // as smokesignal's server error: unhandled, it ends the process
      this.emit('error', err)
    })
    return this
  }

  /** Stops the node: disconnects every peer and shuts the server down. */
  stop (): this {
    if (this.#wanted === 'stopped') return this
    this.#wanted = 'stopped'
    this.#queue(async () => {
      this.broadcast.detachWritable()
      await this.#node.stop()
    }, (err) => { this.#log('error', 'stop failed', err) })
    return this
  }

  /**
   * Tries to connect to the node at `address:port` and add it as a peer (an overlay neighbour).
   * `callback(err, peer)` is optional; without it a failure is logged, as smokesignal did.
   */
  addPeer (address: string, port: number, callback?: (err: Error | null, peer?: SmokePeer) => void): void {
    if (typeof address !== 'string') throw new TypeError('node.addPeer(address, port): address must be a string')
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError('node.addPeer(address, port): port must be an integer 1..65535')
    if (callback !== undefined && typeof callback !== 'function') throw new TypeError('node.addPeer(address, port, callback): callback must be a function')
    const target = `tcp://${hostOf(address)}:${port}`
    this.#log('trace', `Trying to add peer at "${address}:${port}"`)
    this.#queue(async () => {
      const peer = await this.#node.dial(target)
      callback?.(null, this.#byId.get(peer.id))
    }, (err) => {
      if (callback !== undefined) { callback(err); return }
      this.#log('error', `An error occured while establishing connection to new peer at "${address}:${port}"`, err)
    })
  }

  #queue (op: () => Promise<void>, onError: (err: Error) => void): void {
    this.#ops = this.#ops.then(op).catch((err: unknown) => { onError(err instanceof Error ? err : new Error(String(err))) })
  }

  #wire (): void {
    const node = this.#node
    node.on('peer:connect', (peer) => { this.#added(peer) })
    node.on('peer:disconnect', ({ peer }) => {
      const p = this.#byId.get(peer.id)
      if (p === undefined) return
      this.#byId.delete(peer.id)
      this.#early.delete(peer.id)
      this.peers.remove(p)
      this.#log('info', `Removed peer: ${p.id}`)
      p.closed()
    })
    node.on('stream', (s) => {
      if (s.name !== SOCKET_STREAM) { s.reset('refused'); return }
      // we never write into the stream the peer opened: it is the peer's half of `socket`
      s.closed.catch(() => { /* reported by the peer's 'close' */ })
      void s.writable.close().catch(() => {})
      const p = this.#byId.get(s.peer.id)
      if (p === undefined) { this.#early.set(s.peer.id, s); return }
      p.socket.attachReadable(s.readable, true)
    })
    // smokesignal's connect / disconnect: the first peer arrived, the last one left
    node.on('online', () => { this.emit('connect') })
    node.on('offline', () => { this.emit('disconnect') })
    node.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err)
      else this.#log('error', err.message, err)
    })
  }

  #added (peer: Peer): void {
    const p = new SmokePeer(peer, () => { this.#node.hangUp(peer).catch((err: unknown) => { this.#log('warn', 'hang up failed', err) }) })
    this.#byId.set(peer.id, p)
    try {
      const out = peer.openStream(SOCKET_STREAM)
      out.closed.catch(() => { /* reported by the peer's 'close' */ })
      // the peer writes nothing into our stream (it writes into its own): drain it so it can end
      void out.readable.pipeTo(new WritableStream()).catch(() => {})
      p.socket.attachWritable(out.writable)
    } catch (err) {
      this.#log('warn', `no socket stream to peer ${peer.id}`, err)
    }
    const early = this.#early.get(peer.id)
    if (early !== undefined) { this.#early.delete(peer.id); p.socket.attachReadable(early.readable, true) }
    this.peers.add(p)
    this.#log('info', `Added new peer: ${p.id}`)
  }

  #log (level: Level, ...args: unknown[]): void {
    const fn = this.logger[level]
    if (typeof fn !== 'function') return
    try { fn.apply(this.logger, args) } catch { /* a broken logger must not break the node */ }
  }
}
