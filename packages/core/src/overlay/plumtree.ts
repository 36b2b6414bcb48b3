import type { PeerId } from '../identity.js'
import type { BroadcastLimits, BroadcastResult, Broadcaster, SendAction } from './broadcast.js'
import { checkBroadcastArgs, MAX_HOPS_CEILING, parseGossip, resolveLimits } from './broadcast.js'
import { DedupCache } from './dedup-cache.js'
import type { Drops } from './validate.js'
import { countDrop, isInt, isRecord, isString } from './validate.js'

/**
 * Plumtree, epidemic broadcast trees (Leitão, Pereira, Rodrigues, SRDS 2007). Payloads travel
 * eagerly along a spanning tree that emerges by itself: a duplicate arrival prunes the link
 * it came over to "lazy". Lazy links carry only batched IHAVE announcements; a node that hears
 * of a message it has not received within `graftTimeoutMs` GRAFTs the announcer, which sends
 * the payload and turns the link eager again, repairing the tree where it broke.
 */
export type PlumtreeMsg =
  | { t: 'pt.gossip', id: string, hops: number, limit: number, payload: unknown }
  /** `hops` is what the GOSSIP would have carried had it been sent eagerly. */
  | { t: 'pt.ihave', ids: Array<{ id: string, hops: number }> }
  | { t: 'pt.graft', ids: string[] }
  | { t: 'pt.prune' }

export interface PlumtreeOptions extends BroadcastLimits {
  self: PeerId
  /**
   * How long announcements wait before going out as one IHAVE per lazy peer, in ms. It batches
   * many ids into one message and, since lazy peers are told only after this delay, gives the
   * eager copy a head start so that healthy trees cause no GRAFT. 100 ms is about one WAN
   * round trip: it adds at most that to repair while cutting IHAVE traffic to ≤ 10 messages/s
   * per lazy link whatever the broadcast rate.
   * @default 100
   */
  lazyDelayMs?: number
  /**
   * How long a node waits for the eager copy after an IHAVE before it GRAFTs the announcer,
   * and then before it tries the next announcer, in ms. The eager copy normally beats the IHAVE
   * by at least `lazyDelayMs`; 500 ms leaves room for a few more hops on a slow path and for
   * queuing, so a healthy tree rarely sees a spurious GRAFT (a duplicate payload and tree
   * churn), while a broken one is repaired within about 0.6 s per missing hop.
   * @default 500
   */
  graftTimeoutMs?: number
  /** Most payloads kept to answer GRAFTs. @default 256 */
  storeMaxEntries?: number
  /** How long a payload is kept to answer GRAFTs, in ms. @default 30000 */
  storeMaxAgeMs?: number
  /** Most ids in one IHAVE or GRAFT, sent and accepted. @default 256 */
  maxBatchIds?: number
  /** Most messages waiting for an eager copy at once; IHAVEs beyond it are ignored. @default 10000 */
  maxMissing?: number
  /**
   * The paper's tree optimisation: when an IHAVE shows a path at least this many hops shorter
   * than the one a message arrived on, the announcer becomes the eager parent and the old
   * parent is pruned (once per message). With one shared tree and many origins a shortcut for
   * one origin can be a detour for the next, so it is off until the simulator shows a gain.
   * @default 0 (off)
   */
  optimizeThreshold?: number
}

interface Stored { payload: unknown, hops: number, limit: number, at: number, parent?: PeerId, optimized?: boolean }
interface Missing { announcers: PeerId[], deadline: number }

export class Plumtree implements Broadcaster<PlumtreeMsg> {
  readonly self: PeerId
  readonly drops: Drops = {}
  readonly lazyDelayMs: number
  readonly graftTimeoutMs: number
  private readonly limits: Required<BroadcastLimits>
  private readonly storeMaxEntries: number
  private readonly storeMaxAgeMs: number
  private readonly maxBatchIds: number
  private readonly maxMissing: number
  readonly optimizeThreshold: number

