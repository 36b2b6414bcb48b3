import type { OverlayContext } from './context.js'
import type { Peer } from '../link/peer.js'
import type { PeerId } from '../wire/identity.js'
import { isPeerId } from '../wire/identity.js'
import { HyParView } from './hyparview.js'
import type { HyParViewAction, HyParViewMsg, PeerEntry } from './hyparview.js'
import { FailureDetector } from './phi-accrual.js'
import { parseAddress } from '../link/address.js'
import { ExpiringMap } from '../util/expiring-map.js'
import { StoreBootstrap } from '../store/store-bootstrap.js'
import type { PeerRecord } from '../store/peer-store.js'
import { peersCarried } from '../store/peer-exchange.js'
import { watchDrops, withType } from './validate.js'
import { sample } from './sample.js'
import { isMisbehaviour } from '../util/errors.js'

/** A healthy node probes a seed once in this many heal periods on average (30 s default: 1k nodes → ~2 probes/s at the seeds). */
const HEALTHY_PROBE_ODDS = 16
/** A seed that has not answered within this is not waited for: the next one is dialled too, ms. */
const SEED_HEAD_START_MS = 2_000
/** Longest wait for one dial of a relink (a WebRTC offer sent into a dead path would otherwise wait for the transport's 20 s), ms. */
const RELINK_DIAL_MS = 5_000

export interface MembershipOptions {
  /** Active view size the node tries to keep at least. @default 3 */
  minPeers: number
  /** Most active peers (open overlay links). @default 12 */
  maxPeers: number
  /** Passive view size. @default 6 × maxPeers */
  passiveSize?: number
  /** Period of HyParView's shuffle and repair tick, ms. @default 10000 */
  shuffleInterval: number
  /** Heartbeat period on idle active links, ms. @default 1000 */
  heartbeatInterval: number
  /** Phi at which a silent peer is declared down. @default 8 */
  phiThreshold: number
  /** Longest silence tolerated from a neighbour that announced it is paused (`hs.pause`), ms. @default 300000 */
  pausedToleranceMs?: number
  /**
   * The wall clock, ms (`Date.now` on the system clock). A suspended machine's monotonic clock
   * may stand still while the wall clock runs on: a jump in it is a wake from sleep.
   * @default the node's clock
   */
  wallNow?: () => number
  /** First rejoin delay after losing every peer, ms; doubles up to `rejoinMaxDelay`, ±50 % jitter. @default 1000 */
  rejoinDelay: number
  /** @default 5000 */
  rejoinMaxDelay: number
  /** Period of netsplit healing (retry peers lost to failure detection, probe a seed), ms; 0 disables. @default 30000 */
  healInterval: number
  /** Addresses advertised to others. @default the listening addresses */
  announceAddresses?: string[]
  /** The label of this node's overlay component: the root of the broadcast tree it follows (Plumtree's `componentLabel`). */
  component?: () => string | undefined
  /**
   * Whether this node lost the stable root (a relay) it followed (Plumtree's `lostStableRoot`):
   * it may be in an island cut off as views changed, so it probes a seed every heal period.
   */
  lostRoot?: () => boolean
  /** Above this many active peers, ask `webrtc:`-only neighbours with `minPeers` other links to step back (a relay). 0 = off. @default 0 */
  stepBackAbove?: number
  /** Most active peers a JOIN is forwarded to (HyParView's `maxForwardJoins`). @default 12 */
  maxForwardJoins?: number
  /** The node's overlay signalling, if it has it: routes to learn from the walks, and which `webrtc:` peers can be dialled. */
  routes?: SignalRoutes
}

/** What membership needs of overlay signalling (`SignalService`). */
export interface SignalRoutes {
  /** A membership message of type `t` came from neighbour `from`: the routes it shows. */
  observe: (from: PeerId, t: string, data: unknown) => void
  canSignal: (target: PeerId) => boolean
  /** Runs `dial` for lost neighbour `id` now and again while it fails (signalling.ts, `relink`). */
  relink?: (id: PeerId, dial: () => Promise<unknown>, intervalMs: number) => void
}

