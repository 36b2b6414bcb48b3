import { AbstractConnection } from './abstract-connection.js'
import { parseAddress } from './address.js'
import type { Clock, Random } from '../util/clock.js'
import { systemClock, systemRandom } from '../util/clock.js'
import { DialError, InvalidAddressError } from '../util/errors.js'
import { throwIfAborted } from '../util/abort.js'
import type { Connection, DialOptions, Listener, ListenOptions, Transport } from './transport.js'

export interface MemoryNetworkOptions {
  clock?: Clock
  random?: Random
  /** Default one-way latency of every link in ms. @default 0 */
  latency?: number
  /**
   * Copy every frame on send, so that a sender reusing its buffer cannot change a frame in
   * flight. The simulator turns it off: core's links never reuse a frame they sent (each is a
   * fresh encoding), and its pass-through codec finds its data on the very frame it sent.
   * @default true
   */
  copyFrames?: boolean
}

interface LinkStats { frames: number, bytes: number }

/**
 * A simulated network: endpoints are `memory:<name>` addresses inside one process. It is the
 * base of every multi-node test and of the simulator, so every delay goes through the injected
 * clock and every choice through the injected random source.
 */
export class MemoryNetwork {
  readonly clock: Clock
  readonly random: Random
  private readonly listeners = new Map<string, { host: string, accept: (c: Connection) => void, maxFrameBytes?: number }>()
  private readonly connections = new Set<MemoryConnection>()
  private readonly latencies = new Map<string, number>()
  private readonly losses = new Map<string, number>()
  private readonly groups = new Map<string, number>()
  private readonly dead = new Set<string>()
  private defaultLatency: number
  private defaultLoss = 0
  private nextId = 0
  /** @internal */
  readonly copyFrames: boolean
  readonly stats: LinkStats = { frames: 0, bytes: 0 }
  /** Frames dropped by simulated loss or partition. */
  dropped = 0

  constructor (opts: MemoryNetworkOptions = {}) {
    this.clock = opts.clock ?? systemClock
    this.random = opts.random ?? systemRandom
    this.defaultLatency = opts.latency ?? 0
    this.copyFrames = opts.copyFrames ?? true
  }

  /** A transport bound to this network; `host` names the endpoint for partitions and kills. */
  transport (host = `h${this.nextId++}`): Transport {
    return new MemoryTransport(this, host)
  }

  /** Sets the one-way latency between two hosts (or the default, without hosts). */
  setLatency (ms: number, a?: string, b?: string): void {
    if (a === undefined || b === undefined) this.defaultLatency = ms
    else { this.latencies.set(pairKey(a, b), ms) }
  }

  /**
   * Sets the probability that a frame is lost. The Connection contract is reliable, so loss
   * models a broken path: use it with the simulator's plain channel, not with encryption.
   */
  setLoss (p: number, a?: string, b?: string): void {
    if (a === undefined || b === undefined) this.defaultLoss = p
    else this.losses.set(pairKey(a, b), p)
  }

  /** Splits hosts into groups that cannot reach each other until `heal()`. */
  partition (...groups: string[][]): void {
    this.groups.clear()
    groups.forEach((g, i) => { for (const h of g) this.groups.set(h, i) })
  }

  heal (): void { this.groups.clear() }

  /** Kills a host: its listener vanishes and every connection it has breaks at once. */
  kill (host: string): void {
    this.dead.add(host)
    for (const [addr, l] of this.listeners) if (l.host === host) this.listeners.delete(addr)
    for (const c of [...this.connections]) {
      if (c.localHost === host || c.remoteHost === host) c.destroy(new DialError(`host ${host} was killed`))
    }
  }

  revive (host: string): void { this.dead.delete(host) }

  isAlive (host: string): boolean { return !this.dead.has(host) }

  get openConnections (): number { return this.connections.size }

  reachable (a: string, b: string): boolean {
    if (this.dead.size === 0 && this.groups.size === 0) return true
    if (this.dead.has(a) || this.dead.has(b)) return false
    const ga = this.groups.get(a)
    const gb = this.groups.get(b)
    return ga === undefined || gb === undefined || ga === gb
  }

  latencyOf (a: string, b: string): number {
    if (this.latencies.size === 0) return this.defaultLatency
    return this.latencies.get(pairKey(a, b)) ?? this.defaultLatency
  }

  lossOf (a: string, b: string): number {
    if (this.losses.size === 0) return this.defaultLoss
    return this.losses.get(pairKey(a, b)) ?? this.defaultLoss
  }

  /** @internal */
  register (name: string, host: string, accept: (c: Connection) => void, maxFrameBytes?: number): void {
    if (this.listeners.has(name)) throw new InvalidAddressError(`memory:${name} is already in use`)
    this.listeners.set(name, { host, accept, maxFrameBytes })
  }

  /** @internal */
  unregister (name: string): void { this.listeners.delete(name) }

  /** @internal */
  connect (fromHost: string, name: string, maxFrameBytes?: number): MemoryConnection {
    const l = this.listeners.get(name)
    if (l === undefined || !this.reachable(fromHost, l.host)) throw new DialError(`memory:${name} is unreachable`)
    const out = new MemoryConnection(this, fromHost, l.host, `memory:${name}`, 'outbound', maxFrameBytes)
    const inn = new MemoryConnection(this, l.host, fromHost, `memory:${fromHost}`, 'inbound', l.maxFrameBytes)
    out.peer = inn
    inn.peer = out
    this.connections.add(out)
    this.connections.add(inn)
    l.accept(inn)
    return out
  }

  /** @internal */
  forget (c: MemoryConnection): void { this.connections.delete(c) }
}

