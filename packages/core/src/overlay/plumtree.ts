import type { PeerId } from '../wire/identity.js'
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
  /**
   * `o` is the origin's peer id: it selects the origin's own tree where one exists. `b: 1` marks
   * a root beacon (payload `s`, the root's beacon count): it steers the shared tree and is not
   * delivered to the application.
   */
  | { t: 'pt.gossip', id: string, hops: number, limit: number, payload: unknown, o?: PeerId, b?: 1 }
  /**
   * `hops` is what the GOSSIP would have carried had it been sent eagerly. `c: 1` marks a
   * catch-up for a new neighbour: ids of recent messages with `a`, how many ms ago the sender
   * saw each. The receiver GRAFTs at once those it lacks and the sender saw after the receiver
   * took the link in, and takes no tree optimisation from them (the link did not exist when
   * they travelled).
   */
  | { t: 'pt.ihave', ids: Array<{ id: string, hops: number, a?: number }>, c?: 1 }
  /** With `o`, the link becomes eager for that origin's messages only. */
  | { t: 'pt.graft', ids: string[], o?: PeerId }
  /** With `o`, the link becomes lazy for that origin's messages only. */
  | { t: 'pt.prune', o?: PeerId }

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
  /**
   * Most payloads kept to answer GRAFTs. A GRAFT comes `lazyDelayMs` + `graftTimeoutMs` after
   * the payload at the earliest, so the store must hold that long at the node's message rate:
   * with 256 (the old default) a node relaying ~1k messages/s kept 0.25 s and missed 3,234
   * GRAFTs in 6 s of the saturated bench, losing 0.7 % of the messages; 10,000 (the dedup
   * cache's size: nothing older can be asked for) holds 10 s at that rate.
   * @default 10000
   */
  storeMaxEntries?: number
  /**
   * Most bytes of payload kept to answer GRAFTs, counted as the frames' sizes (`bytes` passed
   * to `broadcast` and `onMessage`; a call without it counts 0). Bounds memory whatever the
   * message size: 8 MiB hold 10 s at ~800 messages/s of 1 KiB.
   * @default 8388608
   */
  storeMaxBytes?: number
  /**
   * How long a payload is kept to answer GRAFTs, in ms. The last GRAFT for a message comes at
   * about `lazyDelayMs` + one `graftTimeoutMs` per announcer (≤ 12 with the default view), 6.1 s
   * with the defaults; 10 s leaves room for slow links.
   * @default 10000
   */
  storeMaxAgeMs?: number
  /**
   * A new neighbour is told the ids of the messages this node saw in the last `catchUpMs`
   * (at most `maxBatchIds`, the newest of each origin in turn), with their ages, and GRAFTs those it lacks that came
   * after it first had a neighbour. The two ends of a link take it into their views a round
   * trip apart (the side that accepts a JOIN or NEIGHBOR at once, the side that asked on the
   * reply), and a broadcast made in between reaches one end's view but not the other's:
   * without this, a node that had already taken its new neighbour in lost that neighbour's
   * messages of that moment (the smokesignal chat, 1 run in 5 on a loaded machine). And a
   * member that lost its only link (a page behind one relay whose link the failure detector
   * closed, a Wi-Fi blip) links again seconds later: what was said in between comes with the
   * new link's catch-up. Messages older than the node's first link are not caught up: a late
   * joiner gets nothing said before it joined. 0 turns it off.
   * @default 10000 (the payload store's age: nothing older can be GRAFTed)
   */
  catchUpMs?: number
  /** Most ids in one IHAVE or GRAFT, sent and accepted. @default 256 */
  maxBatchIds?: number
  /** Most messages waiting for an eager copy at once; IHAVEs beyond it are ignored. @default 10000 */
  maxMissing?: number
  /**
   * After this many of its messages (among those this node saw recently) an origin gets a tree
   * of its own, a copy of the shared tree at that moment that from then on only that origin's
   * duplicates prune and only its shortcuts change. With many origins broadcasting at once,
   * duplicates of unrelated origins otherwise decide which edge of a cycle the shared tree
   * loses, and it never settles (docs/decisions.md). Rare origins keep using the shared tree.
   * @default 3
   */
  originTreeAfter?: number
  /** Most origins with a tree of their own (least recently used evicted). @default 64 */
  maxOriginTrees?: number
  /**
   * The paper's tree optimisation, in an origin's own tree: when an IHAVE shows a path at least
   * this many hops shorter than the one a message arrived on, the announcer becomes the parent
   * and the old parent is pruned, for that origin only. On the shared tree a shortcut for one
   * origin is a detour for the next (simulator: RMR 0.93); in an origin's own tree a node's hop
   * count only falls, so the tree converges to shortest paths. 0 turns it off.
   * @default 1
   */
  optimizeThreshold?: number
  /**
   * Period of the root beacon, in ms; 0 turns the root off. The shared tree, which every
   * origin without a tree of its own uses, is shaped by one root's beacons only: their
   * duplicates prune it and their shorter IHAVEs re-parent it, so it settles into a shallow
   * tree around the root instead of the deep tree that arrival order leaves with many origins
   * (simulator, 1k nodes, random origins: last hop 32, RMR 0.71). The root is elected: the
   * peer whose beacons have the most rounds behind them (then the lowest id) wins, and a node
   * that hears no beacon for 3.5 periods claims the role after a random wait of one to two
   * periods. A node whose link to the root closed counts it gone 1.5 periods after its last
   * beacon and claims within half a period, and a root silent for 1.25 periods no longer
   * outranks claimants, so a dead root is replaced within about two periods
   * (docs/protocol.md, "Root beacons").
   * @default 10000
   */
  rootIntervalMs?: number
  /**
   * How this node ranks as a root. `'stable'` (a long-lived node, e.g. a relay): its beacon
   * count starts at `STABLE_ROOT_ROUNDS`, so it outranks every other root, and it claims after
   * one to two periods, or within half a period when it follows a root of another class.
   * `'transient'` (a browser page, gone on reload): it claims only after 3.5
   * to 4.5 periods with no root, so that a root is usually a stable node and pages that start
   * or reload together do not start rival roots. `'any'`: counts from 1, claims after one to two
   * periods. @default 'any'
   */
  rootClass?: 'stable' | 'any' | 'transient'
  /** A source of random numbers in [0, 1) for claim jitter and beacon ids. @default Math.random */
  random?: () => number
}

