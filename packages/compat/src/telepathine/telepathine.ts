/**
 * telepathine's `Telepathine` over one `HearsayNode` (TCP): its key/value state is hearsay's
 * replicated state (`node.state`), its event bus is `node.events`, its peer events are hearsay's
 * cluster membership (`member:*`), its darknet is `networkKey`.
 */
import { createNode, generateIdentity, memoryStore, NotStartedError, QueueFullError } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { tcp } from '@hearsay/transport-tcp'
import { warnOnce } from '../shared/warn-once.js'
import { resolveTelepathine, urlHost } from './options.js'
import type { ResolvedTelepathine } from './options.js'
import { PeerTimers } from './timers.js'
import { WildcardEmitter } from './wildcard-emitter.js'
import type { TelepathineHandler } from './wildcard-emitter.js'

/** hearsay's reserved membership heartbeat key: never shown as an application key. */
const HEARTBEAT_KEY = '~hb'

/** Most `say()` calls kept while the peer is not running (they go out at start). */
export const MAX_PENDING_SAYS = 1000

interface PendingSet { value: unknown, expiresAt: number | undefined }
interface PendingSay { name: string, data: unknown, duration: number }

/** What `peer:new` hands out: hearsay's `Member` (`node.members()`). */
export interface PeerState { id: string, alive: boolean, heartbeat: number, lastSeen: number }

const checkFn = (what: string, fn: unknown): void => {
  if (typeof fn !== 'function') throw new TypeError(`${what} must be a function`)
}
const checkName = (what: string, name: unknown): void => {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError(`${what} must be a non-empty string`)
}
const checkMs = (what: string, ms: unknown): void => {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TypeError(`${what} must be a number of ms ≥ 0`)
}

export class Telepathine extends WildcardEmitter {
  /** This peer's name: its hearsay peer id (telepathine's was `address:port`). */
  readonly peer_name: string
  /** The port given to the constructor. */
  readonly port: number
  readonly #o: ResolvedTelepathine
  readonly #node: HearsayNode
  readonly #timers = new PeerTimers()
  /** Writes made while not running: applied at start (telepathine's state was local until then). */
  readonly #pendingSets = new Map<string, PendingSet>()
  readonly #pendingSays: PendingSay[] = []
  /** True from the moment the pending writes went out until stop. */
  #live = false
  #wanted: 'started' | 'stopped' = 'stopped'
  /** start() and stop() run in call order. */
  #ops: Promise<void> = Promise.resolve()