  private readonly eager = new Set<PeerId>()
  private readonly lazy = new Set<PeerId>()
  private readonly seen: DedupCache
  /** Insertion-ordered, so both bounds evict from the head. */
  private readonly store = new Map<string, Stored>()
  private readonly ihaveQueue = new Map<PeerId, Array<{ id: string, hops: number, at: number }>>()
  private readonly missing = new Map<string, Missing>()

  constructor (opts: PlumtreeOptions) {
    const positive = (name: string, v: number): number => {
      if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new TypeError(`${name} must be a finite number >= 0`)
      return v
    }
    const count = (name: string, v: number): number => {
      if (!isInt(v, 1, Number.MAX_SAFE_INTEGER)) throw new TypeError(`${name} must be a positive integer`)
      return v
    }
    if (typeof opts.self !== 'string' || opts.self.length === 0) throw new TypeError('self must be a peer id')
    this.self = opts.self
    this.limits = resolveLimits(opts)
    this.lazyDelayMs = positive('lazyDelayMs', opts.lazyDelayMs ?? 100)
    this.graftTimeoutMs = positive('graftTimeoutMs', opts.graftTimeoutMs ?? 500)
    this.storeMaxEntries = count('storeMaxEntries', opts.storeMaxEntries ?? 256)
    this.storeMaxAgeMs = positive('storeMaxAgeMs', opts.storeMaxAgeMs ?? 30_000)
    this.maxBatchIds = count('maxBatchIds', opts.maxBatchIds ?? 256)
    this.maxMissing = count('maxMissing', opts.maxMissing ?? 10_000)
    const threshold = opts.optimizeThreshold ?? 0
    if (!isInt(threshold, 0, MAX_HOPS_CEILING)) throw new TypeError(`optimizeThreshold must be an integer in 0..${MAX_HOPS_CEILING}`)
    this.optimizeThreshold = threshold
    this.seen = new DedupCache({ maxEntries: this.limits.seenMaxEntries, maxAgeMs: this.limits.seenMaxAgeMs })
  }

  /** Peers payloads are pushed to. */
  eagerPeers (): PeerId[] { return [...this.eager] }
  /** Peers only told about payloads. */
  lazyPeers (): PeerId[] { return [...this.lazy] }

  neighborUp (peer: PeerId): void {
    // new links start eager: the first broadcasts over them decide whether they stay
    if (peer !== this.self && !this.lazy.has(peer)) this.eager.add(peer)
  }

  neighborDown (peer: PeerId): void {
    this.eager.delete(peer)
    this.lazy.delete(peer)
    this.ihaveQueue.delete(peer)
    for (const m of this.missing.values()) {
      const i = m.announcers.indexOf(peer)
      if (i >= 0) m.announcers.splice(i, 1)
    }
  }

  broadcast (id: string, payload: unknown, limit: number, now: number): BroadcastResult<PlumtreeMsg> {
    checkBroadcastArgs(id, limit, this.limits)
    const out: Array<SendAction<PlumtreeMsg>> = []
    if (!this.seen.add(id, now)) return { actions: out }
    this.keep(id, payload, 0, limit, now)
    if (limit > 0) this.forward(out, id, payload, 1, limit, undefined, now)
    return { actions: out }
  }

  onMessage (from: PeerId, msg: unknown, now: number): BroadcastResult<PlumtreeMsg> {
    const out: Array<SendAction<PlumtreeMsg>> = []
    if (from === this.self) { countDrop(this.drops, 'self'); return { actions: out } }
    if (!isRecord(msg) || typeof msg.t !== 'string') { countDrop(this.drops, 'malformed'); return { actions: out } }
    switch (msg.t) {
      case 'pt.gossip': return this.onGossip(from, msg, now)
      case 'pt.ihave': this.onIHave(out, from, msg, now); break
      case 'pt.graft': this.onGraft(out, from, msg, now); break
      case 'pt.prune':
        if (!this.isNeighbor(from)) { countDrop(this.drops, 'not-neighbor'); break }
        this.eager.delete(from)
        this.lazy.add(from)
        break
      default: countDrop(this.drops, 'unknown-type')
    }
    return { actions: out }
  }