function pairKey (a: string, b: string): string { return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}` }

class MemoryConnection extends AbstractConnection {
  peer: MemoryConnection | undefined
  private inFlight = 0
  private lastArrival = 0
  private paused = false
  /** Frames that arrived while paused, with their senders. */
  private held: Array<[Uint8Array, MemoryConnection]> | undefined
  /**
   * Frames sent and not yet delivered, oldest first from `outHead`, and the end they go to (the
   * peer when they were sent). Every frame still gets its own clock event, at the same time as
   * ever; the events of one link run in order, so each takes the oldest frame: one method per
   * link instead of a closure per frame (the simulator sends millions).
   */
  private out: Uint8Array[] | undefined
  private outHead = 0
  private outTo: MemoryConnection | undefined
  private deliverNext: (() => void) | undefined

  constructor (
    private readonly net: MemoryNetwork,
    readonly localHost: string,
    readonly remoteHost: string,
    remoteAddress: string,
    direction: 'inbound' | 'outbound',
    maxFrameBytes?: number
  ) {
    super({ remoteAddress, direction, maxFrameBytes })
  }

  get bufferedAmount (): number { return this.inFlight }

  protected _send (frame: Uint8Array): void {
    const peer = this.peer
    if (peer === undefined) return
    const net = this.net
    if (!net.reachable(this.localHost, this.remoteHost)) { net.dropped++; return }
    const loss = net.lossOf(this.localHost, this.remoteHost)
    if (loss > 0 && net.random.float() < loss) { net.dropped++; return }
    // the receiver must not see our buffer change under it
    const copy = net.copyFrames ? frame.slice() : frame
    this.inFlight += copy.length
    net.stats.frames++
    net.stats.bytes += copy.length
    const now = net.clock.now()
    // per-link FIFO even when latency changes
    const at = Math.max(now + net.latencyOf(this.localHost, this.remoteHost), this.lastArrival)
    this.lastArrival = at
    const out = (this.out ??= [])
    out.push(copy)
    this.outTo = peer
    const deliver = (this.deliverNext ??= () => { this.#deliverOldest() })
    if (at <= now) queueMicrotask(deliver)
    else net.clock.setTimeout(deliver, at - now)
  }

  #deliverOldest (): void {
    const out = this.out!
    const frame = out[this.outHead]!
    out[this.outHead++] = undefined as unknown as Uint8Array
    if (this.outHead === out.length) { out.length = 0; this.outHead = 0 }
    this.outTo!.deliver(frame, this)
  }

  /**
   * @internal A frame from `from` reached this end: read now, or, while paused, held (and still
   * counted in the sender's `bufferedAmount`, as a socket's buffers would be).
   */
  deliver (frame: Uint8Array, from: MemoryConnection): void {
    if (this.paused && !this.closed) { (this.held ??= []).push([frame, from]); return }
    from.inFlight -= frame.length
    from._maybeDrained()
    this._receive(frame)
  }

  pause (): void { if (!this.closed) this.paused = true }

  resume (): void {
    if (!this.paused) return
    this.paused = false
    const held = this.held
    this.held = undefined
    // a consumer that pauses again part way re-holds the rest, in order
    for (const [frame, from] of held ?? []) this.deliver(frame, from)
  }

  protected _close (reason?: Error): void {
    this.held = undefined
    this.net.forget(this)
    const peer = this.peer
    this.peer = undefined
    // the far end learns of a close after the frames already in flight; across a partition it
    // learns nothing (a FIN does not cross a netsplit either) and must find out by itself
    if (peer !== undefined && !peer.closed && this.net.reachable(this.localHost, this.remoteHost)) {
      const at = Math.max(this.net.clock.now(), this.lastArrival)
      const notify = (): void => { peer.destroy(reason === undefined ? undefined : new DialError('remote closed with an error', { cause: reason })) }
      const now = this.net.clock.now()
      if (at <= now) queueMicrotask(notify)
      else this.net.clock.setTimeout(notify, at - now)
    }
  }

  /** @internal closes from the network side (kill, remote close) */
  destroy (reason?: Error): void { this._closed(reason) }
}

class MemoryTransport implements Transport {
  readonly name = 'memory'
  readonly protocols = ['memory'] as const
  readonly supports = { listen: true }
  private readonly names = new Set<string>()

  constructor (private readonly net: MemoryNetwork, readonly host: string) {}

  async dial (address: string, options: DialOptions = {}): Promise<Connection> {
    throwIfAborted(options.signal)
    const a = parseAddress(address)
    if (a.protocol !== 'memory') throw new InvalidAddressError(`memory transport cannot dial ${address}`)
    if (!this.net.isAlive(this.host)) throw new DialError('this host was killed')
    return this.net.connect(this.host, a.name, options.maxFrameBytes)
  }

  async listen (address: string, onConnection: (conn: Connection) => void, options: ListenOptions = {}): Promise<Listener> {
    throwIfAborted(options.signal)
    const a = parseAddress(address)
    if (a.protocol !== 'memory') throw new InvalidAddressError(`memory transport cannot listen on ${address}`)
    // port-0 style: `memory:` + `*` picks a unique name from the host
    const name = a.name === '*' ? `${this.host}` : a.name
    this.net.register(name, this.host, onConnection, options.maxFrameBytes)
    this.names.add(name)
    const net = this.net
    const names = this.names
    return {
      addresses: [`memory:${name}`],
      close: async () => { net.unregister(name); names.delete(name) }
    }
  }

  async close (): Promise<void> {
    for (const n of this.names) this.net.unregister(n)
    this.names.clear()
  }
}

/** Shorthand: a fresh network's transport, for single tests. */
export function memoryTransport (opts: { network: MemoryNetwork, host?: string }): Transport {
  return opts.network.transport(opts.host)
}