/** `signals` as `SignalRoutes` if it is overlay signalling (checked by shape: lite nodes do not bundle it). */
export function signalRoutes (signals: unknown): SignalRoutes | undefined {
  const r = signals as Partial<SignalRoutes> | undefined
  return typeof r?.observe === 'function' && typeof r.canSignal === 'function' ? r as SignalRoutes : undefined
}

/** A peer reachable only over WebRTC (every address `webrtc:`): dialling it needs signals. */
function onlyWebrtc (addrs: string[]): boolean {
  return addrs.length > 0 && addrs.every(a => a.startsWith('webrtc:'))
}

export interface MembershipEvents {
  'peer:down': { id: PeerId }
  'peer:up': { id: PeerId }
}

/** `hs.pause` data: `{ paused: bool }`, or undefined when malformed. */
export function pausedFlag (data: unknown): boolean | undefined {
  const paused = (data as { paused?: unknown } | null)?.paused
  return typeof paused === 'boolean' ? paused : undefined
}

/**
 * Glue between the pure HyParView state machine and the node: executes its actions on real
 * links, feeds it link events, runs the failure detector on heartbeats, and rejoins through
 * seeds and stored addresses when the node is alone.
 */
export class Membership {
  readonly hv: HyParView
  readonly fd: FailureDetector
  /** Links that carry overlay traffic; only these may be closed by the overlay. */
  readonly #overlayLinks = new Set<PeerId>()
  readonly #lastSent = new Map<PeerId, number>()
  readonly #downPeers = new Set<PeerId>()
  /** Peers the failure detector gave up on, retried by healing: if one answers, a split is over. */
  readonly #lost = new ExpiringMap<PeerId, string[]>(64, 10 * 60_000)
  #rejoinAttempt = 0
  #cancelRejoin: (() => void) | undefined
  readonly #bootstrap: StoreBootstrap
  #started = false
  /** Removes this run's protocol handlers and node listeners (`dispose`). */
  readonly #offs: Array<() => void> = []
  #refilling = false
  /** This node announced that it is paused (`setPaused`). */
  #paused = false
  /**
   * On the wall clock: the previous heartbeat tick, the last frame heard (or that tick), and the
   * longest silence between frames since that tick (`#heartbeats`).
   */
  #tickAt = 0
  #heardAt = 0
  #quietest = 0
  /**
   * Lost neighbours dialled again (`#redial`) and not yet back in the active view, with their
   * addresses: their new link is kept (see `run`, 'disconnect'). Bounded by count and age.
   */
  readonly #redialing = new ExpiringMap<PeerId, string[]>(64, 2 * RELINK_DIAL_MS)
  /** The next rejoin goes at once (a wake): the backoff was earned before the node slept. */
  #rejoinNow = false
  readonly #wallNow: () => number

