import type { AbortOptions } from '../util/abort.js'
import { toAbortError } from '../util/abort.js'
import { toHex } from '../util/bytes.js'
import { encodeEnvelope, checkType } from '../wire/envelope.js'
import { ExpiringMap } from '../util/expiring-map.js'
import { BroadcastDriver } from './broadcast-driver.js'
import type { PeerId } from '../wire/identity.js'
import { isPeerId } from '../wire/identity.js'
import type { OverlayContext } from './context.js'
import type { Peer } from '../link/peer.js'
import type { Broadcaster, FloodBroadcast } from './broadcast.js'
import { Plumtree } from './plumtree.js'
import type { PlumtreeOptions } from './plumtree.js'
import { utf8Length } from '../util/bytes.js'
import { isInt, isRecord, withType } from './validate.js'

export interface AnnounceOptions extends AbortOptions {
  /** Message type (application types only). */
  type: string
  data?: unknown
  /** 128-bit random hex by default; an id already seen is not sent again. */
  id?: string
  /** Most hops the message travels. @default 6 */
  limit?: number
  /** Hops already travelled (peernet's field): the message goes `limit - hops` further. @default 0 */
  hops?: number
  /** How long replies are awaited, ms. @default 5000 */
  timeout?: number
  /** The iterable ends after this many replies. @default Infinity */
  maxReplies?: number
}

export interface Reply {
  /** The peer that replied (as it claims; it is authenticated only on the last hop). */
  from: PeerId
  data: unknown
}

/** An announcement delivered to this node; answer it with `reply()`. */
export interface Request {
  id: string
  type: string
  data: unknown
  origin: PeerId
  /** Hops it travelled to get here. */
  hops: number
  /** The neighbour it arrived from. */
  from: PeerId
  /** Sends a reply back along the path the request took. Throws `TooLargeError` or `TypeError`. */
  reply: (data?: unknown) => void
}

export interface AnnounceServiceOptions {
  /** Flood mode's broadcaster; Plumtree without it. */
  flood: FloodBroadcast | undefined
  /** Passed to the Plumtree state machine (tuning for experiments). */
  plumtree?: Pick<PlumtreeOptions, 'lazyDelayMs' | 'graftTimeoutMs' | 'optimizeThreshold' | 'originTreeAfter' | 'maxOriginTrees' | 'rootIntervalMs' | 'storeMaxEntries' | 'storeMaxBytes' | 'storeMaxAgeMs' | 'catchUpMs' | 'rootClass'>
  defaultLimit: number
  /** Default hop limit of a broadcast without replies (`node.broadcast`, broadcast streams). */
  broadcastLimit: number
  defaultTimeout: number
  /** Reverse-path entries kept. @default 10000 */
  maxRoutes: number
  /** Reverse-path entry lifetime, ms. @default 60000 */
  routeTtl: number
}

interface Pending { push: (r: Reply) => void }
/** Ways back kept per request: the first copy's sender and up to two duplicates' senders. */
const MAX_REVERSE_HOPS = 3
/** `nr: true` marks a broadcast that takes no replies (`node.broadcast`): delivered as a message, not a request. */
interface Payload { o: string, ty: string, d: unknown, nr?: true }

/** A no-reply broadcast as delivered to this node. */
export interface BroadcastArrival {
  type: string
  data: unknown
  origin: PeerId
  hops: number
  from: PeerId
  /** The link it came in on: `from`'s, which the node may have stopped listing (a link being replaced). */
  peer?: Peer
}

/**
 * Network-wide announcements over the active view (Plumtree or flooding) with replies that
 * travel back along the reverse path. Reverse-path entries are bounded by count and age.
 */
export class AnnounceService {
  readonly broadcaster: Broadcaster<{ t: string }>
  readonly #driver: BroadcastDriver
  /**
   * Request id → the neighbours it came from, first copy first (at most `MAX_REVERSE_HOPS`): a
   * bare id until a duplicate adds a second, since most requests arrive once per node and every
   * node keeps up to `maxRoutes` of these (an array is 32 B more per entry).
   */
  readonly #routes: ExpiringMap<string, PeerId | PeerId[]>
  readonly #pending = new Map<string, Pending>()
  readonly #offs: Array<() => void> = []

