import type { AbortOptions } from '../../util/abort.js'
import { decodeValue, encodeValue } from '../../wire/envelope.js'
import { NotStartedError, UnsupportedError } from '../../util/errors.js'
import type { PeerId } from '../../wire/identity.js'
import { isPeerId, signWith, verifyFrom } from '../../wire/identity.js'
import type { ServiceContext } from '../context.js'
import { sample } from '../../overlay/sample.js'
import { isInt, isRecord } from '../../overlay/validate.js'
import { PatternListeners } from '../../util/pattern.js'
import type { Peer } from '../../link/peer.js'
import type { Member, MemberEvent } from './members.js'
import { MemberTable } from './members.js'
import type { StateOptions } from './options.js'
import { STATE_DEFAULTS } from './options.js'
import { checkKnownKeys } from '../../util/known-keys.js'
import type { Change, Plan } from './scuttlebutt.js'
import { checkLimits, nextIncarnation, Scuttlebutt, trustedOwnership } from './scuttlebutt.js'
import { wallClock } from './wall-clock.js'

/** Where the incarnation is kept in the peer store (`getMeta` / `putMeta`). */
export const INCARNATION_META_KEY = 'kv.incarnation'

/**
 * The key of every node's membership heartbeat (its counter, msgpack-encoded) in its own state.
 * Reserved: `set`, `delete` and `believe` refuse it, and `keys`, `owners` and change events hide it.
 */
export const MEMBER_HEARTBEAT_KEY = '~hb'

/** What `set`, `delete` and `expire` listeners receive. */
export interface StateChange {
  /** The node whose key changed (this node's id for local changes). */
  owner: PeerId
  key: string
  /** The new value (`set`), the value that expired (`expire`), undefined for `delete`. */
  value: unknown
  version: number
  /** Wall-clock ms since the epoch when the value (or tombstone) expires; undefined = never. */
  expiresAt?: number
  /** True for this node's own `set` / `delete` / expiry. */
  local: boolean
}

/** `set`, `delete`, `expire`, or one of them followed by `:` and a key pattern (`set:room.*`). */
export type StateEvent = 'set' | 'delete' | 'expire' | `set:${string}` | `delete:${string}` | `expire:${string}`

export interface SetOptions {
  /** Time to live, ms from now. */
  ttl?: number
  /** Absolute expiry, wall-clock ms since the epoch. */
  expiresAt?: number
}

export interface DeleteOptions {
  /** How long the tombstone lives, ms. @default the node's `state.tombstoneTtl` (24 h) */
  ttl?: number
}

/** One entry with its metadata, from `entry(owner, key)`. */
export interface StateEntryInfo {
  owner: PeerId
  key: string
  /** Undefined for a tombstone. */
  value: unknown
  deleted: boolean
  version: number
  expiresAt?: number
}

export interface StateStats {
  /** Owners whose state is kept, this node included. */
  owners: number
  /** Bytes of other owners' state kept. */
  bytes: number
  incarnation: number
  /** Highest version this node issued. */
  version: number
  /** Batch signatures made. */
  signatures: number
  /** Batch signatures checked. */
  verifications: number
  /** Batches already checked (no signature work). */
  cachedBatches: number
  /** Batches that came straight from their owner over its authenticated link (no signature check). */
  directBatches: number
}

declare module '../context.js' {
  interface ServiceEvents {
    /** Cluster membership (`state` service): a member's heartbeat reached this node for the first time (or again after it was forgotten). */
    'member:join': Member
    /** Cluster membership: a member's phi crossed `state.memberPhiThreshold` (once per transition). */
    'member:down': Member
    /** Cluster membership: a member reported down has a newer heartbeat (once per transition). */
    'member:up': Member
  }
}

/** @internal what the node hands the service */
export interface StateEnvironment {
  /** Signs with the node's identity. */
  sign: (message: Uint8Array) => Uint8Array
  /** The node's channel proves no identities (plain channel): default to trusted ownership. */
  plainChannel: boolean
}

type Resolved = Required<Omit<StateOptions, 'now' | 'ownership'>> & { now: () => number, ownership: 'signed' | 'trusted' }

/**
 * `node.state`: this node's replicated key/value state and what it knows of every other
 * node's. Writes are local and spread by anti-entropy gossip with random active peers every
 * `gossipInterval`; a value written here reaches every node in O(log N) rounds.
 */