  /**
   * Sends due IHAVE batches and GRAFTs for messages still missing. Call it at least every
   * `lazyDelayMs` (or at `nextTickAt()`); calling it more often only sends sooner.
   */
  tick (now: number): BroadcastResult<PlumtreeMsg> {
    const out: Array<SendAction<PlumtreeMsg>> = []
    for (const [peer, queue] of this.ihaveQueue) {
      // the oldest entry decides: once it has waited lazyDelayMs the whole queue goes as one
      // batch, so a lazy link carries at most one IHAVE per lazyDelayMs whatever the rate
      if (queue[0]!.at + this.lazyDelayMs > now) continue
      const batch = queue.splice(0, queue.length)
      this.ihaveQueue.delete(peer)
      for (let i = 0; i < batch.length; i += this.maxBatchIds) {
        const ids = batch.slice(i, i + this.maxBatchIds).map(({ id, hops }) => ({ id, hops }))
        out.push({ type: 'send', to: peer, msg: { t: 'pt.ihave', ids } })
      }
    }
    const grafts = new Map<PeerId, string[]>()
    for (const [id, m] of this.missing) {
      if (m.deadline > now) continue
      const peer = this.seen.has(id, now) ? undefined : m.announcers.shift()
      if (peer === undefined) {
        if (!this.seen.has(id, now)) countDrop(this.drops, 'graft-exhausted')
        this.missing.delete(id)
        continue
      }
      // the announcer becomes our parent for this and (while it lasts) later messages
      this.lazy.delete(peer)
      this.eager.add(peer)
      let ids = grafts.get(peer)
      if (ids === undefined) grafts.set(peer, ids = [])
      ids.push(id)
      m.deadline = now + this.graftTimeoutMs
    }
    for (const [to, ids] of grafts) {
      for (let i = 0; i < ids.length; i += this.maxBatchIds) out.push({ type: 'send', to, msg: { t: 'pt.graft', ids: ids.slice(i, i + this.maxBatchIds) } })
    }
    this.seen.prune(now)
    this.pruneStore(now)
    return { actions: out }
  }

  /** The earliest time `tick` has work to do, if any: lets a node sleep instead of polling. */
  nextTickAt (): number | undefined {
    let next = Infinity
    for (const queue of this.ihaveQueue.values()) next = Math.min(next, queue[0]!.at + this.lazyDelayMs)
    for (const m of this.missing.values()) next = Math.min(next, m.deadline)
    return next === Infinity ? undefined : next
  }

  private onGossip (from: PeerId, msg: Record<string, unknown>, now: number): BroadcastResult<PlumtreeMsg> {
    const out: Array<SendAction<PlumtreeMsg>> = []
    const g = parseGossip(msg, this.limits)
    if (typeof g === 'string') { countDrop(this.drops, g); return { actions: out } }
    // a gossip from outside the active view (a link being torn down) is still delivered, but
    // does not steer the tree
    const neighbor = this.isNeighbor(from)
    if (!this.seen.add(g.id, now)) {
      countDrop(this.drops, 'duplicate')
      if (neighbor) {
        this.eager.delete(from)
        this.lazy.add(from)
        out.push({ type: 'send', to: from, msg: { t: 'pt.prune' } })
      }
      return { actions: out }
    }
    this.missing.delete(g.id)
    // A first copy does not make its sender eager (the paper's rule): a lazy peer pushes to us
    // only after our GRAFT (which already made it eager) or before our PRUNE reached it. With
    // many broadcasts in flight the paper's rule re-eagers links that concurrent duplicates
    // just pruned, and the tree never settles (simulator: 836 PRUNEs per broadcast at 1k).
    this.keep(g.id, g.payload, g.hops, g.limit, now, neighbor ? from : undefined)
    if (g.hops < g.limit) this.forward(out, g.id, g.payload, g.hops + 1, g.limit, from, now)
    return { actions: out, deliver: { id: g.id, payload: g.payload, hops: g.hops, from } }
  }