/** Every field is set at creation, so all entries share one shape with no out-of-object property array (~25 B less each). */
interface Stored { payload: unknown, hops: number, limit: number, at: number, bytes: number, origin: PeerId | undefined, parent: PeerId | undefined, optimized: boolean, beacon: boolean }
/** An origin's own tree: neighbour → eager (true) or lazy (false); neighbours not in it follow the shared tree. */
type OriginTree = Map<PeerId, boolean>
/**
 * A message heard of but not received: `announcers` still to be asked (in IHAVE order), `asked`
 * the neighbours asked in this round, `since` the first IHAVE (it bounds how long anyone may
 * still keep the payload).
 */
interface Missing { announcers: PeerId[], asked: PeerId[], since: number, deadline: number }

export class Plumtree implements Broadcaster<PlumtreeMsg> {
  readonly self: PeerId
  readonly drops: Drops = {}
  readonly lazyDelayMs: number
  readonly graftTimeoutMs: number
  readonly #limits: Required<BroadcastLimits>
  readonly #storeMaxEntries: number
  readonly #storeMaxAgeMs: number
  readonly #storeMaxBytes: number
  readonly #maxBatchIds: number
  readonly #maxMissing: number
  readonly optimizeThreshold: number
  readonly originTreeAfter: number
  readonly maxOriginTrees: number
  readonly rootIntervalMs: number
  readonly #rootClass: 'stable' | 'any' | 'transient'
  readonly #random: () => number

