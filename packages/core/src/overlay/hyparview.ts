import type { Random } from '../util/clock.js'
import type { PeerId } from '../wire/identity.js'
import { pick, sample } from './sample.js'
import type { Drops } from './validate.js'
import { countDrop, isInt, isRecord, isString, stringList } from './validate.js'

/**
 * HyParView membership (Leitão, Pereira, Rodrigues, DSN 2007) as a pure state machine: a small
 * symmetric active view of open links that carries gossip, backed by a larger passive view of
 * known peers that is refreshed by random-walk shuffles and used to repair the active view.
 *
 * Inputs are method calls; outputs are returned `HyParViewAction`s that the node carries out.
 * Nothing here touches a socket, a timer or a clock, so the node and the simulator share it.
 */

export interface PeerEntry { id: PeerId, addrs: string[] }

/** Every message HyParView puts on the wire, discriminated by `t`. */
export type HyParViewMsg =
  /** First message on a link from a newcomer to its contact. */
  | { t: 'hv.join', addrs: string[] }
  /** Random walk announcing a newcomer; ends by the last node opening a link to it. */
  | { t: 'hv.fjoin', newId: PeerId, newAddrs: string[], ttl: number }
  /** First message on a link asking to join the receiver's active view. */
  | { t: 'hv.nbr', priority: 'high' | 'low', addrs: string[] }
  /**
   * A refusal carries a few of the refuser's active peers to try instead, and `c`, the label of
   * the refuser's overlay component if it knows one (netsplit healing).
   */
  | { t: 'hv.nbr-reply', accepted: boolean, peers?: PeerEntry[], c?: string }
  /**
   * "You are no longer in my active view"; the sender closes the link after it, or with
   * `linger`, leaves it open (outside both views) for `pendingTicks` periods: a relay that evicts
   * a page for a newcomer keeps carrying the signals of the page's dials still under way.
   */
  | { t: 'hv.disc', linger?: true }
  /**
   * Step back: a node with a crowded view (a relay) asks a neighbour to leave it if the
   * neighbour has `minActive` other neighbours; it then leaves with DISCONNECT, else ignores it.
   * `peers` are a few of the asker's other sheddable neighbours: the leaver first links to one
   * of them (hand-off), then leaves.
   */
  | { t: 'hv.sb', peers?: PeerEntry[] }
  /** Random walk carrying a sample of the origin's views; the last node answers it. */
  | { t: 'hv.shuffle', origin: PeerId, originAddrs: string[], ttl: number, peers: PeerEntry[] }
  | { t: 'hv.shuffle-reply', peers: PeerEntry[] }

/** Peers a step-back request offers for the hand-off: enough that one is likely dialable and outside the leaver's group. */
const STEP_BACK_OFFERS = 3
/**
 * Refusals in a row after which a node below `minActive` asks with high priority. HyParView asks
 * with high priority only when the active view is empty, so two pages linked only to each other
 * asked full peers with low priority, were refused every time and stayed an island for 35 s or more
 * (the 300-peer mesh run: 11 and 9 refusals, never one component in 120 s).
 */
const STARVED_REFUSALS = 3

export type HyParViewAction =
  /** Send on the existing link to `to`. */
  | { type: 'send', to: PeerId, msg: HyParViewMsg }
  /**
   * Open a link to `peer` and send `msg` first on it, then call `onLinkUp(peer, addrs, 'self')`,
   * or `onConnectFailed(peer)`. If an inbound link from `peer` wins a simultaneous dial, send
   * `msg` on it and report `onLinkUp(..., 'self')` all the same.
   */
  | { type: 'connect', peer: PeerId, addrs: string[], msg: HyParViewMsg }
  /** Send `msg` if given, flush, then close the link. Must be a no-op without a link. */
  | { type: 'disconnect', peer: PeerId, msg?: HyParViewMsg }
  /** `peer` entered (`up`) or left the active view: start or stop broadcasting to it. */
  | { type: 'active', peer: PeerId, up: boolean }
  /** Peers and addresses heard of, for the peer store. Third-hand: verify before trusting. */
  | { type: 'learned', peers: PeerEntry[] }

/** Why a link would be opened: to hold it (`'link'`), or only to carry one SHUFFLE reply (`'reply'`). */
export type DialPurpose = 'link' | 'reply'

