import type { AbortOptions } from '../../util/abort.js'
import { toAbortError } from '../../util/abort.js'
import { toHex, utf8Length } from '../../util/bytes.js'
import { encodeEnvelope, encodeValue } from '../../wire/envelope.js'
import { NotStartedError, TimeoutError, TooLargeError } from '../../util/errors.js'
import { ExpiringMap } from '../../util/expiring-map.js'
import type { PeerId } from '../../wire/identity.js'
import { isPeerId } from '../../wire/identity.js'
import type { ServiceContext } from '../context.js'
import type { Broadcaster } from '../../overlay/broadcast.js'
import { BroadcastDriver } from '../../overlay/broadcast-driver.js'
import { Plumtree } from '../../overlay/plumtree.js'
import { isInt, isRecord, withType } from '../../overlay/validate.js'
import { PatternListeners } from '../../util/pattern.js'
import type { Peer } from '../../link/peer.js'
import type { EventBusOptions } from '../state/options.js'
import { EVENT_DEFAULTS } from '../state/options.js'
import { wallClock } from '../state/wall-clock.js'
import { checkKnownKeys } from '../../util/known-keys.js'

/** An event as a `hear` handler gets it (third argument). */
export interface HeardEvent {
  /** The event's name as said (matched against the pattern). */
  name: string
  data: unknown
  /** The node that said it (as it claims: like `announce`, events are authenticated hop by hop only). */
  from: PeerId
  /** 128-bit random hex, unique per `say`. */
  id: string
  /** Overlay hops it travelled (0 for a replay to a late joiner and for one's own events). */
  hops: number
  /** Wall-clock ms until which late joiners still get it; undefined for `duration` 0. */
  expiresAt?: number
}

export type EventHandler = (data: unknown, from: PeerId, event: HeardEvent) => void

export interface SayOptions {
  /**
   * How long the event stays "in the air", ms: nodes that join (or link up again) within this
   * time still hear it once. 0: only the nodes connected now. @default 0
   */
  duration?: number
}

export interface HearOptions {
  /** Also hear this node's own events. @default false */
  self?: boolean
}

export interface HearOnceOptions extends HearOptions, AbortOptions {
  /** Rejects with `TimeoutError` after this many ms (promise form only). @default no timeout */
  timeout?: number
}

/** The broadcast payload of an event. */
interface Payload { i: string, o: PeerId, n: string, d: unknown, x: number }
interface Kept { id: string, payload: Payload, size: number }

type Resolved = Required<EventBusOptions>

/**
 * `node.events`: a network-wide event bus. `say` broadcasts over the overlay (Plumtree or flood,
 * as the node's `broadcast` option), with its own `ev.*` message types and de-duplication;
 * events with a `duration` are also kept and replayed to each new neighbour until they expire,
 * so that late joiners hear them. `hear` takes wildcard patterns (see pattern.ts).
 */
export class EventBus {
  readonly #o: Resolved
  readonly #now: () => number
  readonly #others: PatternListeners<HeardEvent>
  readonly #withSelf: PatternListeners<HeardEvent>
  readonly #seen: ExpiringMap<string, true>
  #kept: Kept[] = []
  #broadcaster: Broadcaster<{ t: string }> | undefined
  #driver: BroadcastDriver | undefined