export class StateService {
  #sb: Scuttlebutt | undefined
  #disabled: string | undefined
  readonly #o: Resolved
  readonly #listeners: Record<'set' | 'delete' | 'expire', PatternListeners<StateChange>>
  readonly #any: Record<'set' | 'delete' | 'expire', Set<(c: StateChange) => void>>
  /** The member table of this run (undefined before start, after stop, and with `members: false`). */
  #members: MemberTable | undefined
  /** This node's own heartbeat: counter (it goes on across a stop and start) and node-clock time of the last beat. */
  #beat = { count: 0, at: 0 }

  /** @internal created by the node */
  constructor (private readonly ctx: ServiceContext, opts: StateOptions = {}, private readonly env: StateEnvironment = { sign: (m) => signWith(ctx.identity, m), plainChannel: ctx.plainChannel }) {
    const D = STATE_DEFAULTS
    checkKnownKeys('state', opts, [...Object.keys(D), 'ownership', 'now'])
    // with a small frame limit the message budget, and then the value limit, shrink to fit
    const maxMessageBytes = opts.maxMessageBytes ?? Math.min(D.maxMessageBytes, ctx.limits.maxFrameBytes - 64)
    const maxKeyBytes = opts.maxKeyBytes ?? D.maxKeyBytes
    this.#o = {
      gossipInterval: opts.gossipInterval ?? D.gossipInterval,
      fanout: opts.fanout ?? D.fanout,
      maxMessageBytes,
      maxDeltaMessages: opts.maxDeltaMessages ?? D.maxDeltaMessages,
      maxOwners: opts.maxOwners ?? D.maxOwners,
      maxKeysPerOwner: opts.maxKeysPerOwner ?? D.maxKeysPerOwner,
      maxKeyBytes,
      maxValueBytes: opts.maxValueBytes ?? Math.min(D.maxValueBytes, maxMessageBytes - maxKeyBytes - 512),
      maxTotalBytes: opts.maxTotalBytes ?? D.maxTotalBytes,
      maxBatchLeaves: opts.maxBatchLeaves ?? D.maxBatchLeaves,
      tombstoneTtl: opts.tombstoneTtl ?? D.tombstoneTtl,
      sweepInterval: opts.sweepInterval ?? D.sweepInterval,
      members: opts.members ?? D.members,
      memberHeartbeatInterval: opts.memberHeartbeatInterval ?? D.memberHeartbeatInterval,
      memberPhiThreshold: opts.memberPhiThreshold ?? D.memberPhiThreshold,
      memberForgetAfter: opts.memberForgetAfter ?? D.memberForgetAfter,
      maxMembers: opts.maxMembers ?? D.maxMembers,
      ownership: opts.ownership ?? (env.plainChannel ? 'trusted' : 'signed'),
      now: wallClock(ctx.clock, opts.now)
    }
    for (const k of ['gossipInterval', 'fanout', 'maxDeltaMessages', 'tombstoneTtl', 'sweepInterval', 'memberHeartbeatInterval', 'memberForgetAfter', 'maxMembers'] as const) {
      if (!isInt(this.#o[k], 1, Number.MAX_SAFE_INTEGER)) throw new TypeError(`state.${k} must be a positive integer`)
    }
    if (typeof this.#o.members !== 'boolean') throw new TypeError('state.members must be a boolean')
    if (!isPositive(this.#o.memberPhiThreshold)) throw new TypeError('state.memberPhiThreshold must be a positive number')
    if (this.#o.ownership !== 'signed' && this.#o.ownership !== 'trusted') throw new TypeError("state.ownership must be 'signed' or 'trusted'")
    try {
      if (this.#o.maxMessageBytes > ctx.limits.maxFrameBytes - 64) throw new TypeError('state.maxMessageBytes must be at least 64 bytes below limits.maxFrameBytes')
      checkLimits(this.#o)
    } catch (err) {
      // explicit state options that cannot work are the caller's error; a frame limit too small
      // for the default ones only turns state off (an application that never uses it still runs)
      const explicit = opts.maxMessageBytes !== undefined || opts.maxKeyBytes !== undefined || opts.maxValueBytes !== undefined || opts.maxBatchLeaves !== undefined
      if (explicit) throw err
      this.#disabled = `limits.maxFrameBytes (${ctx.limits.maxFrameBytes}) leaves no room for state messages`
    }
    const onError = (err: unknown): void => { ctx.reportError(err, 'state') }
    this.#listeners = { set: new PatternListeners(onError), delete: new PatternListeners(onError), expire: new PatternListeners(onError) }
    this.#any = { set: new Set(), delete: new Set(), expire: new Set() }
    ctx.handle('kv.syn', (peer, data) => { this.#onSyn(peer, data) })
    ctx.handle('kv.ack', (peer, data) => { this.#onAck(peer, data) })
    ctx.handle('kv.delta', (peer, data) => { this.#onDelta(peer, data) })
  }

  /**
   * @internal Called by `node.start()` once the identity is known: loads and bumps the
   * persisted incarnation, then starts gossip and the expiry sweep.
   */
  async start (options: AbortOptions = {}): Promise<void> {
    if (this.#disabled !== undefined) return
    const ctx = this.ctx
    // started again after stop(): the state lives on (same incarnation, versions go on), only the timers went
    if (this.#sb !== undefined) { this.#startTimers(); return }
    const stored = await ctx.store.getMeta(INCARNATION_META_KEY, options)
    const persisted = stored !== undefined && stored.length === 8 ? readUint64(stored) : 0
    const incarnation = nextIncarnation(persisted, this.#o.now())
    await ctx.store.putMeta(INCARNATION_META_KEY, writeUint64(incarnation), options)
    this.#sb = new Scuttlebutt({
      self: ctx.id,
      incarnation,
      now: this.#o.now,
      random: ctx.random,
      proofs: this.#o.ownership === 'trusted'
        ? trustedOwnership
        : { trusted: false, sign: this.env.sign, verify: verifyFrom },
      onIncarnation: (inc) => {
        ctx.metrics.inc('kv.incarnation-bumps')
        ctx.store.putMeta(INCARNATION_META_KEY, writeUint64(inc)).catch((err: unknown) => {
          ctx.metrics.inc('store.errors')
          ctx.logger.warn('could not persist the state incarnation', { err })
        })
      },
      onDrop: (reason) => { ctx.metrics.drop(`kv-${reason}`) },
      maxOwners: this.#o.maxOwners,
      maxKeysPerOwner: this.#o.maxKeysPerOwner,
      maxKeyBytes: this.#o.maxKeyBytes,
      maxValueBytes: this.#o.maxValueBytes,
      maxTotalBytes: this.#o.maxTotalBytes,
      maxMessageBytes: this.#o.maxMessageBytes,
      maxBatchLeaves: this.#o.maxBatchLeaves
    })
    this.#startTimers()
  }

  #startTimers (): void {
    this.ctx.timers.every(this.#o.gossipInterval, () => { this.#round() })
    this.ctx.timers.every(this.#o.sweepInterval, () => { this.#sweep() })
    if (this.#o.members) this.#startMembers()
  }

  /** Starts this run's member table and heartbeat; the node's stop clears the table (and the timers). */
  #startMembers (): void {
    const ctx = this.ctx
    const table = new MemberTable({
      threshold: this.#o.memberPhiThreshold,
      maxMembers: this.#o.maxMembers,
      forgetAfter: this.#o.memberForgetAfter,
      heartbeatInterval: this.#o.memberHeartbeatInterval,
      gossipInterval: this.#o.gossipInterval
    }, (event, member) => { this.#emitMember(event, member) }, (reason) => { ctx.metrics.drop(reason) })
    this.#members = table
    ctx.whenStopping(() => {
      table.clear()
      if (this.#members === table) this.#members = undefined
    })
    this.#heartbeat()
    ctx.timers.every(this.#o.memberHeartbeatInterval, () => { this.#heartbeat() })
    // heartbeats arrive with gossip: checking more often than a round would learn nothing new
    ctx.timers.every(this.#o.gossipInterval, () => { table.check(ctx.clock.now()) })
  }

  // ---- the API ----

  /**
   * The cluster's members as this node knows them: itself first (`self: true`), then every node
   * whose heartbeat reached it and that was not forgotten, alive or down. Empty before `start()`
   * and after `stop()`. `UnsupportedError` when state is off or `members: false`.
   */
  members (): Member[] {
    if (this.#disabled !== undefined) throw new UnsupportedError(`node.state is off: ${this.#disabled}`)
    if (!this.#o.members) throw new UnsupportedError('cluster membership is off on this node: createNode({ state: { members: true } }) turns it on (docs/api.md, "Cluster membership")')
    const table = this.#members
    if (table === undefined) return []
    return [{ id: this.ctx.id, alive: true, heartbeat: this.#beat.count, lastSeen: this.#beat.at, self: true }, ...table.list()]
  }

  /**
   * Sets one of this node's keys. `ttl` (ms) or `expiresAt` (wall-clock ms) make it expire
   * everywhere at that time. Throws `TooLargeError` (key, value, or too many keys) and
   * `TypeError` (bad key, value that cannot be encoded, bad expiry) before anything changes.
   */
  set (key: string, value: unknown, options: SetOptions = {}): void {
    const sb = this.#writable()
    checkNotReserved(key)
    const expiresAt = this.#expiryOf(options)
    let bytes: Uint8Array
    try { bytes = encodeValue(value) } catch (err) { throw new TypeError('value cannot be encoded', { cause: err }) }
    this.#emitChange(sb.set(key, bytes, expiresAt))
  }

  /** This node's value for `key`, or undefined. */
  get (key: string): unknown {
    return this.getRemote(this.ctx.id, key)
  }

  /**
   * Deletes one of this node's keys: a tombstone replaces it everywhere (and itself expires
   * after `ttl`). Returns true if a live value was removed here.
   */
  delete (key: string, options: DeleteOptions = {}): boolean {
    const sb = this.#writable()
    checkNotReserved(key)
    const ttl = options.ttl ?? this.#o.tombstoneTtl
    if (!isPositive(ttl)) throw new TypeError('ttl must be a positive number of ms')
    const c = sb.delete(key, Math.ceil(this.#o.now() + ttl))
    this.#emitChange(c)
    return c.previous !== undefined
  }

  /** `owner`'s value for `key` as this node knows it, or undefined. */
  getRemote (owner: PeerId, key: string): unknown {
    const e = this.#ready().entry(owner, key)
    return e === undefined || e.value === null ? undefined : this.#decode(e.value)
  }

  /** A key with its metadata (tombstones included), or undefined. */
  entry (owner: PeerId, key: string): StateEntryInfo | undefined {
    const e = this.#ready().entry(owner, key)
    if (e === undefined) return undefined
    return {
      owner,
      key,
      value: e.value === null ? undefined : this.#decode(e.value),
      deleted: e.value === null,
      version: e.version,
      ...(e.expiresAt !== 0 ? { expiresAt: e.expiresAt } : {})
    }
  }

  /**
   * The version of `owner`'s `key` as this node knows it (tombstones included), or undefined.
   * Versions of one owner only grow, so `versionOf(o, k) >= v` means "has seen update v or a
   * later one" (the simulator measures convergence with it).
   */
  versionOf (owner: PeerId, key: string): number | undefined {
    return this.#ready().versionOf(owner, key)
  }

  /** Live keys of `owner` (default: this node), sorted. */
  keys (owner?: PeerId): string[] {
    return this.#ready().keys(owner ?? this.ctx.id).filter(k => k !== MEMBER_HEARTBEAT_KEY)
  }

  /** Nodes with at least one live key, as this node knows them (itself included). */
  owners (): PeerId[] {
    return this.#ready().ownerIds(MEMBER_HEARTBEAT_KEY)
  }

  /**
   * Copies `owner`'s current value of `key` into this node's own state, with the same expiry
   * (telepathine's `believe`). Returns false (and changes nothing) if that value is unknown.
   */
  believe (key: string, owner: PeerId): boolean {
    const sb = this.#writable()
    checkNotReserved(key)
    if (!isPeerId(owner)) throw new TypeError('owner must be a peer id')
    if (owner === this.ctx.id) return sb.entry(owner, key)?.value != null
    const e = sb.entry(owner, key)
    if (e === undefined || e.value === null) return false
    this.#emitChange(sb.set(key, e.value, e.expiresAt))
    return true
  }

  /**
   * Listens to changes: `set`, `delete`, `expire` (every key), or `set:<pattern>` etc. with
   * the pattern rules of `pattern.ts` (`*` one segment, `**` any; segments split on `.` and
   * `:`). Returns the unsubscribe function.
   */
  on (event: StateEvent, fn: (change: StateChange) => void): () => void {
    if (typeof fn !== 'function') throw new TypeError('a listener must be a function')
    const [kind, pattern] = parseEvent(event)
    if (pattern === undefined) {
      const set = this.#any[kind]
      const wrapper = (c: StateChange): void => { fn(c) }
      set.add(wrapper)
      return () => { set.delete(wrapper) }
    }
    return this.#listeners[kind].add(pattern, (c) => { fn(c) })
  }

  /** Like `on`, for one change. */
  once (event: StateEvent, fn: (change: StateChange) => void): () => void {
    const off = this.on(event, (c) => { off(); fn(c) })
    return off
  }

  /** The incarnation of this run (persisted in the peer store, bumped at every start). */
  get incarnation (): number { return this.#ready().incarnation }

  stats (): StateStats {
    const sb = this.#ready()
    return {
      owners: sb.ownerCount,
      bytes: sb.bytes,
      incarnation: sb.incarnation,
      version: sb.version,
      signatures: sb.crypto.signed,
      verifications: sb.crypto.verified,
      cachedBatches: sb.crypto.cached,
      directBatches: sb.crypto.direct
    }
  }

  // ---- gossip ----

  /** One anti-entropy round: a digest page to `fanout` random active peers. */
  #round (): void {
    const sb = this.#sb
    if (sb === undefined || this.ctx.status !== 'running') return
    const ids = this.ctx.activeView() ?? this.ctx.peers().map(p => p.id)
    const targets = sample(this.ctx.random, ids, this.#o.fanout)
    if (targets.length === 0) return
    const page = sb.digestPage()
    for (const id of targets) {
      const peer = this.ctx.getPeer(id)
      if (peer === undefined) continue
      if (this.ctx.send(peer, 'kv.syn', page)) this.ctx.metrics.inc('kv.rounds')
    }
  }

  #onSyn (peer: Peer, data: unknown): void {
    const sb = this.#sb
    if (sb === undefined) { this.ctx.metrics.drop('kv-not-ready'); return }
    const r = sb.onDigest(data)
    if (r === undefined) return
    this.#sendDeltas(peer, r.plan)
    if (r.request.length > 0) this.ctx.send(peer, 'kv.ack', { r: r.request })
  }

  #onAck (peer: Peer, data: unknown): void {
    const sb = this.#sb
    if (sb === undefined) { this.ctx.metrics.drop('kv-not-ready'); return }
    const plan = sb.onRequest(isRecord(data) ? data.r : undefined)
    if (plan !== undefined) this.#sendDeltas(peer, plan)
  }

  #sendDeltas (peer: Peer, plan: Plan): void {
    for (const msg of this.#sb!.deltas(plan, this.#o.maxDeltaMessages)) {
      if (!this.ctx.send(peer, 'kv.delta', msg)) break
      this.ctx.metrics.inc('kv.deltas.out')
    }
  }

  #onDelta (peer: Peer, data: unknown): void {
    const sb = this.#sb
    if (sb === undefined) { this.ctx.metrics.drop('kv-not-ready'); return }
    const changes = sb.apply(peer.id, data)
    this.ctx.metrics.inc('kv.deltas.in')
    if (changes.length > 0) this.ctx.metrics.inc('kv.updates.in', changes.length)
    for (const c of changes) this.#emitChange(c)
  }

  #sweep (): void {
    const sb = this.#sb
    if (sb === undefined) return
    for (const c of sb.sweep()) this.#emitChange(c)
  }

  // ---- helpers ----

  #emitChange (c: Change): void {
    if (c.key === MEMBER_HEARTBEAT_KEY) { this.#heard(c); return }
    if (c.kind === 'delete' && c.previous === undefined) return
    const kind = c.kind
    if (this.#any[kind].size === 0 && this.#listeners[kind].size === 0) return
    const value = c.kind === 'delete' ? undefined : this.#decode(c.value!)
    const change: StateChange = { owner: c.owner, key: c.key, value, version: c.version, local: c.local, ...(c.expiresAt !== 0 ? { expiresAt: c.expiresAt } : {}) }
    for (const fn of [...this.#any[kind]]) {
      try { fn(change) } catch (err) { this.ctx.reportError(err, kind) }
    }
    this.#listeners[kind].emit(c.key, change)
  }

  // ---- membership ----

  /** Bumps this node's heartbeat: a new version of its `~hb` key, living `memberForgetAfter`. */
  #heartbeat (): void {
    const sb = this.#sb
    // the first beat is made while the node is still starting, so that its peers see it at once
    if (sb === undefined || (this.ctx.status !== 'running' && this.ctx.status !== 'starting')) return
    const count = this.#beat.count + 1
    sb.set(MEMBER_HEARTBEAT_KEY, encodeValue(count), Math.ceil(this.#o.now() + this.#o.memberForgetAfter))
    this.#beat = { count, at: this.ctx.clock.now() }
  }

  /** A change of some node's heartbeat key: a newer version from a peer is a heartbeat advance. */
  #heard (c: Change): void {
    const table = this.#members
    if (c.kind !== 'set' || c.local || c.owner === this.ctx.id || table === undefined) return
    const count = this.#decode(c.value!)
    if (!isInt(count, 0, Number.MAX_SAFE_INTEGER)) { this.ctx.metrics.drop('member-malformed'); return }
    table.advance(c.owner, count, this.ctx.clock.now())
  }

  #emitMember (event: MemberEvent, member: Member): void {
    this.ctx.metrics.inc(`members.${event.slice(7)}`)
    this.ctx.emit(event, member)
  }

  #decode (bytes: Uint8Array): unknown {
    try { return decodeValue(bytes) } catch {
      this.ctx.metrics.drop('kv-undecodable')
      return undefined
    }
  }

  #expiryOf (o: SetOptions): number {
    if (o === null || typeof o !== 'object') throw new TypeError('options must be an object')
    if (o.ttl !== undefined && o.expiresAt !== undefined) throw new TypeError('give ttl or expiresAt, not both')
    if (o.ttl !== undefined) {
      if (!isPositive(o.ttl)) throw new TypeError('ttl must be a positive number of ms')
      return Math.ceil(this.#o.now() + o.ttl)
    }
    if (o.expiresAt !== undefined) {
      if (!isPositive(o.expiresAt) || o.expiresAt <= this.#o.now()) throw new TypeError('expiresAt must be a wall-clock time in the future (ms since the epoch)')
      return Math.ceil(o.expiresAt)
    }
    return 0
  }

  #ready (): Scuttlebutt {
    if (this.#disabled !== undefined) throw new UnsupportedError(`node.state is off: ${this.#disabled}`)
    if (this.#sb === undefined) throw new NotStartedError('node.state is available once start() has loaded the identity')
    return this.#sb
  }

  #writable (): Scuttlebutt {
    const sb = this.#ready()
    if (this.ctx.status !== 'running') throw new NotStartedError(`The node is ${this.ctx.status}`)
    return sb
  }
}

function parseEvent (event: string): ['set' | 'delete' | 'expire', string | undefined] {
  if (typeof event !== 'string') throw new TypeError('event must be a string')
  const i = event.indexOf(':')
  const kind = i < 0 ? event : event.slice(0, i)
  if (kind !== 'set' && kind !== 'delete' && kind !== 'expire') throw new TypeError(`unknown state event "${event}" (set, delete, expire, or <event>:<key pattern>)`)
  if (i < 0) return [kind, undefined]
  const pattern = event.slice(i + 1)
  if (pattern.length === 0) throw new TypeError('a key pattern must not be empty')
  return [kind, pattern]
}

function checkNotReserved (key: string): void {
  if (key === MEMBER_HEARTBEAT_KEY) throw new TypeError(`the key "${MEMBER_HEARTBEAT_KEY}" is reserved for the membership heartbeat`)
}

function isPositive (n: unknown): n is number { return typeof n === 'number' && Number.isFinite(n) && n > 0 }

function readUint64 (b: Uint8Array): number {
  const v = new DataView(b.buffer, b.byteOffset, 8)
  const n = v.getUint32(0) * 2 ** 32 + v.getUint32(4)
  return Number.isSafeInteger(n) ? n : 0
}

function writeUint64 (n: number): Uint8Array {
  const b = new Uint8Array(8)
  const v = new DataView(b.buffer)
  v.setUint32(0, Math.floor(n / 2 ** 32))
  v.setUint32(4, n >>> 0)
  return b
}