  constructor (port: number, seeds?: string[], options?: Record<string, unknown>) {
    super()
    this.#o = resolveTelepathine(port, seeds, options)
    this.port = port
    const identity = generateIdentity()
    this.peer_name = identity.id
    const o = this.#o
    this.#node = createNode({
      identity,
      transports: [tcp()],
      listen: [`tcp://${urlHost(o.host)}:${o.port}`],
      ...(o.announce === undefined ? {} : { announceAddresses: [o.announce] }),
      seeds: o.seeds,
      ...(o.network === undefined ? {} : { networkKey: o.network }),
      state: { members: true, gossipInterval: o.gossipIntervalMS, memberHeartbeatInterval: o.heartbeatIntervalMS },
      // kept across stop() and start(): the incarnation in it keeps a restarted peer's versions ahead
      store: memoryStore(),
      closeStore: false
    })
    this.#wire()
  }

  /** The hearsay node underneath, for what telepathine had no name for. */
  get hearsay (): HearsayNode { return this.#node }

  /**
   * Starts the peer (may be called again after `stop()`; handlers are kept). `callback(err?)`
   * runs once it listens, with `this` the peer. Returns the peer, for chaining.
   */
  start (callback?: (this: Telepathine, err?: Error) => void): this {
    if (callback !== undefined) checkFn('start(callback): callback', callback)
    if (this.#wanted === 'started') {
      if (callback !== undefined) void this.#ops.then(() => { callback.call(this) })
      return this
    }
    this.#wanted = 'started'
    this.#queue(async () => {
      await this.#node.start()
      this.#live = true
      this.#flush()
      this.#timers.armAll(this.#node)
      this.emit('start', this)
      callback?.call(this)
    }, (err) => {
      this.#wanted = 'stopped'
      if (callback !== undefined) callback.call(this, err)
      else this.emit('error', err)
    })
    return this
  }

  /** Stops the peer (it may start again). Returns the peer. */
  stop (): this {
    if (this.#wanted === 'stopped') return this
    this.#wanted = 'stopped'
    this.#queue(async () => {
      this.#live = false
      await this.#node.stop()
      this.#timers.paused()
      this.emit('stop', this)
    }, (err) => { this.emit('error', err) })
    return this
  }

  /** Sets a local key, replicated to every peer; `expiresAt` is a unix time in ms. */
  set (key: string, value: unknown, expiresAt?: number): boolean {
    checkName('set(key, value): key', key)
    if (key === HEARTBEAT_KEY) throw new TypeError(`set: the key "${HEARTBEAT_KEY}" is reserved`)
    if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) throw new TypeError('set(key, value, expiresAt): expiresAt must be a unix time in ms')
    if (this.#live) {
      this.#node.state.set(key, value, expiresAt === undefined ? {} : { expiresAt })
      return true
    }
    this.#pendingSets.delete(key)
    this.#pendingSets.set(key, { value, expiresAt })
    return true
  }

  /** This peer's value of `key`. */
  get (key: string): unknown {
    checkName('get(key): key', key)
    const pending = this.#pendingSets.get(key)
    if (pending !== undefined) return pending.value
    return this.#read(() => this.#node.state.get(key))
  }

  /** `peer`'s value of `key`, as this peer knows it. */
  getRemote (peer: string, key: string): unknown {
    checkName('getRemote(peer, key): peer', peer)
    checkName('getRemote(peer, key): key', key)
    if (peer === this.peer_name) return this.get(key)
    return this.#read(() => this.#node.state.getRemote(peer, key))
  }

  /** Every key `peer` has set (its live ones), as this peer knows them. */
  keys (peer: string): string[] {
    checkName('keys(peer): peer', peer)
    const known = this.#read(() => this.#node.state.keys(peer)) ?? []
    if (peer !== this.peer_name) return known
    return [...new Set([...known, ...this.#pendingSets.keys()])].sort()
  }

  /**
   * Says an event to every other peer; with `eventDurationMS`, peers that join within that time
   * still hear it. Said before `start()`, it goes out at start.
   */
  say (eventname: string, parameter?: unknown, eventDurationMS?: number, buffer?: unknown): void {
    checkName('say(eventname, parameter): eventname', eventname)
    if (eventDurationMS !== undefined) checkMs('say(eventname, parameter, eventDurationMS): eventDurationMS', eventDurationMS)
    if (buffer !== undefined) warnOnce('HEARSAY_COMPAT_TELEPATHINE_SAY_BUFFER', 'telepathine compat: say()\'s buffer argument has no effect: hearsay encodes every parameter with msgpack, so Buffers and Uint8Arrays travel as bytes anyway')
    const duration = eventDurationMS ?? 0
    if (this.#live) { this.#node.events.say(eventname, parameter, { duration }); return }
    if (this.#pendingSays.length >= MAX_PENDING_SAYS) throw new QueueFullError(`say: ${MAX_PENDING_SAYS} events already wait for start(); start the peer first`)
    this.#pendingSays.push({ name: eventname, data: parameter, duration })
  }

  /** `handler(data, fromPeer)` for every event said by another peer whose name matches `pattern` (wildcards). */
  hear (pattern: string, handler: TelepathineHandler<this>): this {
    checkName('hear(pattern, handler): pattern', pattern)
    return this.on(`say:${pattern}`, handler)
  }

  /** Like `hear`, once. */
  hearOnce (pattern: string, handler: TelepathineHandler<this>): this {
    checkName('hearOnce(pattern, handler): pattern', pattern)
    return this.once(`say:${pattern}`, handler)
  }

  /** `handler(peer_name, key, value, expiresAt)` when another peer sets a key matching `keyPattern` (wildcards). */
  know (keyPattern: string, handler: TelepathineHandler<this>): this {
    checkName('know(key, handler): key', keyPattern)
    return this.on(`set:${keyPattern}`, handler)
  }

  /**
   * Like `know`, and every value received for `key` is also set in this peer's own state (with
   * its expiry). The handler is optional.
   */
  believe (key: string, handler?: TelepathineHandler<this>): this {
    checkName('believe(key, handler): key', key)
    if (handler !== undefined) checkFn('believe(key, handler): handler', handler)
    const node = this.#node
    const self = this
    return this.on(`set:${key}`, (peer: string, k: string, ...rest: unknown[]) => {
      node.state.believe(k, peer)
      // `self.event` is still set: the emitter restores it only after this handler returns
      handler?.call(self, peer, k, ...rest)
    })
  }

  /** Runs `callback` (with `this` the peer) `delayMS` after start, or from now if running. */
  after (delayMS: number, callback: (this: Telepathine) => void): this {
    checkMs('after(delayMS, callback): delayMS', delayMS)
    checkFn('after(delayMS, callback): callback', callback)
    this.#timers.add(delayMS, () => { callback.call(this) }, false, this.#live ? this.#node : undefined)
    return this
  }

  /** Runs `callback` (with `this` the peer) every `intervalMS` while running. */
  every (intervalMS: number, callback: (this: Telepathine) => void): this {
    checkMs('every(intervalMS, callback): intervalMS', intervalMS)
    if (intervalMS === 0) throw new TypeError('every(intervalMS, callback): intervalMS must be > 0')
    checkFn('every(intervalMS, callback): callback', callback)
    this.#timers.add(intervalMS, () => { callback.call(this) }, true, this.#live ? this.#node : undefined)
    return this
  }

  #queue (op: () => Promise<void>, onError: (err: Error) => void): void {
    this.#ops = this.#ops.then(op).catch((err: unknown) => { onError(err instanceof Error ? err : new Error(String(err))) })
  }

  /** Reads of a peer that never started find nothing (hearsay's state loads at start). */
  #read<T> (fn: () => T): T | undefined {
    try { return fn() } catch (err) { if (err instanceof NotStartedError) return undefined; throw err }
  }

  #flush (): void {
    for (const [key, { value, expiresAt }] of this.#pendingSets) {
      this.#pendingSets.delete(key)
      if (expiresAt !== undefined && expiresAt <= Date.now()) continue // expired while waiting: as if set and expired
      this.#node.state.set(key, value, expiresAt === undefined ? {} : { expiresAt })
    }
    for (const s of this.#pendingSays.splice(0)) this.#node.events.say(s.name, s.data, { duration: s.duration })
  }

  #wire (): void {
    const node = this.#node
    node.state.on('set', (c) => {
      if (c.local || c.key === HEARTBEAT_KEY) return
      this.emit('set', c.owner, c.key, c.value, c.expiresAt)
      this.emit(`set:${c.key}`, c.owner, c.key, c.value, c.expiresAt)
    })
    node.state.on('expire', (c) => {
      if (c.key === HEARTBEAT_KEY) return
      this.emit('key:expired', c.owner, c.key, c.value, c.expiresAt)
    })
    node.events.hear('**', (data, from, e) => { this.emit(`say:${e.name}`, data, from) })
    // cluster-wide peer events: hearsay's membership, carried by the state anti-entropy
    node.on('member:join', (m) => { this.emit('peer:new', m as PeerState) })
    node.on('member:up', (m) => { this.emit('peer:start', (m as PeerState).id) })
    node.on('member:down', (m) => { this.emit('peer:stop', (m as PeerState).id) })
    node.on('error', (err) => { this.emit('error', err) })
  }
}