  readonly #eager = new Set<PeerId>()
  readonly #lazy = new Set<PeerId>()
  readonly #seen: DedupCache
  /** Insertion-ordered, so both bounds evict from the head. */
  readonly #store = new Map<string, Stored>()
  #storeBytes = 0
  readonly #ihaveQueue = new Map<PeerId, Array<{ id: string, hops: number, at: number }>>()
  /** New neighbours and the ids of their catch-up IHAVE, which goes out at the next tick. */
  readonly #catchUp = new Map<PeerId, Array<{ id: string, hops: number, at: number }>>()
  /** When this node first had a neighbour: it has a claim to what was said since (catch-up). */
  #memberSince: number | undefined
  /** When each neighbour was taken in (ms), to tell a catch-up of this link from older news. */
  readonly catchUpMs: number
  readonly #missing = new Map<string, Missing>()
  /** Per-origin trees, least recently used first. */
  readonly #origins = new Map<PeerId, OriginTree>()
  /** Recent messages per origin (least recently heard first), to find the busy ones. */
  readonly #originCounts = new Map<PeerId, number>()
  /** The elected root, its beacon count when last heard, and when (ms). */
  #root: PeerId | undefined
  #rootRounds = 0
  #rootHeardAt = -Infinity
  /** When a stable root's beacon (a relay's) was last followed, or sent (ms). */
  #stableHeardAt = -Infinity
  /**
   * Whether the link to the followed root closed since its last beacon: the root is then
   * counted gone `LOST_ROOT_PERIODS` after that beacon (a live root's next one comes within a
   * period, over another path), not `ROOT_TIMEOUT_PERIODS`.
   */
  #rootLinkLost = false
  /** When this node, hearing no root, claims the role; set on first use. */
  #claimAt: number | undefined
  #beaconSeq = 0
  /** The latest time any call brought, for `nextTickAt`, which takes none. */
  #lastNow = 0

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
    this.#limits = resolveLimits(opts)
    this.lazyDelayMs = positive('lazyDelayMs', opts.lazyDelayMs ?? 100)
    this.graftTimeoutMs = positive('graftTimeoutMs', opts.graftTimeoutMs ?? 500)
    this.#storeMaxEntries = count('storeMaxEntries', opts.storeMaxEntries ?? 10_000)
    this.#storeMaxBytes = positive('storeMaxBytes', opts.storeMaxBytes ?? 8 * 1024 * 1024)
    this.#storeMaxAgeMs = positive('storeMaxAgeMs', opts.storeMaxAgeMs ?? 10_000)
    this.#maxBatchIds = count('maxBatchIds', opts.maxBatchIds ?? 256)
    this.catchUpMs = positive('catchUpMs', opts.catchUpMs ?? 10_000)
    this.#maxMissing = count('maxMissing', opts.maxMissing ?? 10_000)
    const threshold = opts.optimizeThreshold ?? 1
    if (!isInt(threshold, 0, MAX_HOPS_CEILING)) throw new TypeError(`optimizeThreshold must be an integer in 0..${MAX_HOPS_CEILING}`)
    this.optimizeThreshold = threshold
    this.originTreeAfter = count('originTreeAfter', opts.originTreeAfter ?? 3)
    this.maxOriginTrees = count('maxOriginTrees', opts.maxOriginTrees ?? 64)
    this.rootIntervalMs = positive('rootIntervalMs', opts.rootIntervalMs ?? 10_000)
    this.#rootClass = opts.rootClass ?? 'any'
    if (!['stable', 'any', 'transient'].includes(this.#rootClass)) throw new TypeError('rootClass must be stable, any or transient')
    this.#random = opts.random ?? Math.random
    this.#seen = new DedupCache({ maxEntries: this.#limits.seenMaxEntries, maxAgeMs: this.#limits.seenMaxAgeMs })
  }

  /** Peers payloads are pushed to. */
  eagerPeers (): PeerId[] { return [...this.#eager] }
  /** Peers only told about payloads. */
  lazyPeers (): PeerId[] { return [...this.#lazy] }

  /** `now` defaults to the latest time any call brought; a node passes its clock's. */
  neighborUp (peer: PeerId, now = this.#lastNow): void {
    if (peer === this.self || this.#isNeighbor(peer)) return
    this.#lastNow = now
    this.#memberSince ??= now
    // Without a root, new links start eager and the first broadcasts over them decide whether
    // they stay. With one, a node already on the tree takes a new link as lazy: an eager one
    // would close a cycle that only the next beacon prunes, doubling other origins' messages
    // until then; the beacon's IHAVE makes it eager if it is the shorter way to the root.
    if (this.#eager.size > 0 && this.#rootFresh(this.#lastNow)) this.#lazy.add(peer)
    else this.#eager.add(peer)
    if (this.catchUpMs === 0) return
    // taken now: what comes later reaches the new neighbour by the usual eager or lazy push
    const recent: Array<{ id: string, hops: number, at: number, origin: PeerId | undefined }> = []
    for (const [id, s] of this.#store) {
      if (s.beacon || s.hops >= s.limit || now - s.at > this.catchUpMs) continue
      recent.push({ id, hops: s.hops + 1, at: s.at, origin: s.origin })
    }
    if (recent.length > 0) this.#catchUp.set(peer, newestByOrigin(recent, this.#maxBatchIds))
  }

  neighborDown (peer: PeerId): void {
    // the root's own link closed: the root may be dead (its next beacon will tell), so its
    // neighbours, which see this first, elect a successor within two periods, not five to eight
    if (peer === this.#root && peer !== this.self && this.#rootFresh(this.#lastNow)) this.#rootLinkLost = true
    this.#eager.delete(peer)
    this.#lazy.delete(peer)
    this.#ihaveQueue.delete(peer)
    this.#catchUp.delete(peer)
    for (const o of this.#origins.values()) o.delete(peer)
    for (const m of this.#missing.values()) {
      const i = m.announcers.indexOf(peer)
      if (i >= 0) m.announcers.splice(i, 1)
    }
  }

  /**
   * Who to GRAFT next for a missing message: the announcers first, in the order they announced
   * it; then the neighbours that never did (a link that came up after the message passed never
   * announces it, yet the peer may hold it); once every neighbour was asked, a new round asks
   * them again (a GRAFT or its answer may have been lost with a link). One GRAFT per
   * graftTimeoutMs per message, so a message no neighbour holds costs at most
   * storeMaxAgeMs / graftTimeoutMs GRAFTs (20 with the defaults) before it is counted lost.
   */
  #nextToAsk (m: Missing): PeerId | undefined {
    const announcer = m.announcers.shift()
    if (announcer !== undefined) return announcer
    const fresh = (p: PeerId): boolean => !m.asked.includes(p)
    const other = first(this.#eager, fresh) ?? first(this.#lazy, fresh)
    if (other !== undefined) return other
    m.asked = []
    return first(this.#eager, () => true) ?? first(this.#lazy, () => true)
  }

  broadcast (id: string, payload: unknown, limit: number, now: number, bytes = 0): BroadcastResult<PlumtreeMsg> {
    checkBroadcastArgs(id, limit, this.#limits)
    const out: Array<SendAction<PlumtreeMsg>> = []
    this.#lastNow = now
    if (!this.#seen.add(id, now)) return { actions: out }
    this.#countOrigin(this.self)
    this.#keep(id, payload, 0, limit, now, bytes, this.self)
    if (limit > 0) this.#forward(out, id, payload, 1, limit, undefined, this.self, now)
    return { actions: out }
  }

  onMessage (from: PeerId, msg: unknown, now: number, bytes = 0): BroadcastResult<PlumtreeMsg> {
    const out: Array<SendAction<PlumtreeMsg>> = []
    this.#lastNow = now
    if (from === this.self) { countDrop(this.drops, 'self'); return { actions: out } }
    if (!isRecord(msg) || typeof msg.t !== 'string') { countDrop(this.drops, 'malformed'); return { actions: out } }
    switch (msg.t) {
      case 'pt.gossip': return this.#onGossip(from, msg, now, bytes)
      case 'pt.ihave': this.#onIHave(out, from, msg, now); break
      case 'pt.graft': this.#onGraft(out, from, msg, now); break
      case 'pt.prune':
        if (msg.o !== undefined && !isString(msg.o, this.#limits.maxIdLength)) { countDrop(this.drops, 'malformed'); break }
        if (!this.#isNeighbor(from)) { countDrop(this.drops, 'not-neighbor'); break }
        if (msg.o !== undefined) this.#override(msg.o, from, false)
        else this.#setShared(from, false)
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
    this.#lastNow = now
    this.#tickRoot(out, now)
    for (const [to, recent] of this.#catchUp) {
      out.push({ type: 'send', to, msg: { t: 'pt.ihave', ids: recent.map(({ id, hops, at }) => ({ id, hops, a: Math.max(0, Math.round(now - at)) })), c: 1 } })
    }
    this.#catchUp.clear()
    for (const [peer, queue] of this.#ihaveQueue) {
      // the oldest entry decides: once it has waited lazyDelayMs the whole queue goes as one
      // batch, so a lazy link carries at most one IHAVE per lazyDelayMs whatever the rate
      if (queue[0]!.at + this.lazyDelayMs > now) continue
      const batch = queue.splice(0, queue.length)
      this.#ihaveQueue.delete(peer)
      for (let i = 0; i < batch.length; i += this.#maxBatchIds) {
        const ids = batch.slice(i, i + this.#maxBatchIds).map(({ id, hops }) => ({ id, hops }))
        out.push({ type: 'send', to: peer, msg: { t: 'pt.ihave', ids } })
      }
    }
    const grafts = new Map<PeerId, string[]>()
    for (const [id, m] of this.#missing) {
      if (m.deadline > now) continue
      if (this.#seen.has(id, now)) { this.#missing.delete(id); continue }
      // Announcers kept the payload at most storeMaxAgeMs from about `since`: past that no
      // neighbour can answer, and only then is the message lost to this node.
      if (now - m.since >= this.#storeMaxAgeMs) {
        countDrop(this.drops, 'graft-exhausted')
        this.#missing.delete(id)
        continue
      }
      const peer = this.#nextToAsk(m)
      m.deadline = now + this.graftTimeoutMs
      if (peer === undefined) continue // no neighbour now: the next one that comes is asked
      m.asked.push(peer)
      // the announcer becomes our parent for this and (while it lasts) later messages
      this.#setShared(peer, true)
      let ids = grafts.get(peer)
      if (ids === undefined) grafts.set(peer, ids = [])
      ids.push(id)
    }
    for (const [to, ids] of grafts) {
      for (let i = 0; i < ids.length; i += this.#maxBatchIds) out.push({ type: 'send', to, msg: { t: 'pt.graft', ids: ids.slice(i, i + this.#maxBatchIds) } })
    }
    this.#seen.prune(now)
    this.#pruneStore(now)
    return { actions: out }
  }

  /** The earliest time `tick` has work to do, if any: lets a node sleep instead of polling. */
  nextTickAt (): number | undefined {
    let next = this.#catchUp.size > 0 ? this.#lastNow : Infinity
    for (const queue of this.#ihaveQueue.values()) next = Math.min(next, queue[0]!.at + this.lazyDelayMs)
    for (const m of this.#missing.values()) next = Math.min(next, m.deadline)
    const root = this.#nextRootDuty()
    if (root !== undefined) next = Math.min(next, root)
    return next === Infinity ? undefined : next
  }

  /** The root this node follows (itself when it is the root), while its beacons are recent. */
  rootPeer (now: number): PeerId | undefined { return this.#rootFresh(now) ? this.#root : undefined }

  /**
   * Whether this node lost the stable root (a relay) it followed: no beacon of one for
   * `LOST_STABLE_AFTER_PERIODS`, and one within `LOST_STABLE_FOR_PERIODS`. In a network with a
   * relay every node of the relay's component hears its beacon each period, so a node that
   * stops hearing it was most likely cut off with a few others (an island that formed as views
   * changed, with no failure to notice), or the relay is gone. The node then probes a seed each
   * heal period, and `componentLabel` makes the seed's refusal a bridge. A relay that stays gone
   * ends the doubt after `LOST_STABLE_FOR_PERIODS`; a network without one never starts it.
   */
  lostStableRoot (now: number): boolean {
    if (this.rootIntervalMs === 0) return false
    const silent = now - this.#stableHeardAt
    return silent > LOST_STABLE_AFTER_PERIODS * this.rootIntervalMs && silent <= LOST_STABLE_FOR_PERIODS * this.rootIntervalMs
  }

  /**
   * The overlay component this node is in, for HyParView's NEIGHBOR refusals: the root it
   * follows, or `LOST_ROOT_LABEL` while it lost a stable root (`lostStableRoot`). The stale
   * root's id would match the relay's own label in the relay's refusal, which would then not
   * bridge the island it is asked from; no node's label is `LOST_ROOT_LABEL` but a lost one's.
   */
  componentLabel (now: number): string | undefined {
    return this.lostStableRoot(now) ? LOST_ROOT_LABEL : this.rootPeer(now)
  }

  #rootFresh (now: number): boolean {
    return this.#root !== undefined && now <= this.#rootGoneAt()
  }

  /** When the followed root counts as gone if no beacon of it comes first. */
  #rootGoneAt (): number {
    return this.#rootHeardAt + (this.#rootLinkLost ? LOST_ROOT_PERIODS : ROOT_TIMEOUT_PERIODS) * this.rootIntervalMs
  }

  /** A stable node that follows a root of another class claims over it (its count outranks). */
  #outranksRoot (): boolean {
    return this.#rootClass === 'stable' && this.#root !== this.self && this.#rootRounds < STABLE_ROOT_ROUNDS
  }

  /** When the root role next needs this node: its next beacon, the old root's timeout, or its claim. */
  #nextRootDuty (): number | undefined {
    if (this.rootIntervalMs === 0 || !this.#isLinked()) return undefined
    if (this.#root === this.self) return this.#rootHeardAt + this.rootIntervalMs
    if (this.#rootFresh(this.#lastNow) && !this.#outranksRoot()) return this.#rootGoneAt() + 1
    return this.#claimAt ?? this.#lastNow
  }

  #tickRoot (out: Array<SendAction<PlumtreeMsg>>, now: number): void {
    if (this.rootIntervalMs === 0 || !this.#isLinked()) return
    if (this.#root === this.self) {
      if (now - this.#rootHeardAt >= this.rootIntervalMs) this.#sendBeacon(out, now)
      return
    }
    const outranks = this.#outranksRoot()
    if (this.#rootFresh(now) && !outranks) { this.#claimAt = undefined; return }
    if (this.#claimAt === undefined) {
      // A neighbour of a root whose link closed has already waited 1.5 periods for its next
      // beacon, and a stable node over a lesser root need not wait for one: both claim within
      // half a period, spread out so that the first claimant's beacon usually reaches the others
      // before they claim. Otherwise wait one to two periods: long enough to hear a live root,
      // and spread out likewise; a transient node waits as long as a root is trusted to be
      // alive, so a stable one usually claims first.
      const prompt = outranks || this.#rootLinkLost
      const wait = prompt ? 0 : this.#rootClass === 'transient' ? ROOT_TIMEOUT_PERIODS : 1
      this.#claimAt = now + this.rootIntervalMs * (wait + (prompt ? 0.5 : 1) * this.#random())
      return
    }
    if (now < this.#claimAt) return
    this.#claimAt = undefined
    this.#root = this.self
    this.#rootLinkLost = false
    this.#beaconSeq = this.#rootClass === 'stable' ? STABLE_ROOT_ROUNDS : 0
    this.#sendBeacon(out, now)
  }

  #sendBeacon (out: Array<SendAction<PlumtreeMsg>>, now: number): void {
    this.#beaconSeq++
    this.#rootRounds = this.#beaconSeq
    this.#rootHeardAt = now
    if (this.#rootRounds >= STABLE_ROOT_ROUNDS) this.#stableHeardAt = now
    const id = `~${randomBase36(this.#random)}${randomBase36(this.#random)}`
    this.#seen.add(id, now)
    this.#keep(id, this.#beaconSeq, 0, this.#limits.maxHops, now, 0, this.self, undefined, true)
    this.#forward(out, id, this.#beaconSeq, 1, this.#limits.maxHops, undefined, this.self, now, true)
  }

  /**
   * Whether a beacon from `o` at `rounds` is followed (and forwarded). Roots are ranked by their
   * beacon count, then by the lower id, so that an established root is never displaced by a
   * newcomer and concurrent claimants settle on one; a root that is outranked yields.
   */
  #followRoot (o: PeerId, rounds: number, now: number): boolean | 'rate' {
    if (o === this.self) return false
    if (o === this.#root && this.#rootFresh(now)) {
      if (rounds <= this.#rootRounds) return true // a late or repaired copy of an earlier round
      // a root beacons once a period: faster ones would make every node forward its noise
      if (now - this.#rootHeardAt < this.rootIntervalMs / 2) return 'rate'
      this.#rootRounds = rounds
      this.#rootHeardAt = now
    if (this.#rootRounds >= STABLE_ROOT_ROUNDS) this.#stableHeardAt = now
      this.#rootLinkLost = false
      return true
    }
    // A root that missed its last beacon (silent for more than `OVERDUE_ROOT_PERIODS`) is no
    // longer defended: the claimants that follow a dead root's neighbours are taken in, and a
    // live root that was only late outranks them again with its next beacon.
    const defended = this.#rootFresh(now) && (this.#root === this.self || now - this.#rootHeardAt <= OVERDUE_ROOT_PERIODS * this.rootIntervalMs)
    if (defended && !(rounds > this.#rootRounds || (rounds === this.#rootRounds && o < this.#root!))) return false
    this.#root = o
    this.#rootRounds = rounds
    this.#rootHeardAt = now
    if (this.#rootRounds >= STABLE_ROOT_ROUNDS) this.#stableHeardAt = now
    this.#rootLinkLost = false
    this.#claimAt = undefined
    // the root's messages travel on the shared tree, which its beacons shape
    this.#origins.delete(o)
    this.#originCounts.delete(o)
    return true
  }

  #onGossip (from: PeerId, msg: Record<string, unknown>, now: number, bytes: number): BroadcastResult<PlumtreeMsg> {
    const out: Array<SendAction<PlumtreeMsg>> = []
    const g = parseGossip(msg, this.#limits)
    if (typeof g === 'string') { countDrop(this.drops, g); return { actions: out } }
    // a gossip from outside the active view (a link being torn down) is still delivered, but
    // does not steer the tree
    if (msg.o !== undefined && !isString(msg.o, this.#limits.maxIdLength)) { countDrop(this.drops, 'malformed'); return { actions: out } }
    const origin = msg.o as PeerId | undefined
    const beacon = msg.b === 1
    if ((msg.b !== undefined && !beacon) || (beacon && (origin === undefined || !isInt(g.payload, 1, Number.MAX_SAFE_INTEGER)))) {
      countDrop(this.drops, 'malformed'); return { actions: out }
    }
    const neighbor = this.#isNeighbor(from)
    if (!this.#seen.add(g.id, now)) {
      countDrop(this.drops, 'duplicate')
      if (neighbor) this.#pruneAfterDuplicate(out, from, origin, now)
      return beacon ? { actions: out } : { actions: out, duplicate: { id: g.id, from } }
    }
    this.#missing.delete(g.id)
    if (beacon) {
      const follow = this.#followRoot(origin!, g.payload as number, now)
      if (follow !== true) { countDrop(this.drops, follow === 'rate' ? 'beacon-rate' : 'beacon-outranked'); return { actions: out } }
      // The paper's rule, for beacons only (they are never in flight concurrently): the first
      // copy over a link we hold lazy makes it our parent, since the sender holds us eager. A
      // new link is taken lazy by a node already on the tree but eager by the newcomer, and
      // without this the newcomer pushes up a link that never carries anything down.
      if (neighbor && this.#lazy.has(from)) this.#setShared(from, true)
      this.#keep(g.id, g.payload, g.hops, g.limit, now, bytes, origin, neighbor ? from : undefined, true)
      if (g.hops < g.limit) this.#forward(out, g.id, g.payload, g.hops + 1, g.limit, from, origin, now, true)
      return { actions: out }
    }
    // A first copy does not make its sender eager (the paper's rule): a lazy peer pushes to us
    // only after our GRAFT (which already made it eager) or before our PRUNE reached it. With
    // many broadcasts in flight the paper's rule re-eagers links that concurrent duplicates
    // just pruned, and the tree never settles (simulator: 836 PRUNEs per broadcast at 1k).
    if (origin !== undefined) this.#countOrigin(origin)
    this.#keep(g.id, g.payload, g.hops, g.limit, now, bytes, origin, neighbor ? from : undefined)
    if (g.hops < g.limit) this.#forward(out, g.id, g.payload, g.hops + 1, g.limit, from, origin, now)
    else if (this.#eager.size + this.#lazy.size > (neighbor ? 1 : 0)) countDrop(this.drops, 'stopped-at-limit')
    return { actions: out, deliver: { id: g.id, payload: g.payload, hops: g.hops, from } }
  }

  #onIHave (out: Array<SendAction<PlumtreeMsg>>, from: PeerId, msg: Record<string, unknown>, now: number): void {
    const ids = msg.ids
    const catchUp = msg.c === 1
    if (!Array.isArray(ids) || ids.length > this.#maxBatchIds || (msg.c !== undefined && !catchUp) ||
      !ids.every((e) => isRecord(e) && isString(e.id, this.#limits.maxIdLength) && isInt(e.hops, 1, MAX_HOPS_CEILING) && (!catchUp || isInt(e.a, 0, MAX_AGE_MS)))) {
      countDrop(this.drops, 'malformed'); return
    }
    if (!this.#isNeighbor(from)) { countDrop(this.drops, 'not-neighbor'); return }
    // how long this node has been a member: a catch-up entry older than that is news from
    // before it was here, which it has no claim to (a late joiner hears nothing said before);
    // one said while it was away from every neighbour is its due
    const claim = now - (this.#memberSince ?? now)
    for (const { id, hops, a } of ids as Array<{ id: string, hops: number, a?: number }>) {
      // a catch-up names messages that passed before the link: no eager copy is on its way
      if (this.#seen.has(id, now)) { if (!catchUp) this.#maybeOptimize(out, from, id, hops); continue }
      if (catchUp && a! > claim) { countDrop(this.drops, 'catch-up-before-join'); continue }
      const m = this.#missing.get(id)
      if (m !== undefined) {
        if (!m.announcers.includes(from) && !m.asked.includes(from)) m.announcers.push(from)
      } else if (this.#missing.size >= this.#maxMissing) {
        countDrop(this.drops, 'missing-full')
      } else {
        this.#missing.set(id, { announcers: [from], asked: [], since: now, deadline: catchUp ? now : now + this.graftTimeoutMs })
      }
    }
  }


  #onGraft (out: Array<SendAction<PlumtreeMsg>>, from: PeerId, msg: Record<string, unknown>, now: number): void {
    const ids = msg.ids
    if (!Array.isArray(ids) || ids.length > this.#maxBatchIds || !ids.every((id) => isString(id, this.#limits.maxIdLength)) ||
      (msg.o !== undefined && !isString(msg.o, this.#limits.maxIdLength))) {
      countDrop(this.drops, 'malformed'); return
    }
    // only neighbours may pull payloads: anyone else could use GRAFT as an amplifier
    if (!this.#isNeighbor(from)) { countDrop(this.drops, 'not-neighbor'); return }
    if (msg.o !== undefined) this.#override(msg.o, from, true)
    let shared = msg.o === undefined && ids.length === 0
    for (const id of ids as string[]) {
      const s = this.#store.get(id)
      // a GRAFT repairs the tree the message travelled on: the origin's own, if it has one
      if (this.#ownTree(s?.origin) !== undefined) this.#override(s!.origin!, from, true)
      else shared = true
      if (s === undefined || now - s.at >= this.#storeMaxAgeMs || s.hops >= s.limit) { countDrop(this.drops, 'graft-miss'); continue }
      out.push({ type: 'send', to: from, msg: gossip(id, s.hops + 1, s.limit, s.payload, s.origin, s.beacon) })
    }
    if (shared) this.#setShared(from, true)
  }

  #forward (out: Array<SendAction<PlumtreeMsg>>, id: string, payload: unknown, hops: number, limit: number, except: PeerId | undefined, origin: PeerId | undefined, now: number, beacon = false): void {
    const msg = gossip(id, hops, limit, payload, origin, beacon)
    const tree = this.#ownTree(origin)
    const announce = (to: PeerId): void => {
      let queue = this.#ihaveQueue.get(to)
      if (queue === undefined) this.#ihaveQueue.set(to, queue = [])
      queue.push({ id, hops, at: now })
    }
    for (const to of this.#eager) {
      if (to === except) continue
      if (tree?.get(to) === false) announce(to)
      else out.push({ type: 'send', to, msg })
    }
    for (const to of this.#lazy) {
      if (to === except) continue
      if (tree?.get(to) === true) out.push({ type: 'send', to, msg })
      else announce(to)
    }
  }

  /**
   * After a duplicate from `from`: an origin with a tree of its own prunes only that tree (its
   * duplicates say nothing about the paths of other origins); the root's messages and, while
   * there is no root, everyone's prune the shared tree; with a root, other origins' duplicates
   * leave it alone, since arrival order among concurrent origins is what keeps it from settling.
   */
  #pruneAfterDuplicate (out: Array<SendAction<PlumtreeMsg>>, from: PeerId, origin: PeerId | undefined, now: number): void {
    if (this.#ownTree(origin) !== undefined) {
      this.#override(origin!, from, false)
      out.push({ type: 'send', to: from, msg: { t: 'pt.prune', o: origin! } })
      return
    }
    const root = this.rootPeer(now)
    if (root !== undefined && origin !== root) return
    this.#setShared(from, false)
    out.push({ type: 'send', to: from, msg: { t: 'pt.prune' } })
  }

  /** `origin`'s own tree, if it has one; the root's tree is the shared one. */
  #ownTree (origin: PeerId | undefined): OriginTree | undefined {
    return origin === undefined || origin === this.#root ? undefined : this.#origins.get(origin)
  }

  #setShared (peer: PeerId, eager: boolean): void {
    if (eager) { this.#lazy.delete(peer); this.#eager.add(peer) } else { this.#eager.delete(peer); this.#lazy.add(peer) }
  }

  /** Sets `peer` eager or lazy in `origin`'s own tree, creating that tree as needed. */
  #override (origin: PeerId, peer: PeerId, eager: boolean): void {
    if (origin === this.#root) this.#setShared(peer, eager)
    else this.#treeOf(origin).set(peer, eager)
  }

  /** `origin`'s own tree (most recently used now), created as a copy of the shared tree. */
  #treeOf (origin: PeerId): OriginTree {
    let tree = this.#origins.get(origin)
    if (tree !== undefined) {
      this.#origins.delete(origin)
    } else {
      if (this.#origins.size >= this.maxOriginTrees) this.#origins.delete(this.#origins.keys().next().value!)
      tree = new Map()
      for (const p of this.#eager) tree.set(p, true)
      for (const p of this.#lazy) tree.set(p, false)
    }
    this.#origins.set(origin, tree)
    return tree
  }

  #countOrigin (origin: PeerId): void {
    if (origin === this.#root) return
    const n = (this.#originCounts.get(origin) ?? 0) + 1
    this.#originCounts.delete(origin)
    if (this.#originCounts.size >= this.maxOriginTrees * 4) this.#originCounts.delete(this.#originCounts.keys().next().value!)
    this.#originCounts.set(origin, n)
    if (n >= this.originTreeAfter) this.#treeOf(origin)
  }

  #maybeOptimize (out: Array<SendAction<PlumtreeMsg>>, from: PeerId, id: string, hops: number): void {
    if (this.optimizeThreshold === 0) return
    const s = this.#store.get(id)
    if (s === undefined || s.optimized === true || s.parent === undefined || s.parent === from || s.origin === undefined) return
    if (s.hops - hops < this.optimizeThreshold) return
    const o = s.origin
    if (o === this.#root) {
      // the root's tree is the shared one: plain GRAFT and PRUNE
      s.optimized = true
      this.#setShared(from, true)
      out.push({ type: 'send', to: from, msg: { t: 'pt.graft', ids: [] } })
      this.#setShared(s.parent, false)
      out.push({ type: 'send', to: s.parent, msg: { t: 'pt.prune' } })
      countDrop(this.drops, 'optimized')
      return
    }
    if (!this.#origins.has(o)) return
    s.optimized = true
    // an empty GRAFT turns the link eager at the announcer, for this origin, without asking
    // for the payload again
    this.#override(o, from, true)
    out.push({ type: 'send', to: from, msg: { t: 'pt.graft', ids: [], o } })
    this.#override(o, s.parent, false)
    out.push({ type: 'send', to: s.parent, msg: { t: 'pt.prune', o } })
    countDrop(this.drops, 'optimized')
  }

  #keep (id: string, payload: unknown, hops: number, limit: number, now: number, bytes: number, origin?: PeerId, parent?: PeerId, beacon = false): void {
    // the dedup cache let the id through, but may have forgotten it sooner than the store
    const old = this.#store.get(id)
    if (old !== undefined) { this.#store.delete(id); this.#storeBytes -= old.bytes }
    const s: Stored = { payload, hops, limit, at: now, bytes, origin, parent, optimized: false, beacon }
    this.#store.set(id, s)
    this.#storeBytes += bytes
    this.#pruneStore(now)
  }

  /** Evicts from the head (oldest first) until every bound holds. */
  #pruneStore (now: number): void {
    for (const [id, s] of this.#store) {
      if (this.#store.size <= this.#storeMaxEntries && this.#storeBytes <= this.#storeMaxBytes && now - s.at < this.#storeMaxAgeMs) break
      this.#store.delete(id)
      this.#storeBytes -= s.bytes
    }
  }

  #isNeighbor (peer: PeerId): boolean { return this.#eager.has(peer) || this.#lazy.has(peer) }
  #isLinked (): boolean { return this.#eager.size + this.#lazy.size > 0 }
}

/**
 * At most `max` of `items` (oldest first), the newest of each origin in turn, in their order: one
 * origin broadcasting flat out must not crowd everyone else's messages out of a catch-up (with
 * the newest `max` overall, a relinking node caught up on the flooder's messages only).
 */
function newestByOrigin<T extends { origin: PeerId | undefined }> (items: T[], max: number): T[] {
  if (items.length <= max) return items
  const byOrigin = new Map<PeerId | undefined, number[]>()
  for (let i = items.length - 1; i >= 0; i--) {
    const o = items[i]!.origin
    const list = byOrigin.get(o)
    if (list === undefined) byOrigin.set(o, [i])
    else list.push(i)
  }
  const picked: number[] = []
  const lists = [...byOrigin.values()]
  for (let round = 0; picked.length < max; round++) {
    for (const list of lists) {
      const i = list[round]
      if (i !== undefined && picked.length < max) picked.push(i)
    }
  }
  return picked.sort((a, b) => a - b).map(i => items[i]!)
}

/** Largest age a catch-up entry may carry (about 24 days: any value a node could mean). */
const MAX_AGE_MS = 2 ** 31 - 1
/** Periods without a beacon after which a root is considered gone. */
const ROOT_TIMEOUT_PERIODS = 3.5
/** The same, for a node whose link to the root closed since the root's last beacon. */
const LOST_ROOT_PERIODS = 1.5
/** Periods without a beacon after which the followed root no longer outranks other claimants. */
const OVERDUE_ROOT_PERIODS = 1.25
/** Periods without a stable root's beacon after which a node that followed one counts it lost (two missed beacons). */
const LOST_STABLE_AFTER_PERIODS = 2
/** Periods after a stable root's last beacon during which a node still counts it lost (then gives up the doubt). */
const LOST_STABLE_FOR_PERIODS = 20
/** `componentLabel` of a node that lost its stable root: no peer id (base32) or beacon id (`~`) looks like it. */
export const LOST_ROOT_LABEL = '?'
/**
 * The beacon count a stable root starts from (`rootClass: 'stable'`): roots rank by count, so a
 * stable root outranks any other (another class would need 2^30 periods, 340 years at 10 s).
 */
export const STABLE_ROOT_ROUNDS = 2 ** 30

function gossip (id: string, hops: number, limit: number, payload: unknown, origin: PeerId | undefined, beacon = false): PlumtreeMsg {
  const msg: PlumtreeMsg = origin === undefined ? { t: 'pt.gossip', id, hops, limit, payload } : { t: 'pt.gossip', id, hops, limit, payload, o: origin }
  if (beacon) msg.b = 1
  return msg
}

function first<T> (items: Iterable<T>, ok: (x: T) => boolean): T | undefined {
  for (const x of items) if (ok(x)) return x
  return undefined
}

function randomBase36 (random: () => number): string {
  return Math.floor(random() * 2 ** 32).toString(36).padStart(7, '0')
}