export interface HyParViewOptions {
  self: PeerId
  /** Addresses others can dial this node at; sent in JOIN, NEIGHBOR and SHUFFLE. */
  selfAddrs: string[]
  random: Random
  /** Below this many active peers, `tick` asks passive peers to become neighbours (the node's `minPeers`). @default 3 */
  minActive?: number
  /** Most active peers; one more evicts a random member (the node's `maxPeers`). @default 12 */
  maxActive?: number
  /** Most passive peers kept; beyond it a random one is evicted. @default 6 * maxActive */
  passiveSize?: number
  /** Active random walk length: hops a FORWARD_JOIN travels. @default 6 */
  arwl?: number
  /** Passive random walk length: the FORWARD_JOIN ttl at which a node adds the newcomer to its passive view. @default 3 */
  prwl?: number
  /**
   * Most active peers a JOIN is forwarded to (as FORWARD_JOINs), chosen at random. The paper
   * forwards to the whole active view, which is log(n) + c there; a relay that keeps hundreds of
   * clients in its view would send hundreds of frames per join, and a join storm would cost
   * O(n²). @default 12
   */
  maxForwardJoins?: number
  /** Active peers sampled into each SHUFFLE (ka). @default 3 */
  shuffleActive?: number
  /** Passive peers sampled into each SHUFFLE (kp). @default 4 */
  shufflePassive?: number
  /** Hops a SHUFFLE walks before it is answered. @default arwl */
  shuffleTtl?: number
  /**
   * Ticks a connect or NEIGHBOR may go unanswered, and a link may stay outside the active view,
   * before it is given up and closed. Dial timeouts should normally fire well before.
   * @default 2
   */
  pendingTicks?: number
  /** Longest peer id accepted from the wire. @default 128 */
  maxIdLength?: number
  /** Most addresses accepted per peer. @default 16 */
  maxAddrs?: number
  /** Longest address accepted. @default 1024 */
  maxAddrLength?: number
  /** Most entries accepted in one SHUFFLE or SHUFFLE_REPLY. @default 64 */
  maxShufflePeers?: number
  /** Extra check on peer ids from the wire (e.g. `isPeerId`). @default accepts any string within maxIdLength */
  validPeerId?: (id: string) => boolean
  /**
   * A label of the overlay component this node is in, if it knows one (the node passes the
   * Plumtree root it follows). A NEIGHBOR refusal carries the refuser's; a refusal whose label
   * differs from ours means the two are in different components, and the request is repeated
   * once with high priority, which the refuser must accept: that link bridges a split in which
   * no node lost a peer (halves that formed apart), which failure-driven healing never sees.
   */
  component?: () => string | undefined
  /**
   * Whether a link to a peer that is not linked yet can be opened now (the node: a `webrtc:`-only
   * peer needs a signalling route). Passive peers that cannot be dialled are not asked to be
   * neighbours (they stay passive), walks that end at a node that cannot dial the newcomer are
   * passed on or counted (`fjoin-undialable`), and SHUFFLE replies it cannot carry are dropped
   * (`shuffle-undialable`). `purpose` is `'reply'` for a link that would carry one SHUFFLE reply
   * and close: the node may refuse those where a link is costly (a WebRTC session, whose ICE,
   * DTLS and handshake cost more than the reply is worth) and the reply is not sent
   * (`shuffle-reply-skipped`). @default every peer can be dialled
   */
  canDial?: (id: PeerId, addrs: string[], purpose: DialPurpose) => boolean
  /**
   * A relay's view settles at this many active peers: every tick, while the active view is
   * larger, it asks the longest-linked of the peers `shed` selects to step back (`hv.sb`); each
   * leaves if it has `minActive` other neighbours. A full view evicts such a peer first (the
   * longest-linked), not a random member. 0 = off. @default 0
   */
  stepBackAbove?: number
  /** The active peers `stepBackAbove` may shed (the node: `webrtc:`-only pages). @default every peer */
  shed?: (id: PeerId, addrs: string[]) => boolean
}

interface Pending {
  reason: 'join' | 'neighbor' | 'shuffle-reply'
  addrs: string[]
  msg: HyParViewMsg
  /** The link is up and we wait for the answer (NEIGHBOR, and JOIN's acknowledgement). */
  linked: boolean
  since: number
  /** After a refusal or failure, keep trying other passive peers while active + pending < want. */
  want: number
}

export class HyParView {
  readonly self: PeerId
  /** Incoming messages ignored, by reason. */
  readonly drops: Drops = {}
  readonly minActive: number
  readonly maxActive: number
  readonly passiveSize: number
  readonly #selfAddrs: string[]
  readonly #random: Random
  readonly #arwl: number
  readonly #prwl: number
  readonly #ka: number
  readonly #kp: number
  readonly #shuffleTtl: number
  readonly #pendingTicks: number
  readonly #maxIdLength: number
  readonly #maxAddrs: number
  readonly #maxAddrLength: number
  readonly #maxShufflePeers: number
  readonly #maxForwardJoins: number
  readonly #validPeerId: (id: string) => boolean
  readonly #component: () => string | undefined
  readonly #canDial: (id: PeerId, addrs: string[], purpose: DialPurpose) => boolean
  readonly #stepBackAbove: number
  readonly #shed: (id: PeerId, addrs: string[]) => boolean

  readonly #active = new Map<PeerId, string[]>()
  /**
   * Passive peer → addresses. A single address (the usual case) is kept as the string itself:
   * a one-element array per entry was a tenth of a simulated node's heap (6 × maxActive entries).
   */
  readonly #passive = new Map<PeerId, string | string[]>()
  /** Every link the node reported up, with the tick it came up at. */
  readonly #links = new Map<PeerId, number>()
  readonly #pending = new Map<PeerId, Pending>()
  /** Peers taken in on their own JOIN or NEIGHBOR while ours to them was out: their answer is expected once. */
  readonly #crossed = new Set<PeerId>()
  /** Members whose repeated JOIN was answered since the last tick (`#onJoin`). */
  readonly #reAcked = new Set<PeerId>()
  /** Peers that refused a NEIGHBOR since the last tick: not asked again before it. */
  readonly #refusedBy = new Set<PeerId>()
  /** Pages asked to step back, with the tick they were last asked at (one still here declined). */
  readonly #askedStepBack = new Map<PeerId, number>()
  /** A step back under way: the asker is left once a new neighbour is in (`#onStepBack`). */
  #handOff: { from: PeerId, since: number } | undefined
  #shuffleSent: Set<PeerId> | undefined
  /** NEIGHBOR refusals since a peer last entered the active view (STARVED_REFUSALS). */
  #refusalsInRow = 0
  #ticks = 0
  #out: HyParViewAction[] = []
  readonly #learnedNow = new Map<PeerId, string[]>()