  constructor (
    private readonly ctx: OverlayContext,
    private readonly opts: AnnounceServiceOptions,
    private readonly deliver: (req: Request) => void,
    private readonly deliverBroadcast: (b: BroadcastArrival) => void = () => {},
    /** Runs `send` now if the node has a neighbour, else once it has one (the join queue); throws `QueueFullError`. */
    private readonly whenJoined: (bytes: number, send: () => void, what: string) => void = (_b, send) => { send() }
  ) {
    const self = ctx.id
    const common = { self, maxIdLength: ctx.limits.maxIdBytes }
    this.broadcaster = opts.flood?.create(common) ?? new Plumtree({ ...common, random: ctx.random.float, ...opts.plumtree }) as unknown as Broadcaster<{ t: string }>
    this.#driver = new BroadcastDriver(ctx, this.broadcaster, { prefix: '', dropPrefix: 'broadcast-', noLinkDrop: 'broadcast-no-link', onDeliver: (d, via) => { this.#onDeliver(d.id, d.payload, d.hops, d.from, via) }, onDuplicate: (id, from) => { this.#onDuplicate(id, from) } })
    this.#routes = new ExpiringMap(opts.maxRoutes, opts.routeTtl)
    const types = opts.flood === undefined ? ['pt.gossip', 'pt.ihave', 'pt.graft', 'pt.prune'] : ['fl.gossip']
    for (const t of types) {
      this.#offs.push(ctx.handle(t, (peer, data, bytes) => { this.#driver.run(this.broadcaster.onMessage(peer.id, withType(shareOrigin(data), t), ctx.clock.now(), bytes), peer) }))
    }
    this.#offs.push(ctx.handle('rr.reply', (peer, data) => { this.#onReply(peer.id, data) }))
  }