  private onIHave (out: Array<SendAction<PlumtreeMsg>>, from: PeerId, msg: Record<string, unknown>, now: number): void {
    const ids = msg.ids
    if (!Array.isArray(ids) || ids.length > this.maxBatchIds ||
      !ids.every((e) => isRecord(e) && isString(e.id, this.limits.maxIdLength) && isInt(e.hops, 1, MAX_HOPS_CEILING))) {
      countDrop(this.drops, 'malformed'); return
    }
    if (!this.isNeighbor(from)) { countDrop(this.drops, 'not-neighbor'); return }
    for (const { id, hops } of ids as Array<{ id: string, hops: number }>) {
      if (this.seen.has(id, now)) { this.maybeOptimize(out, from, id, hops); continue }
      const m = this.missing.get(id)
      if (m !== undefined) {
        if (!m.announcers.includes(from)) m.announcers.push(from)
      } else if (this.missing.size >= this.maxMissing) {
        countDrop(this.drops, 'missing-full')
      } else {
        this.missing.set(id, { announcers: [from], deadline: now + this.graftTimeoutMs })
      }
    }
  }

  private onGraft (out: Array<SendAction<PlumtreeMsg>>, from: PeerId, msg: Record<string, unknown>, now: number): void {
    const ids = msg.ids
    if (!Array.isArray(ids) || ids.length > this.maxBatchIds || !ids.every((id) => isString(id, this.limits.maxIdLength))) {
      countDrop(this.drops, 'malformed'); return
    }
    // only neighbours may pull payloads: anyone else could use GRAFT as an amplifier
    if (!this.isNeighbor(from)) { countDrop(this.drops, 'not-neighbor'); return }
    this.lazy.delete(from)
    this.eager.add(from)
    for (const id of ids as string[]) {
      const s = this.store.get(id)
      if (s === undefined || now - s.at >= this.storeMaxAgeMs || s.hops >= s.limit) { countDrop(this.drops, 'graft-miss'); continue }
      out.push({ type: 'send', to: from, msg: { t: 'pt.gossip', id, hops: s.hops + 1, limit: s.limit, payload: s.payload } })
    }
  }

  private forward (out: Array<SendAction<PlumtreeMsg>>, id: string, payload: unknown, hops: number, limit: number, except: PeerId | undefined, now: number): void {
    const msg: PlumtreeMsg = { t: 'pt.gossip', id, hops, limit, payload }
    for (const to of this.eager) if (to !== except) out.push({ type: 'send', to, msg })
    for (const to of this.lazy) {
      if (to === except) continue
      let queue = this.ihaveQueue.get(to)
      if (queue === undefined) this.ihaveQueue.set(to, queue = [])
      queue.push({ id, hops, at: now })
    }
  }

  private maybeOptimize (out: Array<SendAction<PlumtreeMsg>>, from: PeerId, id: string, hops: number): void {
    if (this.optimizeThreshold === 0) return
    const s = this.store.get(id)
    if (s === undefined || s.optimized === true || s.parent === undefined || s.parent === from) return
    if (s.hops - hops < this.optimizeThreshold || !this.eager.has(s.parent)) return
    s.optimized = true
    // an empty GRAFT turns the link eager at the announcer without asking for the payload again
    this.lazy.delete(from)
    this.eager.add(from)
    out.push({ type: 'send', to: from, msg: { t: 'pt.graft', ids: [] } })
    this.eager.delete(s.parent)
    this.lazy.add(s.parent)
    out.push({ type: 'send', to: s.parent, msg: { t: 'pt.prune' } })
    countDrop(this.drops, 'optimized')
  }

  private keep (id: string, payload: unknown, hops: number, limit: number, now: number, parent?: PeerId): void {
    this.store.set(id, parent === undefined ? { payload, hops, limit, at: now } : { payload, hops, limit, at: now, parent })
    this.pruneStore(now)
  }

  private pruneStore (now: number): void {
    for (const [id, s] of this.store) {
      if (this.store.size <= this.storeMaxEntries && now - s.at < this.storeMaxAgeMs) break
      this.store.delete(id)
    }
  }

  private isNeighbor (peer: PeerId): boolean { return this.eager.has(peer) || this.lazy.has(peer) }
}