  constructor (opts: HyParViewOptions) {
    const int = (name: string, v: number, min: number): number => {
      if (!Number.isSafeInteger(v) || v < min) throw new TypeError(`${name} must be an integer >= ${min}`)
      return v
    }
    if (typeof opts.self !== 'string' || opts.self.length === 0) throw new TypeError('self must be a peer id')
    if (!Array.isArray(opts.selfAddrs) || !opts.selfAddrs.every((a) => typeof a === 'string' && a.length > 0)) throw new TypeError('selfAddrs must be an array of addresses')
    if (typeof opts.random?.float !== 'function') throw new TypeError('random is required')
    this.self = opts.self
    this.#selfAddrs = [...opts.selfAddrs]
    this.#random = opts.random
    this.minActive = int('minActive', opts.minActive ?? 3, 1)
    this.maxActive = int('maxActive', opts.maxActive ?? 12, this.minActive)
    this.passiveSize = int('passiveSize', opts.passiveSize ?? 6 * this.maxActive, 1)
    this.#arwl = int('arwl', opts.arwl ?? 6, 0)
    this.#prwl = int('prwl', opts.prwl ?? 3, 0)
    this.#ka = int('shuffleActive', opts.shuffleActive ?? 3, 0)
    this.#kp = int('shufflePassive', opts.shufflePassive ?? 4, 0)
    this.#shuffleTtl = int('shuffleTtl', opts.shuffleTtl ?? this.#arwl, 1)
    this.#pendingTicks = int('pendingTicks', opts.pendingTicks ?? 2, 1)
    this.#maxIdLength = int('maxIdLength', opts.maxIdLength ?? 128, 1)
    this.#maxAddrs = int('maxAddrs', opts.maxAddrs ?? 16, 1)
    this.#maxAddrLength = int('maxAddrLength', opts.maxAddrLength ?? 1024, 1)
    this.#maxShufflePeers = int('maxShufflePeers', opts.maxShufflePeers ?? 64, this.#ka + this.#kp)
    this.#maxForwardJoins = int('maxForwardJoins', opts.maxForwardJoins ?? 12, 0)
    this.#validPeerId = opts.validPeerId ?? (() => true)
    this.#component = opts.component ?? (() => undefined)
    this.#canDial = opts.canDial ?? (() => true)
    this.#stepBackAbove = int('stepBackAbove', opts.stepBackAbove ?? 0, 0)
    this.#shed = opts.shed ?? (() => true)
  }