  /** The node stopped: this instance is done (the next start() makes a new one). */
  dispose (): void {
    for (const off of this.#offs.splice(0)) off()
  }

  neighbor (peer: PeerId, up: boolean): void {
    if (up) this.broadcaster.neighborUp(peer, this.ctx.clock.now())
    else this.broadcaster.neighborDown(peer)
    this.#driver.scheduleTick()
  }

  announce (o: AnnounceOptions): AsyncIterable<Reply> {
    checkType(o.type, this.ctx.limits)
    const id = o.id ?? toHex(this.ctx.random.bytes(16))
    if (typeof id !== 'string' || id.length === 0 || utf8Length(id) > this.ctx.limits.maxIdBytes) throw new TypeError(`id must be a non-empty string of at most ${this.ctx.limits.maxIdBytes} bytes`)
    const limit = (o.limit ?? this.opts.defaultLimit) - (o.hops ?? 0)
    if (!Number.isInteger(limit) || limit < 0) throw new TypeError('limit - hops must be a non-negative integer')
    const payload: Payload = { o: this.ctx.id, ty: o.type, d: o.data }
    // fail before anything is sent if it cannot fit in a frame
    const bytes = encodeEnvelope({ type: 'pt.gossip', data: { id, hops: 1, limit, payload } }, this.ctx.limits).length
    const timeout = o.timeout ?? this.opts.defaultTimeout
    const maxReplies = o.maxReplies ?? Number.POSITIVE_INFINITY
    const queue: Reply[] = []
    let wake: (() => void) | undefined
    let ended = false
    let failure: Error | undefined
    let count = 0
    let offStop = (): void => {}
    const end = (err?: Error): void => {
      if (ended) return
      ended = true
      failure = err
      this.#pending.delete(id)
      cancelTimer()
      o.signal?.removeEventListener('abort', onAbort)
      offStop()
      wake?.()
    }
    const onAbort = (): void => { end(toAbortError(o.signal?.reason)) }
    const onStop = (): void => { end() }
    const cancelTimer = this.ctx.timers.after(timeout, () => { end() })
    if (o.signal?.aborted === true) onAbort()
    o.signal?.addEventListener('abort', onAbort, { once: true })
    if (!ended) offStop = this.ctx.whenStopping(onStop)
    if (!ended) {
      try {
        this.whenJoined(bytes, () => { if (!ended) this.#driver.run(this.broadcaster.broadcast(id, payload, limit, this.ctx.clock.now(), bytes)) }, 'an announce')
      } catch (err) { end(); throw err }
      this.#pending.set(id, {
        push: (r) => {
          if (ended) return
          queue.push(r)
          count++
          wake?.()
          if (count >= maxReplies) end()
        }
      })
      this.ctx.metrics.inc('announce.sent')
    }
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Reply>> => {
          while (queue.length === 0 && !ended) await new Promise<void>(resolve => { wake = resolve })
          wake = undefined
          const r = queue.shift()
          if (r !== undefined) return { value: r, done: false }
          if (failure !== undefined) throw failure
          return { value: undefined, done: true }
        },
        return: async (): Promise<IteratorResult<Reply>> => { end(); return { value: undefined, done: true } }
      })
    }
  }

  /**
   * A broadcast without replies (`node.broadcast`): the same dissemination as `announce`, but no
   * reverse-path route is kept and receivers get a message instead of a request. The type is
   * checked for length only: hearsay's own payload types (e.g. `st.bc`) use it too.
   */
  broadcast (type: string, data: unknown, limit = this.opts.broadcastLimit): void {
    checkType(type, this.ctx.limits)
    if (!Number.isInteger(limit) || limit < 0) throw new TypeError('limit must be a non-negative integer')
    const id = toHex(this.ctx.random.bytes(16))
    const payload: Payload = { o: this.ctx.id, ty: type, d: data, nr: true }
    const bytes = encodeEnvelope({ type: 'pt.gossip', data: { id, hops: 1, limit, payload } }, this.ctx.limits).length
    this.whenJoined(bytes, () => { this.#driver.run(this.broadcaster.broadcast(id, payload, limit, this.ctx.clock.now(), bytes)) }, 'a broadcast')
  }

  #onDeliver (id: string, payload: unknown, hops: number, from: PeerId, via?: Peer): void {
    const p = payload as Partial<Payload> | null
    if (p === null || typeof p !== 'object' || !isPeerId(p.o) || typeof p.ty !== 'string') { this.ctx.metrics.drop('announce-malformed'); return }
    try { checkType(p.ty, this.ctx.limits) } catch { this.ctx.metrics.drop('announce-malformed'); return }
    if (p.nr === true) { this.deliverBroadcast({ type: p.ty, data: p.d, origin: p.o, hops, from, ...(via !== undefined ? { peer: via } : {}) }); return }
    const now = this.ctx.clock.now()
    this.#routes.set(id, from, now)
    this.#routes.prune(now)
    this.ctx.metrics.inc('announce.delivered')
    const origin = p.o
    this.deliver({
      id,
      type: p.ty,
      data: p.d,
      origin,
      hops,
      from,
      reply: (data?: unknown) => {
        const msg = { id, r: this.ctx.id, d: data, h: 0 }
        encodeEnvelope({ type: 'rr.reply', data: msg }, this.ctx.limits)
        const peer = this.#reverseHop(this.#routes.get(id, this.ctx.clock.now()) ?? from)
        if (peer === undefined) { this.ctx.metrics.drop('reply-no-route'); return }
        this.ctx.send(peer, 'rr.reply', msg)
      }
    })
  }

  #onReply (from: PeerId, data: unknown): void {
    const m = data as { id?: unknown, r?: unknown, d?: unknown, h?: unknown } | null
    if (m === null || typeof m !== 'object' || typeof m.id !== 'string' || !isPeerId(m.r) || !isInt(m.h, 0, Number.MAX_SAFE_INTEGER)) { this.ctx.metrics.drop('reply-malformed'); return }
    const mine = this.#pending.get(m.id)
    if (mine !== undefined) { mine.push({ from: m.r, data: m.d }); return }
    const back = this.#routes.get(m.id, this.ctx.clock.now())
    if (back === undefined) { this.ctx.metrics.drop('reply-unknown'); return }
    if (m.h >= 255) { this.ctx.metrics.drop('reply-hop-limit'); return }
    const peer = this.#reverseHop(back, from)
    if (peer === undefined) { this.ctx.metrics.drop('reply-no-route'); return }
    this.ctx.send(peer, 'rr.reply', { id: m.id, r: m.r, d: m.d, h: m.h + 1 })
  }

  /**
   * A duplicate copy of a request is another way back to its origin: kept as a spare, so that a
   * reply still finds its way when the link the first copy came over closes before it (links
   * change under an overlay that is still settling). A spare that leads back to where the reply
   * came from is skipped, and a reply's hop count (at most 255) bounds any longer detour.
   */
  #onDuplicate (id: string, from: PeerId): void {
    const now = this.ctx.clock.now()
    const hops = this.#routes.get(id, now)
    if (hops === undefined) return
    if (typeof hops === 'string') { if (hops !== from) this.#routes.replace(id, [hops, from], now); return }
    if (hops.length < MAX_REVERSE_HOPS && !hops.includes(from)) hops.push(from)
  }

  /** The first neighbour on the way back that still has a link, other than `except`. */
  #reverseHop (hops: PeerId | PeerId[], except?: PeerId): Peer | undefined {
    for (const id of typeof hops === 'string' ? [hops] : hops) {
      if (id === except) continue
      const peer = this.ctx.getPeer(id)
      if (peer !== undefined) return peer
    }
    return undefined
  }
}

/**
 * A Plumtree gossip names its origin twice, in `o` and in the announce payload's `o`: decoded,
 * two copies of one 52-character id, both kept with the stored payload for `storeMaxAgeMs` (`o`
 * in the origin counts too). Making the payload's the same string as `o` saves ~70 B per node
 * per message in flight (simulator: 10k nodes × 300 broadcasts ≈ 200 MB).
 */
export function shareOrigin (data: unknown): unknown {
  if (isRecord(data) && typeof data.o === 'string' && isRecord(data.payload) && data.payload.o === data.o) data.payload.o = data.o
  return data
}