  constructor (
    private readonly ctx: OverlayContext,
    private readonly opts: MembershipOptions,
    private readonly seeds: string[],
    private readonly onActive: (peer: PeerId, up: boolean) => void,
    private readonly emitEvent: <K extends keyof MembershipEvents>(e: K, p: MembershipEvents[K]) => void
  ) {
    this.hv = new HyParView({
      self: ctx.id,
      selfAddrs: opts.announceAddresses ?? ctx.addresses,
      random: ctx.random,
      minActive: opts.minPeers,
      maxActive: opts.maxPeers,
      passiveSize: opts.passiveSize,
      validPeerId: isPeerId,
      // the Plumtree root names the component: two roots, two overlays (undefined in flood mode)
      component: () => opts.component?.(),
      // a `webrtc:`-only peer is dialled only when a signal can reach it (a route is known), and
      // never only to carry a SHUFFLE reply: ICE, DTLS and a handshake at both ends for one
      // message (a fifth of the links 300 pages made in a join wave, issue 19)
      canDial: (id, addrs, purpose) => purpose === 'reply' ? !onlyWebrtc(addrs) : this.#canDial(id, addrs),
      stepBackAbove: opts.stepBackAbove,
      ...(opts.maxForwardJoins === undefined ? {} : { maxForwardJoins: opts.maxForwardJoins }),
      // a relay sheds pages (webrtc: only), never the listeners that link relays together
      shed: (_id, addrs) => onlyWebrtc(addrs)
    })
    watchDrops(this.hv.drops, (reason) => { ctx.metrics.drop(`hv-${reason}`) })
    // one heartbeat interval of acceptable pause: a single lost or late beat (10 % loss in the
    // simulator) must not close a healthy link; detection stays within a few intervals
    this.fd = new FailureDetector({ threshold: opts.phiThreshold, firstHeartbeatEstimateMs: opts.heartbeatInterval, acceptableHeartbeatPauseMs: opts.heartbeatInterval, pausedToleranceMs: opts.pausedToleranceMs })
    this.#wallNow = opts.wallNow ?? ctx.clock.now
    this.#bootstrap = new StoreBootstrap(ctx, { backoffBase: opts.rejoinDelay, backoffMax: opts.rejoinMaxDelay })
    for (const t of ['hv.join', 'hv.fjoin', 'hv.nbr', 'hv.nbr-reply', 'hv.disc', 'hv.sb', 'hv.shuffle', 'hv.shuffle-reply']) {
      this.#offs.push(ctx.handle(t, (peer, data) => {
        this.#overlayLinks.add(peer.id)
        opts.routes?.observe(peer.id, t, data)
        this.run(this.hv.onMessage(peer.id, withType(data, t)))
        this.#countExchange(peer, t, data, 'rx')
      }))
    }
    this.#offs.push(ctx.handle('hs.pause', (peer, data) => {
      const paused = pausedFlag(data)
      if (paused === undefined) { ctx.metrics.drop('pause-invalid'); return }
      this.fd.setPaused(peer.id, paused, ctx.clock.now())
    }))
  }

  /** Whether `id` at `addrs` can be dialled now: a `webrtc:`-only peer only when a signal can reach it. */
  #canDial (id: PeerId, addrs: string[]): boolean {
    return !onlyWebrtc(addrs) || (this.opts.routes?.canSignal(id) ?? true)
  }

  /**
   * Stored rows worth dialling now: not `webrtc:` peers that no signal can reach (a node alone
   * has nobody to carry an offer, so each such dial only fails: the mesh run's 26
   * `membership.store-dials.failed` on isolated pages).
   */
  #dialableRows (rows: PeerRecord[]): PeerRecord[] {
    return rows.filter(r => this.#canDial(r.peerId ?? r.address.slice('webrtc:'.length), [r.address]))
  }

  /** The node stopped: this instance is done (the next start() makes a new one). */
  dispose (): void {
    this.#started = false
    for (const off of this.#offs.splice(0)) off()
    this.#cancelRejoin?.()
    this.#cancelRejoin = undefined
  }

  /**
   * The application dialled `peer` (`node.dial`): make it a neighbour — through a JOIN when the
   * node has none yet (it enters the network there), else a high-priority NEIGHBOR.
   */
  adopt (peer: Peer, address: string): void {
    if (!this.#started || this.hv.isActive(peer.id)) return
    if (this.hv.activeSize === 0) this.run(this.hv.join(peer.id, [address]))
    else this.run(this.hv.requestNeighbor(peer.id, [address], 'high'))
  }

  async start (): Promise<void> {
    this.#started = true
    const ctx = this.ctx
    this.#offs.push(ctx.on('peer:connect', (peer) => { this.run(this.hv.onLinkUp(peer.id, [], 'remote')) }))
    this.#offs.push(ctx.on('peer:disconnect', ({ peer, reason }) => {
      // a neighbour's link failed under it (no goodbye heard, not closed here: an ICE failure, a
      // reset), or the far end retired it as a duplicate and the link it kept never came (it
      // kept an old link that had died unnoticed: a NAT that forgot its mapping): dial it again
      // (a link this node closed for the peer's own misbehaviour is no failure: dialling an
      // attacker back would only let it in again)
      const addrs = this.hv.activeView().get(peer.id)
      const bye = peer.link.byeReason
      const failed = reason !== undefined && bye === undefined && !isMisbehaviour(reason)
      if (addrs !== undefined && (failed || bye === 'duplicate')) this.#relink(peer.id, this.#dialable(peer.id, addrs, peer))
      this.#overlayLinks.delete(peer.id)
      this.#lastSent.delete(peer.id)
      this.fd.remove(peer.id)
      this.run(this.hv.onLinkDown(peer.id))
    }))
    this.#offs.push(ctx.on('offline', () => { if (ctx.status === 'running') this.#scheduleRejoin() }))
    this.#offs.push(ctx.on('online', () => { this.#rejoinAttempt = 0; this.#cancelRejoin?.(); this.#cancelRejoin = undefined }))
    const timers = ctx.timers
    timers.every(this.opts.shuffleInterval, () => {
      this.run(this.hv.tick())
      // addresses saved to the store while the node runs (peernet's save()) are tried too
      // (only when the passive view, which the tick just drew from, has nobody left: the store
      // is read, up to 10k rows, when gossip offers no candidate, not every period)
      if (this.hv.activeSize < this.opts.minPeers && this.hv.passiveView().size === 0) void this.#refillFromStore()
    })
    // a node frozen before its first tick must see that tick as late too (a page frozen right
    // after start declared its relay down: the e2e page-lifecycle test, about 3 runs in 4)
    this.#tickAt = this.#heardAt = this.#wallNow()
    this.#quietest = 0
    timers.every(this.opts.heartbeatInterval, () => { this.#heartbeats() })
    if (this.opts.healInterval > 0) {
      timers.every(this.opts.healInterval, () => { this.#heal() })
    }
    // passive view from the store, best scored first: the node rejoins from it when seeds are gone
    const ranked = await this.#bootstrap.ranked()
    const entries: PeerEntry[] = []
    for (const row of ranked) {
      if (entries.length >= this.hv.passiveSize) break
      if (row.peerId !== null && row.peerId !== ctx.id && isPeerId(row.peerId)) entries.push({ id: row.peerId, addrs: [row.address] })
    }
    this.hv.addPassive(entries)
    const answered = await this.#joinSeeds()
    if (!this.#started) return
    // stored addresses are for when no seed answers: a seed that did has the JOIN under way
    if (this.hv.activeSize === 0 && answered === 0) await this.#joinStored(ranked)
    if (!this.#started) return
    if (this.hv.activeSize === 0 && entries.length > 0) this.run(this.hv.refill())
    // seeds down and nothing stored that answers: try again from ~rejoinDelay, backing off,
    // rather than waiting for the heal timer
    if (this.hv.activeSize === 0 && this.ctx.status === 'running') this.#scheduleRejoin()
  }

  /**
   * Below `minPeers`: dial the best stored address the node is not linked to and ask it to be a
   * neighbour. One at a time; a failed address backs off (StoreBootstrap).
   */
  async #refillFromStore (): Promise<void> {
    if (this.#refilling || !this.#started) return
    this.#refilling = true
    try {
      const ranked = this.#dialableRows(await this.#bootstrap.ranked())
      const skip = [...this.hv.activeView().values()].flat()
      const hit = await this.#bootstrap.dialBest(ranked, skip)
      if (hit === undefined || !this.#started || this.ctx.status !== 'running') return
      if (this.hv.isActive(hit.peer.id)) return
      this.ctx.metrics.inc('membership.store-refills')
      if (this.hv.activeSize === 0) this.run(this.hv.join(hit.peer.id, [hit.address]))
      else this.run(this.hv.requestNeighbor(hit.peer.id, [hit.address]))
    } finally {
      this.#refilling = false
    }
  }

  /** Called by the node for every frame received from `peer`: a heartbeat. */
  observe (peer: Peer): void {
    const now = this.ctx.clock.now()
    const wall = this.#wallNow()
    this.#quietest = Math.max(this.#quietest, wall - this.#heardAt)
    this.#heardAt = wall
    // only neighbours are watched: a link outside the view (kept for a while: hv.disc with
    // linger, a shuffle reply) goes quiet by design, and a detector that started on its first
    // frame declared it down and relinked it back into the view (a relay that evicted 57 pages
    // in a wave of 300 took them back, pages simulator)
    if (this.hv.isActive(peer.id)) this.fd.heartbeat(peer.id, now)
    if (this.#downPeers.delete(peer.id)) this.emitEvent('peer:up', { id: peer.id })
  }

  /** The first address `id` advertised (JOIN, NEIGHBOR), while it is in the active view. */
  advertisedAddress (id: PeerId): string | undefined { return this.hv.activeAddrs(id)?.[0] }

  /** Seeds failed: dials stored addresses in score order and joins through the first that answers. */
  async #joinStored (ranked?: PeerRecord[]): Promise<void> {
    const rows = this.#dialableRows(ranked ?? await this.#bootstrap.ranked())
    const seeds = this.seeds.flatMap(s => { try { return [parseAddress(s, 'tcp').address] } catch { return [] } })
    const hit = await this.#bootstrap.dialBest(rows, seeds)
    if (hit === undefined || this.ctx.status !== 'running' || this.hv.activeSize > 0) return
    this.run(this.hv.join(hit.peer.id, [hit.address]))
  }

  /** Peer-exchange stats: how many peers a membership message carried from (`rx`) or to (`tx`) `peer`. */
  #countExchange (peer: Peer, t: string, data: unknown, dir: 'rx' | 'tx'): void {
    const count = peersCarried(t, data)
    if (count === 0) return
    const address = this.ctx.statAddress(peer)
    if (address !== undefined) this.ctx.recordStat(address, { type: dir, count })
  }

  /** The overlay sent to `peer` (so the link is not idle). */
  sent (peer: PeerId): void { this.#lastSent.set(peer, this.ctx.clock.now()) }

  /**
   * JOINs through one seed: dials them in random order, the next one when the one before
   * failed or has not answered within SEED_HEAD_START_MS (a dead seed that drops packets costs
   * no more than that), and JOINs through the first that answers. Resolves with how many
   * answered (a seed answering after the JOIN went out is not asked: its link idles out).
   *
   * One JOIN, not one per seed: each JOIN starts up to 12 walks whose last nodes dial the
   * newcomer over WebRTC, and a page JOINing all R relays drew R times those dials while every
   * relay churned its view R times as fast; the routes back went stale and 36–41 % of all
   * dials failed `unreachable` (pages simulator, 1k pages, 2 and 4 relays). The random order
   * spreads pages configured alike over their relays (docs/decisions.md).
   */
  async #joinSeeds (): Promise<number> {
    const order = sample(this.ctx.random, this.seeds, this.seeds.length)
    let answered = 0
    let joined = false
    const attempts: Array<Promise<void>> = []
    await new Promise<void>((resolve) => {
      let next = 0
      const launch = (): void => {
        const seed = order[next++]
        if (seed === undefined || joined || !this.#started) return
        let moved = false
        const moveOn = (): void => { if (!moved) { moved = true; launch() } }
        const cancel = this.ctx.timers.after(SEED_HEAD_START_MS, moveOn)
        attempts.push(this.ctx.connect(seed).then((peer) => {
          answered++
          if (joined) return
          joined = true
          this.run(this.hv.join(peer.id, [parseAddress(seed, 'tcp').address]))
        }, (err: unknown) => {
          this.ctx.logger.debug('seed unreachable', { seed, err })
          moveOn()
        }).finally(() => {
          cancel()
          // done once a JOIN went out, or once every seed was tried and none is still dialling
          if (joined) resolve()
          else void settledAll().then(resolve)
        }))
      }
      const settledAll = async (): Promise<void> => {
        let n = -1
        // attempts started by moveOn() while waiting are awaited too
        while (n !== attempts.length) { n = attempts.length; await Promise.allSettled(attempts) }
      }
      launch()
      if (attempts.length === 0) resolve()
    })
    return answered
  }

  /** Whether this node announced that it is paused. */
  get paused (): boolean { return this.#paused }

  /**
   * Tells every neighbour that this node is paused (a hidden or frozen page, a machine about to
   * sleep: its timers may run late or not at all) or running again. A paused node's neighbours
   * tolerate up to `pausedToleranceMs` of silence from it instead of phi's few intervals. Resuming
   * also re-checks the links (`wake`).
   */
  setPaused (paused: boolean): void {
    if (paused !== this.#paused) {
      this.#paused = paused
      for (const id of this.hv.activeView().keys()) this.#sendTo(id, 'hs.pause', { paused })
    }
    if (!paused) this.wake()
  }

  #sendTo (id: PeerId, t: string, data: unknown): void {
    const peer = this.ctx.getPeer(id)
    if (peer !== undefined && this.ctx.send(peer, t, data)) this.sent(id)
  }

  /**
   * This node was not running for a while, or its network came back (a wake from sleep, a
   * frozen page resumed, `online`): no neighbour is declared down for the silence this node
   * could not hear (the failure detector starts afresh and declares the dead ones a few
   * intervals on), every neighbour gets a heartbeat now, and a node below `minPeers` refills, a
   * node alone rejoins, at once rather than after its backoff.
   */
  wake (): void {
    if (!this.#started || this.ctx.status !== 'running') return
    this.ctx.metrics.inc('membership.wakes')
    this.fd.grace(this.ctx.clock.now())
    for (const id of this.hv.activeIds()) this.#sendTo(id, 'hs.hb', null)
    this.#rejoinAttempt = 0
    this.#rejoinNow = true
    if (this.hv.activeSize === 0) {
      this.#cancelRejoin?.()
      this.#cancelRejoin = undefined
      this.#scheduleRejoin()
    } else if (this.hv.activeSize < this.opts.minPeers) {
      this.run(this.hv.tick())
    }
  }

  #heartbeats (): void {
    const now = this.ctx.clock.now()
    // Was this node away since the last tick (asleep, frozen, stalled)? Then the tick comes late
    // and no frame arrived for as long in between: peers beat every interval, and a node whose
    // timers merely run late (a hidden page, throttled to once a minute) still hears them. On
    // the wall clock: a suspended machine's monotonic clock may stand still.
    const wall = this.#wallNow()
    const late = 3 * this.opts.heartbeatInterval + 1_000
    if (wall - this.#tickAt > late && Math.max(this.#quietest, wall - this.#heardAt) > late) this.wake()
    this.#tickAt = this.#heardAt = wall
    this.#quietest = 0
    // the peers, not a copy of the view (addresses and all) every second on every node
    for (const id of this.hv.activeIds()) {
      const peer = this.ctx.getPeer(id)
      if (peer === undefined) continue
      if (!this.fd.has(id)) this.fd.heartbeat(id, now)
      // half an interval: a late timer tick must not turn into a missed beat at the far end
      if (now - (this.#lastSent.get(id) ?? 0) >= this.opts.heartbeatInterval / 2) {
        this.ctx.send(peer, 'hs.hb', null)
        this.#lastSent.set(id, now)
      }
    }
    const { down } = this.fd.check(now)
    // the view as it was before any of them is hung up (nothing above changes it)
    const active = down.length > 0 ? this.hv.activeView() : undefined
    for (const id of down) {
      const addrs = this.#dialable(id, active?.get(id) ?? [])
      if (addrs.length > 0) this.#lost.set(id, addrs, now)
      this.ctx.metrics.inc(this.fd.isPaused(id) ? 'peers.down-paused' : 'peers.down')
      this.#downPeers.add(id)
      this.ctx.logger.debug('peer down', { peer: id, addrs })
      this.emitEvent('peer:down', { id })
      void this.ctx.hangUp(id)
      this.#relink(id, addrs)
    }
  }

  /**
   * Where a neighbour can be dialled: the addresses the view has, else its link's if that names
   * it (`webrtc:<id>`) or this node dialled it there (an outbound link's address is the one that
   * worked; an inbound one's is the far end's ephemeral port). A relay whose view entry had no
   * address was otherwise never relinked after its failure detector gave up on it: the node
   * waited for its rejoin backoff (NAT recovery tests, issue 16).
   */
  #dialable (id: PeerId, addrs: string[], peer: Peer | undefined = this.ctx.getPeer(id)): string[] {
    if (addrs.length > 0) return addrs
    if (peer === undefined) return []
    return onlyWebrtc([peer.address]) || peer.link.direction === 'outbound' ? [peer.address] : []
  }

  /**
   * With overlay signalling (the full SDK; `hearsay/lite`, without WebRTC, relies on healing and
   * rejoin): dials a lost neighbour again at once, then after 1, 2, 4, 8 and 16 heartbeat intervals while it
   * fails (a network outage, a NAT that forgot its mappings: a fresh WebRTC session through the
   * overlay's signalling gathers new candidates and TURN allocations, which is what an ICE
   * restart would do). If the new link comes before the old one has closed it takes the old
   * one's place and the neighbour never leaves the view; else it rejoins it with a high-priority
   * NEIGHBOR. After the last attempt healing retries it (`#retryLost`).
   */
  #relink (id: PeerId, addrs: string[]): void {
    if (addrs.length > 0) this.opts.routes?.relink?.(id, async () => { if (this.#started) await this.#redial(id, addrs, 'membership.relinks', RELINK_DIAL_MS) }, this.opts.heartbeatInterval)
  }

  /** Dials a lost neighbour; if it answers and is not in the view, it is asked back with high priority (counted as `metric`). */
  async #redial (id: PeerId, addrs: string[], metric: string, timeout?: number): Promise<void> {
    this.#redialing.set(id, addrs, this.ctx.clock.now())
    let peer: Peer
    try {
      peer = await this.ctx.connect(addrs[0]!, { peerId: id, timeout })
    } catch (err) {
      this.#redialing.delete(id)
      throw err
    }
    this.#lost.delete(id)
    this.ctx.metrics.inc(metric)
    if (this.ctx.status === 'running' && !this.hv.isActive(peer.id)) this.run(this.hv.requestNeighbor(peer.id, addrs, 'high'))
  }

  #heal (): void {
    const now = this.ctx.clock.now()
    const suspicious = this.#lost.keys(now).length > 0 || this.hv.activeSize < this.opts.minPeers || this.opts.lostRoot?.() === true
    this.#retryLost()
    // A node with a reason to doubt its overlay probes a seed every period; probing from every
    // node every period would load the seeds linearly with the network (2,248 probes in 94 s at
    // 1k). But a split with no failure in it (halves that formed apart, every node at minPeers
    // or more) gives no node a reason, and HyParView alone never bridges it (testnet test), so a
    // healthy node probes too, once in HEALTHY_PROBE_ODDS periods on average; a seed in another
    // component (another Plumtree root) then takes it in (HyParView's `component`). A node that
    // lost its relay's beacons (`lostRoot`) has a reason: a 6-page island that formed as views
    // changed went 120 s unbridged at those odds, and missed every broadcast (mesh, 300 peers).
    if (suspicious || this.ctx.random.float() * HEALTHY_PROBE_ODDS < 1) this.#probeSeed()
  }

  #retryLost (): void {
    const now = this.ctx.clock.now()
    const ids = this.#lost.keys(now)
    const id = ids[Math.floor(this.ctx.random.float() * ids.length)]
    if (id === undefined) return
    const addrs = this.#lost.get(id, now) ?? []
    if (this.hv.isActive(id) || addrs.length === 0) { this.#lost.delete(id); return }
    // if it answers, the partition is over: one forced bridge
    this.#redial(id, addrs, 'membership.heals').catch(() => {})
  }

  #probeSeed (): void {
    // a seed outside the active view may have room: a low-priority request never evicts
    const active = this.hv.activeView()
    const seed = this.seeds[Math.floor(this.ctx.random.float() * this.seeds.length)]
    if (seed === undefined) return
    const parsed = parseAddress(seed, 'tcp').address
    for (const [id, addrs] of active) if (addrs.includes(parsed) || this.ctx.getPeer(id)?.address === parsed) return
    this.ctx.connect(seed).then((peer) => {
      if (!this.hv.isActive(peer.id)) {
        this.ctx.metrics.inc('membership.seed-probes')
        this.run(this.hv.requestNeighbor(peer.id, [parsed]))
      }
    }, () => {})
  }

  #scheduleRejoin (): void {
    if (this.#cancelRejoin !== undefined) return
    const base = Math.min(this.opts.rejoinMaxDelay, this.opts.rejoinDelay * 2 ** this.#rejoinAttempt)
    const delay = this.#rejoinNow ? 0 : base * (0.5 + this.ctx.random.float())
    this.#rejoinNow = false
    this.#rejoinAttempt++
    this.#cancelRejoin = this.ctx.timers.after(delay, () => {
      this.#cancelRejoin = undefined
      const alone = (): boolean => this.#started && this.ctx.status === 'running' && this.hv.activeSize === 0
      if (!alone()) return
      this.ctx.metrics.inc('membership.rejoins')
      void this.#joinSeeds().then(async (answered) => {
        // A seed that answered has this node's JOIN, whose answer ends the isolation (a relay
        // takes every JOIN, shedding an older page when full): stored addresses are only for
        // seeds that do not answer, and nothing here may tick HyParView, whose second tick gives
        // the JOIN up and closes its link. Retrying a loaded relay every second or two did
        // that, each attempt killing the one before, so pages stayed alone for minutes (mesh
        // run at load 25; page-rejoin.test.ts).
        if (alone() && answered === 0) await this.#joinStored()
        if (alone()) {
          this.run(this.hv.refill())
          this.#scheduleRejoin()
        }
      })
    })
  }

  /** Executes HyParView's actions on the node. */
  run (actions: HyParViewAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send': {
          const peer = this.ctx.getPeer(a.to)
          if (peer !== undefined) { this.#overlayLinks.add(a.to); this.#sendMsg(peer, a.msg) } else this.ctx.metrics.drop('overlay-no-link')
          break
        }
        case 'connect': this.#connect(a.peer, a.addrs, a.msg); break
        case 'disconnect': {
          const peer = this.ctx.getPeer(a.peer)
          // a lost neighbour dialled again keeps the link: HyParView closes it as soon as it is
          // up when a SHUFFLE_REPLY to that peer shared the dial ("the link existed only to
          // carry the reply", and the relink's NEIGHBOR found the reply pending and was not
          // sent): the new link closed as it opened, and the relink, its dial done, ended
          // (NAT recovery tests, issue 16)
          if (peer === undefined || !this.#overlayLinks.has(a.peer)) break
          const wanted = this.#redialing.get(a.peer, this.ctx.clock.now())
          if (wanted !== undefined) {
            // (HyParView counts it closed: ask the peer back into the view over it)
            this.#redialing.delete(a.peer)
            this.run(this.hv.requestNeighbor(a.peer, wanted, 'high'))
            break
          }
          if (a.msg !== undefined) this.#sendMsg(peer, a.msg)
          void this.ctx.hangUp(peer)
          break
        }
        case 'active':
          if (a.up) {
            this.#redialing.delete(a.peer)
            this.fd.heartbeat(a.peer, this.ctx.clock.now())
            // a neighbour gained while paused must know it, or it would give up on this node
            if (this.#paused) this.#sendTo(a.peer, 'hs.pause', { paused: true })
          } else this.fd.remove(a.peer)
          this.onActive(a.peer, a.up)
          break
        case 'learned': {
          const entries = a.peers.flatMap(p => p.addrs.slice(0, 4).map(address => ({ address, peerId: p.id })))
          // gossip is unauthenticated: made-up peers must not grow the store past its bound
          const room = this.ctx.reserveStoreRows(entries.length)
          if (room < entries.length) this.ctx.metrics.inc('membership.learned-skipped', entries.length - room)
          if (room > 0) {
            this.ctx.metrics.inc('membership.learned', room)
            this.ctx.store.save(entries.slice(0, room)).catch(() => { this.ctx.metrics.inc('store.errors') })
          }
          break
        }
      }
    }
  }

  #sendMsg (peer: Peer, msg: HyParViewMsg): void {
    const { t, ...rest } = msg
    if (this.ctx.send(peer, t, rest)) {
      this.sent(peer.id)
      this.#countExchange(peer, t, rest, 'tx')
    }
  }

  #connect (id: PeerId, addrs: string[], msg: HyParViewMsg): void {
    const existing = this.ctx.getPeer(id)
    const linked = (peer: Peer): void => {
      if (!this.#started || this.ctx.status !== 'running') return
      this.#overlayLinks.add(peer.id)
      this.#sendMsg(peer, msg)
      this.run(this.hv.onLinkUp(peer.id, addrs, 'self'))
    }
    if (existing !== undefined) { linked(existing); return }
    const tryAddr = (i: number): void => {
      const addr = addrs[i]
      if (addr === undefined) { this.run(this.hv.onConnectFailed(id)); return }
      this.ctx.connect(addr, { peerId: id }).then(linked, () => {
        if (this.ctx.status === 'running') tryAddr(i + 1)
      })
    }
    tryAddr(0)
  }
}