  /** A copy of the active view: peer → addresses. */
  activeView (): Map<PeerId, string[]> { return new Map(this.#active) }

  /** Whether `peer` is in the active view (no copy: membership asks for every frame it observes). */
  isActive (peer: PeerId): boolean { return this.#active.has(peer) }

  /** The active view's size (no copy: membership asks every heartbeat tick). */
  get activeSize (): number { return this.#active.size }

  /** The active view's peers, in view order: a fresh array, not the whole view copied. */
  activeIds (): PeerId[] { return [...this.#active.keys()] }

  /** The addresses `peer` advertised, while it is in the active view (the view's own array: do not change it). */
  activeAddrs (peer: PeerId): readonly string[] | undefined { return this.#active.get(peer) }

  /** A copy of the passive view: peer → addresses. */
  passiveView (): Map<PeerId, string[]> { return new Map([...this.#passive].map(([id, a]) => [id, unpackAddrs(a)])) }

  /**
   * Feeds known peers (e.g. from the peer store) into the passive view. Invalid entries are
   * skipped. Call `tick()` afterwards to start filling an empty active view at once.
   */
  addPassive (entries: Iterable<PeerEntry>): void {
    for (const e of entries) {
      const entry = this.#parseEntry(e)
      if (entry !== undefined) this.#addPassiveEntry(entry.id, entry.addrs, true)
    }
  }

  /**
   * Joins the overlay through `contactId`: opens a link to it with JOIN. While a JOIN to it
   * waits for its answer on a link, calling this again sends the JOIN again on that link (the
   * answer may have been lost: the contact may have taken this JOIN's new link for an old one it
   * had not seen die, and answered on that); nothing is aged (see `refill`).
   */
  join (contactId: PeerId, contactAddrs: string[]): HyParViewAction[] {
    if (contactId === this.self) throw new TypeError('cannot join through self')
    return this.#run(() => {
      const p = this.#pending.get(contactId)
      if (p?.reason === 'join' && p.linked && !this.#active.has(contactId)) { this.#send(contactId, p.msg); return }
      if (this.#active.has(contactId) || p !== undefined) return
      this.#open(contactId, [...contactAddrs], 'join', { t: 'hv.join', addrs: this.#selfAddrs }, this.minActive)
    })
  }

  /** Leaves gracefully: DISCONNECT to every active peer; pending attempts are dropped. */
  leave (): HyParViewAction[] {
    return this.#run(() => {
      for (const peer of [...this.#active.keys()]) this.#dropActive(peer, true)
      for (const [peer, p] of [...this.#pending]) {
        this.#pending.delete(peer)
        if (p.linked) this.#closeLink(peer)
      }
    })
  }

  /**
   * A secure link to `peer` is up. `initiatedBy: 'self'` answers a `connect` action;
   * `'remote'` links are classified by their first message (JOIN, NEIGHBOR, SHUFFLE_REPLY).
   */
  /**
   * Asks one peer to take us into its active view. With `low` priority it accepts only if it
   * has room, so nothing is evicted; `high` is always accepted (it evicts a random member).
   * Netsplit healing uses `high` on a peer lost to a partition that answers again: one forced
   * link is enough to merge two full overlays.
   */
  requestNeighbor (peer: PeerId, addrs: string[], priority: 'high' | 'low' = 'low'): HyParViewAction[] {
    return this.#run(() => {
      if (peer === this.self || this.#active.has(peer) || this.#pending.has(peer)) return
      this.#open(peer, addrs, 'neighbor', { t: 'hv.nbr', priority, addrs: this.#selfAddrs }, this.#active.size + 1)
    })
  }

  onLinkUp (peer: PeerId, addrs: string[], initiatedBy: 'self' | 'remote'): HyParViewAction[] {
    return this.#run(() => {
      if (peer === this.self) return
      const known = this.#links.has(peer)
      if (!known) this.#links.set(peer, this.#ticks)
      if (initiatedBy === 'remote') return
      const p = this.#pending.get(peer)
      if (p === undefined) {
        // an answer to a connect we already gave up on
        if (!known && !this.#active.has(peer)) this.#closeLink(peer)
        return
      }
      if (p.linked) return
      p.linked = true
      if (addrs.length > 0) p.addrs = [...addrs]
      this.#linkReady(peer, p)
    })
  }

  /**
   * The link to `peer` is gone (closed, lost, or the failure detector gave up on it; the node
   * closes it in that case). Call it only when no link to `peer` remains.
   */
  onLinkDown (peer: PeerId): HyParViewAction[] {
    return this.#run(() => {
      this.#links.delete(peer)
      this.#crossed.delete(peer)
      this.#reAcked.delete(peer)
      // a connect still dialling is about a new link, not this one
      const p = this.#pending.get(peer)?.linked === true ? this.#pending.get(peer) : undefined
      if (p !== undefined) {
        this.#pending.delete(peer)
        if (p.reason === 'neighbor') this.#passive.delete(peer)
      }
      if (this.#active.has(peer)) {
        // a failed peer is dropped outright, not demoted: it would only fail again
        const had = this.#active.size
        this.#active.delete(peer)
        this.#out.push({ type: 'active', peer, up: false })
        this.#fill(had)
      } else if (p?.reason === 'neighbor') {
        this.#fill(p.want)
      }
    })
  }

  /** A `connect` to `peer` failed. */
  onConnectFailed (peer: PeerId): HyParViewAction[] {
    return this.#run(() => {
      const p = this.#pending.get(peer)
      if (p === undefined || p.linked) return
      if (this.#links.has(peer)) {
        // lost a simultaneous dial to the peer's own link: use that one
        p.linked = true
        this.#send(peer, p.msg)
        this.#linkReady(peer, p)
        return
      }
      this.#pending.delete(peer)
      if (p.reason === 'neighbor') {
        this.#passive.delete(peer)
        this.#fill(p.want)
      } else if (p.reason === 'join' && this.#active.size === 0) {
        this.#fill(this.minActive)
      }
    })
  }

  /** Once per shuffle period: give up stale attempts, shuffle, and refill a thin active view. */
  tick (): HyParViewAction[] {
    return this.#run(() => {
      this.#ticks++
      this.#refusedBy.clear()
      this.#reAcked.clear()
      for (const [peer, p] of [...this.#pending]) {
        if (this.#ticks - p.since < this.#pendingTicks) continue
        this.#pending.delete(peer)
        if (p.reason === 'neighbor') this.#passive.delete(peer)
        if (p.linked && !this.#active.has(peer)) this.#closeLink(peer)
      }
      for (const [peer, since] of [...this.#links]) {
        if (!this.#active.has(peer) && !this.#pending.has(peer) && this.#ticks - since >= this.#pendingTicks) this.#closeLink(peer)
      }
      // a hand-off whose link did not come (refused, failed, given up): stay with the asker,
      // which asks again, with other peers to try
      if (this.#handOff !== undefined && this.#ticks - this.#handOff.since >= this.#pendingTicks) {
        this.#handOff = undefined
        countDrop(this.drops, 'step-back-handoff-failed')
      }
      this.#startShuffle()
      this.#fill(this.minActive)
      this.#askStepBack()
    })
  }

  /**
   * Asks passive peers to become neighbours up to `minActive`, now, without the rest of `tick`
   * (no shuffle, and nothing pending is aged: a node that retries joining every second or two
   * must not give up its own JOIN, still waiting for a slow contact's answer, by ticking).
   */
  refill (): HyParViewAction[] {
    return this.#run(() => { this.#fill(this.minActive) })
  }

  /** A message from `peer`, as decoded from the wire. Malformed ones are counted in `drops`. */
  onMessage (from: PeerId, msg: unknown): HyParViewAction[] {
    return this.#run(() => {
      if (from === this.self) { countDrop(this.drops, 'self'); return }
      if (!this.#links.has(from)) { countDrop(this.drops, 'no-link'); return }
      if (!isRecord(msg) || typeof msg.t !== 'string') { countDrop(this.drops, 'malformed'); return }
      switch (msg.t) {
        case 'hv.join': return this.#onJoin(from, msg)
        case 'hv.fjoin': return this.#onForwardJoin(from, msg)
        case 'hv.nbr': return this.#onNeighbor(from, msg)
        case 'hv.nbr-reply': return this.#onNeighborReply(from, msg)
        case 'hv.disc': return this.#onDisconnect(from, msg.linger === true)
        case 'hv.sb': return this.#onStepBack(from, msg)
        case 'hv.shuffle': return this.#onShuffle(from, msg)
        case 'hv.shuffle-reply': return this.#onShuffleReply(msg)
        default: countDrop(this.drops, 'unknown-type')
      }
    })
  }

  // ---- message handlers ----

  #onJoin (from: PeerId, msg: Record<string, unknown>): void {
    const addrs = this.#parseAddrs(msg.addrs)
    if (addrs === undefined) { countDrop(this.drops, 'malformed'); return }
    // the acknowledgement: the newcomer counts us as a neighbour only from here on, so what it
    // sends once it is "online" reaches a contact that has taken it in
    if (this.#active.has(from)) {
      countDrop(this.drops, 'duplicate')
      // A repeated JOIN from a member is answered once per tick, never forwarded: a member that
      // JOINs again has lost this node (its side of the link broke, this side's looked fine, and
      // its new link replaced the old one here without the member leaving the view), and
      // without an answer it would wait two periods for one, alone. A storm of them makes at
      // most one frame a period.
      if (!this.#reAcked.has(from)) {
        this.#reAcked.add(from)
        this.#send(from, { t: 'hv.nbr-reply', accepted: true })
      }
      return
    }
    this.#learn(from, addrs)
    this.#addActive(from, addrs)
    this.#send(from, { t: 'hv.nbr-reply', accepted: true })
    // a newcomer with no address (a browser, a client behind NAT) cannot be dialled: walks that
    // end at a node which then tries to connect to it would only fail
    if (addrs.length === 0) return
    const fjoin: HyParViewMsg = { t: 'hv.fjoin', newId: from, newAddrs: addrs, ttl: this.#arwl }
    const others = [...this.#active.keys()].filter(p => p !== from)
    // sampled only past the bound, so that small views (and seeded simulations) are unchanged
    const targets = others.length > this.#maxForwardJoins ? sample(this.#random, others, this.#maxForwardJoins) : others
    for (const peer of targets) this.#send(peer, fjoin)
  }

  #onForwardJoin (from: PeerId, msg: Record<string, unknown>): void {
    const newAddrs = this.#parseAddrs(msg.newAddrs)
    if (!this.#isId(msg.newId) || newAddrs === undefined || !isInt(msg.ttl, 0, 255)) { countDrop(this.drops, 'malformed'); return }
    if (!this.#active.has(from)) { countDrop(this.drops, 'not-active'); return }
    const newId = msg.newId
    if (newId === this.self) { countDrop(this.drops, 'self'); return }
    this.#learn(newId, newAddrs)
    // another implementation may use longer walks; ours bound how far a join can be pushed
    const ttl = Math.min(msg.ttl, this.#arwl)
    const next = ttl === 0 || this.#active.size <= 1
      ? undefined
      : pick(this.#random, [...this.#active.keys()].filter((p) => p !== from && p !== newId))
    if (next === undefined) {
      if (this.#active.has(newId) || this.#pending.has(newId)) return
      if (!this.#dialable(newId, newAddrs)) { countDrop(this.drops, 'fjoin-undialable'); return }
      // the walk ends here: the newcomer accepts high priority NEIGHBORs unconditionally
      this.#open(newId, newAddrs, 'neighbor', { t: 'hv.nbr', priority: 'high', addrs: this.#selfAddrs }, 0)
      return
    }
    if (ttl === this.#prwl) this.#addPassiveEntry(newId, newAddrs, false)
    this.#send(next, { t: 'hv.fjoin', newId, newAddrs, ttl: ttl - 1 })
  }

  #onNeighbor (from: PeerId, msg: Record<string, unknown>): void {
    const addrs = this.#parseAddrs(msg.addrs)
    if ((msg.priority !== 'high' && msg.priority !== 'low') || addrs === undefined) { countDrop(this.drops, 'malformed'); return }
    this.#learn(from, addrs)
    const crossing = this.#pending.get(from)?.reason === 'neighbor'
    // a relay that steps back keeps its room above `stepBackAbove` for newcomers (JOIN) and
    // isolated pages (high priority): a page with neighbours is refused and offered some of them
    const room = this.#stepBackAbove > 0 && this.#shed(from, addrs) ? Math.min(this.#stepBackAbove, this.maxActive) : this.maxActive
    if (this.#active.has(from) || msg.priority === 'high' || this.#active.size < room || crossing) {
      this.#addActive(from, addrs)
      this.#send(from, { t: 'hv.nbr-reply', accepted: true })
      return
    }
    // it is looking for neighbours, so it is alive and a good candidate later
    this.#addPassiveEntry(from, addrs, true)
    const peers = sample(this.#random, [...this.#active].map(([id, addrs]) => ({ id, addrs })), 3)
    const c = this.#component()
    this.#closeLink(from, c === undefined ? { t: 'hv.nbr-reply', accepted: false, peers } : { t: 'hv.nbr-reply', accepted: false, peers, c })
  }

  #onNeighborReply (from: PeerId, msg: Record<string, unknown>): void {
    if (typeof msg.accepted !== 'boolean') { countDrop(this.drops, 'malformed'); return }
    const p = this.#pending.get(from)
    // requests that crossed: this side took the peer in on its own request, and this is the
    // answer to ours (expected once)
    if (p === undefined && msg.accepted && this.#crossed.delete(from)) return
    if (p === undefined || p.reason === 'shuffle-reply' || !p.linked) { countDrop(this.drops, 'unexpected'); return }
    this.#pending.delete(from)
    if (msg.accepted) {
      this.#addActive(from, p.addrs)
      return
    }
    // a contact never refuses a JOIN: a refusal to one is not ours to act on
    if (p.reason === 'join') { countDrop(this.drops, 'unexpected'); this.#closeLink(from); return }
    if (this.#active.has(from)) return
    const theirs = msg.c
    const ours = this.#component()
    if (typeof theirs === 'string' && theirs.length <= this.#maxIdLength && ours !== undefined && theirs !== ours &&
      p.msg.t === 'hv.nbr' && p.msg.priority === 'low') {
      // another component: insist once, so that the refuser takes us and the split is bridged
      this.#closeLink(from)
      countDrop(this.drops, 'split-bridge')
      this.#open(from, p.addrs, 'neighbor', { t: 'hv.nbr', priority: 'high', addrs: this.#selfAddrs }, p.want)
      return
    }
    this.#refusedBy.add(from)
    this.#refusalsInRow++
    this.#closeLink(from)
    // a full peer's neighbours may have room: the retry below picks among them
    const offered = msg.peers === undefined ? [] : (this.#parseEntries(msg.peers) ?? [])
    for (const e of offered) if (e.id !== this.self && !this.#active.has(e.id)) this.#addPassiveEntry(e.id, e.addrs, false)
    this.#fill(p.want)
  }

  #onDisconnect (from: PeerId, linger: boolean): void {
    const addrs = this.#active.get(from)
    if (addrs === undefined) { countDrop(this.drops, 'unexpected'); return }
    this.#active.delete(from)
    this.#out.push({ type: 'active', peer: from, up: false })
    // it chose to leave our view but is alive: keep it as a candidate, just not right now
    this.#addPassiveEntry(from, addrs, true)
    this.#refusedBy.add(from)
    // a relay that evicted this page keeps the link a while for the signals of its dials
    if (linger) this.#linger(from)
    else this.#closeLink(from)
    if (this.#active.size < this.minActive) this.#fill(this.minActive)
  }

  #onStepBack (from: PeerId, msg: Record<string, unknown>): void {
    const offered = msg.peers === undefined ? [] : this.#parseEntries(msg.peers)
    if (offered === undefined) { countDrop(this.drops, 'malformed'); return }
    if (!this.#active.has(from)) { countDrop(this.drops, 'not-active'); return }
    const others = offered.filter(e => e.id !== this.self && e.id !== from && !this.#active.has(e.id))
    for (const e of others) this.#addPassiveEntry(e.id, e.addrs, false)
    // too few other neighbours: stay (the asker asks again next tick while it is crowded)
    if (this.#active.size - 1 < this.minActive) { countDrop(this.drops, 'step-back-declined'); return }
    // one hand-off at a time: the asker asks again
    if (this.#handOff !== undefined) { countDrop(this.drops, 'step-back-busy'); return }
    // Hand-off: the asker may be this node's only bridge to the rest of the overlay (a group of
    // pages that linked among themselves first: the mesh e2e run split off 13 pages that way
    // and they got 45 % of the broadcasts). One of the asker's other pages, at random, is most
    // likely outside that group: link to it first, then leave (#addActive), while the asker
    // still carries the signals for the new link. High priority: settled pages' views are
    // mostly full, and a low-priority request failed 4 hand-offs in 41 (pages simulator, 80
    // pages); the page taken in evicts one of its many links instead.
    const to = pick(this.#random, others.filter(e => !this.#pending.has(e.id) && this.#dialable(e.id, e.addrs)))
    if (to === undefined) { this.#stepBack(from); return }
    this.#handOff = { from, since: this.#ticks }
    this.#open(to.id, to.addrs, 'neighbor', { t: 'hv.nbr', priority: 'high', addrs: this.#selfAddrs }, this.#active.size + 1)
  }

  #stepBack (from: PeerId): void {
    this.#dropActive(from, true)
    // not asked back before the next tick
    this.#refusedBy.add(from)
  }

  /** The peers `stepBackAbove` may shed, longest-linked first (`#links` keeps the order links came up in). */
  #sheddable (): PeerId[] {
    const out: PeerId[] = []
    for (const id of this.#links.keys()) {
      const addrs = this.#active.get(id)
      if (addrs !== undefined && this.#shed(id, addrs)) out.push(id)
    }
    return out
  }

  #askStepBack (): void {
    for (const id of this.#askedStepBack.keys()) if (!this.#active.has(id)) this.#askedStepBack.delete(id)
    const excess = this.#stepBackAbove > 0 ? this.#active.size - this.#stepBackAbove : 0
    if (excess <= 0) return
    // only peers linked for a full period: a newcomer has had no time to find other neighbours
    const ready = this.#sheddable().filter(id => this.#ticks - (this.#links.get(id) ?? this.#ticks) >= 2)
    // a page asked before and still here declined (too few other neighbours): the ones asked
    // longest ago (never first) go first, longest-linked first among equals; asking the same
    // longest-linked page every tick left a relay one page over stepBackAbove for good (the
    // mesh e2e run: 17 page links for 60 s, `step-back-declined` 102)
    const asked = (id: PeerId): number => this.#askedStepBack.get(id) ?? -1
    const order = ready.map((id, i) => ({ id, i })).sort((a, b) => asked(a.id) - asked(b.id) || a.i - b.i)
    const pages = this.#sheddable()
    for (const { id } of order.slice(0, excess)) {
      this.#askedStepBack.set(id, this.#ticks)
      const peers = sample(this.#random, pages.filter(p => p !== id), STEP_BACK_OFFERS).map(p => ({ id: p, addrs: this.#active.get(p)! }))
      this.#send(id, { t: 'hv.sb', peers })
    }
  }

  #onShuffle (from: PeerId, msg: Record<string, unknown>): void {
    const originAddrs = this.#parseAddrs(msg.originAddrs)
    const peers = this.#parseEntries(msg.peers)
    if (!this.#isId(msg.origin) || originAddrs === undefined || !isInt(msg.ttl, 0, 255) || peers === undefined) {
      countDrop(this.drops, 'malformed'); return
    }
    if (!this.#active.has(from)) { countDrop(this.drops, 'not-active'); return }
    const origin = msg.origin
    if (origin === this.self) { countDrop(this.drops, 'self'); return }
    const ttl = Math.min(msg.ttl, this.#shuffleTtl) - 1
    const next = ttl > 0 ? pick(this.#random, [...this.#active.keys()].filter((p) => p !== from && p !== origin)) : undefined
    if (next !== undefined) {
      this.#send(next, { t: 'hv.shuffle', origin, originAddrs, ttl, peers })
      return
    }
    const reply = sample(this.#random, this.#passive, peers.length).map(([id, addrs]) => ({ id, addrs: unpackAddrs(addrs) }))
    const replyMsg: HyParViewMsg = { t: 'hv.shuffle-reply', peers: reply }
    if (this.#links.has(origin)) this.#send(origin, replyMsg)
    else if (!this.#dialable(origin, originAddrs)) countDrop(this.drops, 'shuffle-undialable')
    else if (!this.#dialable(origin, originAddrs, 'reply')) countDrop(this.drops, 'shuffle-reply-skipped')
    else if (!this.#pending.has(origin)) this.#open(origin, originAddrs, 'shuffle-reply', replyMsg, 0)
    // what we hand out is what we drop first: the two views trade entries rather than copy
    const sent = new Set(reply.map((e) => e.id))
    this.#learn(origin, originAddrs)
    this.#addPassiveEntry(origin, originAddrs, true, sent)
    for (const e of peers) {
      this.#learn(e.id, e.addrs)
      this.#addPassiveEntry(e.id, e.addrs, false, sent)
    }
  }

  #onShuffleReply (msg: Record<string, unknown>): void {
    const peers = this.#parseEntries(msg.peers)
    if (peers === undefined) { countDrop(this.drops, 'malformed'); return }
    const sent = this.#shuffleSent
    if (sent === undefined) { countDrop(this.drops, 'unexpected'); return }
    this.#shuffleSent = undefined
    for (const e of peers) {
      this.#learn(e.id, e.addrs)
      this.#addPassiveEntry(e.id, e.addrs, false, sent)
    }
  }

  // ---- view management ----

  #startShuffle (): void {
    const target = pick(this.#random, [...this.#active.keys()])
    if (target === undefined) return
    const peers = [
      ...sample(this.#random, [...this.#active].filter(([id]) => id !== target), this.#ka),
      ...sample(this.#random, this.#passive, this.#kp)
    ].map(([id, addrs]) => ({ id, addrs: unpackAddrs(addrs) }))
    this.#shuffleSent = new Set(peers.map((e) => e.id))
    this.#send(target, { t: 'hv.shuffle', origin: this.self, originAddrs: this.#selfAddrs, ttl: this.#shuffleTtl, peers })
  }

  #addActive (peer: PeerId, addrs: string[]): void {
    if (peer === this.self) return
    const p = this.#pending.get(peer)
    if (p !== undefined && p.linked && p.reason !== 'shuffle-reply') this.#crossed.add(peer)
    this.#pending.delete(peer)
    if (this.#active.has(peer)) {
      if (addrs.length > 0) this.#active.set(peer, addrs)
      return
    }
    while (this.#active.size >= this.maxActive) {
      // a relay evicts the page linked longest (most likely to have other links); others at random
      // (such a page keeps its link a while: the newest pages turn over faster than WebRTC dials
      // complete when a join wave outruns the view, and the walk-end dials of a page the relay
      // had evicted were answered `unreachable`: see #linger)
      const page = this.#stepBackAbove > 0 ? this.#sheddable()[0] : undefined
      const victim = page ?? pick(this.#random, [...this.#active.keys()])
      if (victim === undefined) break
      this.#dropActive(victim, true, page !== undefined)
    }
    this.#passive.delete(peer)
    this.#active.set(peer, addrs)
    this.#refusalsInRow = 0
    this.#out.push({ type: 'active', peer, up: true })
    // a hand-off is done once any new neighbour is in (the offered one, or the one a refusal
    // of it pointed to): leave the asker now
    const h = this.#handOff
    if (h !== undefined && peer !== h.from) {
      this.#handOff = undefined
      if (this.#active.has(h.from) && this.#active.size - 1 >= this.minActive) this.#stepBack(h.from)
    }
  }

  /** Demotes an active peer to passive, telling it with DISCONNECT; `linger` keeps the link a while (#linger). */
  #dropActive (peer: PeerId, toPassive: boolean, linger = false): void {
    const addrs = this.#active.get(peer)
    if (addrs === undefined) return
    this.#active.delete(peer)
    this.#out.push({ type: 'active', peer, up: false })
    if (linger) {
      this.#send(peer, { t: 'hv.disc', linger: true })
      this.#linger(peer)
    } else {
      this.#closeLink(peer, { t: 'hv.disc' })
    }
    if (toPassive) this.#addPassiveEntry(peer, addrs, true)
  }

  /**
   * Keeps the link to `peer`, now outside the active view, for `pendingTicks` more periods (the
   * tick closes it then, as any link outside the views): signals still reach it over this link.
   * A relay evicts the longest-linked page for each JOIN once full; in a join wave that page was
   * linked a second or less, its JOIN's walks were still dialling it back through the relay,
   * and every such dial failed `unreachable` at the relay (pages simulator, 300 pages, dials of
   * 6 s: 78 % of the wave's dials).
   */
  #linger (peer: PeerId): void {
    if (!this.#links.has(peer)) return
    this.#links.delete(peer)
    this.#links.set(peer, this.#ticks)
  }

  /**
   * Adds or refreshes a passive entry. Only first-hand addresses (from the peer itself)
   * overwrite known ones: a third party could otherwise redirect us to a dead address.
   */
  #addPassiveEntry (id: PeerId, addrs: string[], firstHand: boolean, evictFirst?: Set<PeerId>): void {
    if (id === this.self || this.#active.has(id) || addrs.length === 0) return
    if (this.#passive.has(id)) {
      if (firstHand) this.#passive.set(id, packAddrs(addrs))
      return
    }
    if (this.#passive.size >= this.passiveSize) {
      let victim: PeerId | undefined
      if (evictFirst !== undefined) {
        for (const p of evictFirst) if (this.#passive.has(p) && !this.#pending.has(p)) { victim = p; break }
      }
      victim ??= pick(this.#random, [...this.#passive.keys()].filter((p) => !this.#pending.has(p)))
      if (victim === undefined) return
      this.#passive.delete(victim)
    }
    this.#passive.set(id, packAddrs(addrs))
  }

  /** Asks passive peers to become neighbours until active + pending reaches `want`. */
  #fill (want: number): void {
    const target = Math.min(want, this.maxActive)
    while (this.#active.size + this.#pendingNeighbors() < target) {
      const peer = pick(this.#random, [...this.#passive].filter(([p, a]) => !this.#pending.has(p) && !this.#refusedBy.has(p) && this.#dialable(p, unpackAddrs(a))).map(([p]) => p))
      if (peer === undefined) return
      // high priority only when isolated, or starved (below minActive and refused
      // STARVED_REFUSALS times in a row), so that full nodes are rarely forced to evict
      const starved = this.#active.size < this.minActive && this.#refusalsInRow >= STARVED_REFUSALS
      const priority = this.#active.size === 0 || starved ? 'high' : 'low'
      this.#open(peer, unpackAddrs(this.#passive.get(peer)!), 'neighbor', { t: 'hv.nbr', priority, addrs: this.#selfAddrs }, target)
    }
  }

  /** A peer already linked can always be asked; another one only if the node can dial it. */
  #dialable (id: PeerId, addrs: string[], purpose: DialPurpose = 'link'): boolean {
    return this.#links.has(id) || this.#canDial(id, addrs, purpose)
  }

  #pendingNeighbors (): number {
    let n = 0
    for (const p of this.#pending.values()) if (p.reason === 'neighbor') n++
    return n
  }

  // ---- links ----

  #open (peer: PeerId, addrs: string[], reason: Pending['reason'], msg: HyParViewMsg, want: number): void {
    const linked = this.#links.has(peer)
    const p: Pending = { reason, addrs, msg, linked, since: this.#ticks, want }
    this.#pending.set(peer, p)
    if (linked) {
      this.#send(peer, msg)
      this.#linkReady(peer, p)
    } else {
      this.#out.push({ type: 'connect', peer, addrs, msg })
    }
  }

  /** Our own link is up and its first message sent. */
  #linkReady (peer: PeerId, p: Pending): void {
    // a JOIN (never refused) and a NEIGHBOR wait for the contact's NEIGHBOR-REPLY: until the
    // contact has processed the request it would not pass on what this node broadcasts
    if (p.reason === 'shuffle-reply') {
      // the link existed only to carry the reply
      this.#pending.delete(peer)
      if (!this.#active.has(peer)) this.#closeLink(peer)
    }
  }

  #closeLink (peer: PeerId, msg?: HyParViewMsg): void {
    this.#links.delete(peer)
    this.#out.push(msg === undefined ? { type: 'disconnect', peer } : { type: 'disconnect', peer, msg })
  }

  #send (to: PeerId, msg: HyParViewMsg): void {
    this.#out.push({ type: 'send', to, msg })
  }

  #learn (id: PeerId, addrs: string[]): void {
    if (id !== this.self && addrs.length > 0) this.#learnedNow.set(id, addrs)
  }

  #run (fn: () => void): HyParViewAction[] {
    this.#out = []
    fn()
    if (this.#learnedNow.size > 0) {
      this.#out.push({ type: 'learned', peers: [...this.#learnedNow].map(([id, addrs]) => ({ id, addrs })) })
      this.#learnedNow.clear()
    }
    const out = this.#out
    this.#out = []
    return out
  }

  // ---- validation ----

  #isId (v: unknown): v is PeerId {
    return isString(v, this.#maxIdLength) && this.#validPeerId(v)
  }

  #parseAddrs (v: unknown): string[] | undefined {
    return stringList(v, this.#maxAddrs, this.#maxAddrLength)
  }

  #parseEntry (v: unknown): PeerEntry | undefined {
    if (!isRecord(v) || !this.#isId(v.id)) return undefined
    const addrs = this.#parseAddrs(v.addrs)
    return addrs === undefined ? undefined : { id: v.id, addrs }
  }

  #parseEntries (v: unknown): PeerEntry[] | undefined {
    if (!Array.isArray(v) || v.length > this.#maxShufflePeers) return undefined
    const out: PeerEntry[] = []
    for (const e of v) {
      const entry = this.#parseEntry(e)
      if (entry === undefined) return undefined
      out.push(entry)
    }
    return out
  }
}

function packAddrs (addrs: string[]): string | string[] { return addrs.length === 1 ? addrs[0]! : addrs }
function unpackAddrs (a: string | string[]): string[] { return typeof a === 'string' ? [a] : a }