  /** @internal created by the node */
  constructor (private readonly ctx: ServiceContext, opts: EventBusOptions = {}) {
    const D = EVENT_DEFAULTS
    checkKnownKeys('events', opts, Object.keys(D))
    this.#o = {
      maxNameBytes: opts.maxNameBytes ?? D.maxNameBytes,
      maxEventBytes: opts.maxEventBytes ?? D.maxEventBytes,
      maxDuration: opts.maxDuration ?? D.maxDuration,
      hopLimit: opts.hopLimit ?? D.hopLimit,
      replayMaxEvents: opts.replayMaxEvents ?? D.replayMaxEvents,
      replayMaxBytes: opts.replayMaxBytes ?? D.replayMaxBytes,
      seenMaxEntries: opts.seenMaxEntries ?? D.seenMaxEntries
    }
    for (const [k, v] of Object.entries(this.#o)) if (!isInt(v, 1, Number.MAX_SAFE_INTEGER)) throw new TypeError(`events.${k} must be a positive integer`)
    if (this.#o.hopLimit > 32) throw new TypeError('events.hopLimit must be at most 32')
    this.#now = wallClock(ctx.clock)
    const onError = (err: unknown): void => { ctx.reportError(err, 'events') }
    this.#others = new PatternListeners(onError)
    this.#withSelf = new PatternListeners(onError)
    this.#seen = new ExpiringMap(this.#o.seenMaxEntries, this.#o.maxDuration + 120_000)
    for (const t of ['fl.gossip', 'pt.gossip', 'pt.ihave', 'pt.graft', 'pt.prune']) {
      ctx.handle(`ev.${t}`, (peer, data, bytes) => {
        const b = this.#broadcaster
        if (b === undefined) { ctx.metrics.drop('ev-not-ready'); return }
        this.#driver!.run(b.onMessage(peer.id, withType(data, t), ctx.clock.now(), bytes))
      })
    }
    ctx.handle('ev.replay', (peer, data) => { this.#onReplay(peer, data) })
    ctx.onNeighbour((peer, up) => { this.neighbor(peer, up) })
  }

  /** @internal Lifecycle hook, once the node runs: picks the broadcast mode and the neighbour source. */
  afterStart (): void {
    const overlay = this.ctx.overlayEnabled
    const common = { self: this.ctx.id, maxIdLength: this.ctx.limits.maxIdBytes, seenMaxEntries: this.#o.seenMaxEntries }
    this.#broadcaster = this.ctx.floodBroadcast?.create(common) ?? new Plumtree({ ...common, random: this.ctx.random.float }) as unknown as Broadcaster<{ t: string }>
    this.#driver = new BroadcastDriver(this.ctx, this.#broadcaster, { prefix: 'ev.', dropPrefix: 'ev-', noLinkDrop: 'ev-no-link', onDeliver: (d) => { this.#deliver(d.payload, d.hops, d.id) } })
    if (!overlay) {
      // a point-to-point node: every connected peer is a neighbour (listeners of this run only:
      // a node that stops and starts again calls start() again)
      for (const p of this.ctx.peers()) this.neighbor(p.id, true)
      const offs = [
        this.ctx.on('peer:connect', (p) => { this.neighbor(p.id, true) }),
        this.ctx.on('peer:disconnect', ({ peer }) => { this.neighbor(peer.id, false) })
      ]
      this.ctx.whenStopping(() => { for (const off of offs) off() })
    }
  }

  /** @internal A peer entered or left the active view. A new neighbour gets the kept events. */
  neighbor (peer: PeerId, up: boolean): void {
    const b = this.#broadcaster
    if (b === undefined) return
    if (!up) { b.neighborDown(peer); this.#driver?.scheduleTick(); return }
    b.neighborUp(peer, this.ctx.clock.now())
    this.#driver?.scheduleTick()
    this.#replayTo(peer)
  }

  /**
   * Says an event to every node of the network (not to this one, unless a listener asked
   * for `self`). Returns its id. Throws `TypeError` for a bad name, data or duration and
   * `TooLargeError` above `maxNameBytes` / `maxEventBytes`, before anything is sent.
   */
  say (name: string, data?: unknown, options: SayOptions = {}): string {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('an event name must be a non-empty string')
    if (utf8Length(name) > this.#o.maxNameBytes) throw new TooLargeError(`event name is longer than ${this.#o.maxNameBytes} bytes`)
    const duration = options.duration ?? 0
    if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0 || duration > this.#o.maxDuration) {
      throw new TypeError(`duration must be a number of ms in 0..${this.#o.maxDuration}`)
    }
    const b = this.#broadcaster
    if (b === undefined || this.ctx.status !== 'running') throw new NotStartedError(`The node is ${this.ctx.status}`)
    const id = toHex(this.ctx.random.bytes(16))
    const x = duration > 0 ? Math.ceil(this.#now() + duration) : 0
    const payload: Payload = { i: id, o: this.ctx.id, n: name, d: data, x }
    let size: number
    try { size = encodeValue(payload).length } catch (err) { throw new TypeError('event data cannot be encoded', { cause: err }) }
    if (size > this.#o.maxEventBytes) throw new TooLargeError(`event of ${size} bytes exceeds maxEventBytes (${this.#o.maxEventBytes})`)
    // and it must fit in a frame with the broadcast header
    const bytes = encodeEnvelope({ type: 'ev.pt.gossip', data: { id, hops: 1, limit: this.#o.hopLimit, payload } }, this.ctx.limits).length
    // queued until the node has a neighbour (throws QueueFullError before anything is kept)
    this.ctx.whenJoined(bytes, () => { this.#driver!.run(b.broadcast(id, payload, this.#o.hopLimit, this.ctx.clock.now(), bytes)) }, 'an event')
    this.#seen.set(id, true, this.ctx.clock.now())
    if (x > 0) this.#keep({ id, payload, size })
    this.ctx.metrics.inc('events.said')
    this.#withSelf.emit(name, { name, data, from: this.ctx.id, id, hops: 0, ...(x > 0 ? { expiresAt: x } : {}) })
    return id
  }

  /**
   * Calls `handler(data, from, event)` for every event whose name matches `pattern` (`*`
   * one segment, `**` any number; segments split on `.` and `:`). Own events only with
   * `{ self: true }`. Returns the unsubscribe function.
   */
  hear (pattern: string, handler: EventHandler, options: HearOptions = {}): () => void {
    if (typeof handler !== 'function') throw new TypeError('a handler must be a function')
    const wrap = (e: HeardEvent): void => { handler(e.data, e.from, e) }
    const offOthers = this.#others.add(pattern, wrap)
    const offSelf = options.self === true ? this.#withSelf.add(pattern, wrap) : () => {}
    return () => { offOthers(); offSelf() }
  }

  /**
   * Like `hear`, for the first matching event only. With a handler it returns the unsubscribe
   * function; without one it returns a promise of the event, which rejects with `AbortError`
   * on `signal`, `TimeoutError` after `timeout`, and `AbortError` when the node stops.
   */
  hearOnce (pattern: string, handler: EventHandler, options?: HearOptions): () => void
  hearOnce (pattern: string, options?: HearOnceOptions): Promise<HeardEvent>
  hearOnce (pattern: string, a?: EventHandler | HearOnceOptions, b?: HearOptions): (() => void) | Promise<HeardEvent> {
    if (typeof a === 'function') {
      let done = false
      const off = this.hear(pattern, (data, from, e) => {
        if (done) return
        done = true
        off()
        a(data, from, e)
      }, b)
      return off
    }
    const opts = a ?? {}
    return new Promise<HeardEvent>((resolve, reject) => {
      let cancelTimer = (): void => {}
      const cleanup = (): void => {
        off()
        cancelTimer()
        opts.signal?.removeEventListener('abort', onAbort)
        this.ctx.signal.removeEventListener('abort', onStop)
      }
      const onAbort = (): void => { cleanup(); reject(toAbortError(opts.signal?.reason)) }
      const onStop = (): void => { cleanup(); reject(toAbortError(this.ctx.signal.reason)) }
      const off = this.hear(pattern, (_d, _f, e) => { cleanup(); resolve(e) }, opts)
      if (opts.signal?.aborted === true) { onAbort(); return }
      if (this.ctx.signal.aborted) { onStop(); return }
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      this.ctx.signal.addEventListener('abort', onStop, { once: true })
      if (opts.timeout !== undefined) {
        cancelTimer = this.ctx.timers.after(opts.timeout, () => { cleanup(); reject(new TimeoutError(`no "${pattern}" event within ${opts.timeout} ms`)) })
      }
    })
  }

  /** Events kept for late joiners right now. */
  get keptCount (): number { this.#prune(); return this.#kept.length }

  // ---- internals ----

  /** Validates a payload and hands it to the listeners once. */
  #deliver (raw: unknown, hops: number, broadcastId?: string): void {
    const p = this.#parse(raw)
    if (p === undefined || (broadcastId !== undefined && broadcastId !== p.i)) { this.ctx.metrics.drop('ev-malformed'); return }
    if (p.o === this.ctx.id) { this.ctx.metrics.drop('ev-own'); return }
    const now = this.ctx.clock.now()
    if (this.#seen.get(p.i, now) !== undefined) { this.ctx.metrics.drop('ev-duplicate'); return }
    this.#seen.set(p.i, true, now)
    this.#seen.prune(now)
    this.ctx.metrics.inc('events.heard')
    // kept until it expires, so that this node can pass it on to its own late joiners
    if (p.x > this.#now()) this.#keep({ id: p.i, payload: p, size: encodeValue(p).length })
    this.#others.emit(p.n, { name: p.n, data: p.d, from: p.o, id: p.i, hops, ...(p.x > 0 ? { expiresAt: p.x } : {}) })
  }

  #parse (raw: unknown): Payload | undefined {
    if (!isRecord(raw)) return undefined
    const { i, o, n, x } = raw
    if (typeof i !== 'string' || i.length === 0 || utf8Length(i) > this.ctx.limits.maxIdBytes) return undefined
    if (!isPeerId(o) || typeof n !== 'string' || n.length === 0 || utf8Length(n) > this.#o.maxNameBytes) return undefined
    if (!isInt(x, 0, Number.MAX_SAFE_INTEGER)) return undefined
    return { i, o, n, d: raw.d, x }
  }

  #keep (k: Kept): void {
    this.#kept.push(k)
    if (this.#kept.length > this.#o.replayMaxEvents) this.#kept.splice(0, this.#kept.length - this.#o.replayMaxEvents)
  }

  #prune (): void {
    const now = this.#now()
    if (this.#kept.some(k => k.payload.x <= now)) this.#kept = this.#kept.filter(k => k.payload.x > now)
  }

  /** Sends a new neighbour the kept events, newest first, up to `replayMaxBytes`. */
  #replayTo (id: PeerId): void {
    this.#prune()
    if (this.#kept.length === 0) return
    const peer = this.ctx.getPeer(id)
    if (peer === undefined) return
    const out: Payload[] = []
    let bytes = 16
    for (let k = this.#kept.length - 1; k >= 0; k--) {
      const e = this.#kept[k]!
      if (bytes + e.size + 8 > this.#o.replayMaxBytes) break
      bytes += e.size + 8
      out.push(e.payload)
    }
    if (out.length === 0) return
    try {
      encodeEnvelope({ type: 'ev.replay', data: { e: out } }, this.ctx.limits)
    } catch {
      this.ctx.metrics.drop('ev-replay-too-large')
      return
    }
    if (this.ctx.send(peer, 'ev.replay', { e: out })) this.ctx.metrics.inc('events.replayed', out.length)
  }

  #onReplay (_peer: Peer, data: unknown): void {
    const list = isRecord(data) ? data.e : undefined
    if (!Array.isArray(list) || list.length > this.#o.replayMaxEvents * 4) { this.ctx.metrics.drop('ev-malformed'); return }
    const now = this.#now()
    // oldest first, as they were said
    for (let k = list.length - 1; k >= 0; k--) {
      const raw = list[k]
      const x = isRecord(raw) ? raw.x : undefined
      if (!isInt(x, 1, Number.MAX_SAFE_INTEGER) || x <= now) { this.ctx.metrics.drop('ev-replay-expired'); continue }
      this.#deliver(raw, 0)
    }
  }
}
