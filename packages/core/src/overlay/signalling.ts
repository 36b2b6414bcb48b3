import { encodeEnvelope } from '../wire/envelope.js'
import { ExpiringMap } from '../util/expiring-map.js'
import { DedupCache } from './dedup-cache.js'
import { isPeerId } from '../wire/identity.js'
import type { PeerId } from '../wire/identity.js'
import type { OverlayContext } from './context.js'
import type { Peer } from '../link/peer.js'
import { isSessionId, parseSignalErrorFrame, parseSignalFrame, SIGNAL_HOPS } from './signal-frames.js'
import type { SignalErrorFrame, SignalFrame } from './signal-frames.js'
import type { SignalFailure, SignalFailureCode, SignalHandlers, SignalRouter } from '../link/transport.js'

/** Bounds of overlay signalling. Every cache is bounded by count and age. */
export const SIGNAL_DEFAULTS = Object.freeze({
  /** Next hops remembered (target → the neighbour its signals came through). */
  maxRoutes: 1024,
  /** How long a learned next hop is used, ms. */
  routeTtl: 10 * 60_000,
  /** Neighbours asked at once to forward the first signal to a peer with no known route. */
  maxProbes: 8,
  /** How long signals wait for a route before their sessions fail as `unreachable`, ms. */
  probeTimeout: 15_000,
  /** Targets with signals waiting for a route. */
  maxQueuedTargets: 64,
  /** Signals waiting for one target. */
  maxQueuedPerTarget: 128,
  /** Signals waiting for all targets together. */
  maxQueued: 1024,
  /** Signal ids remembered to drop the copies that several forwarders deliver. */
  dedupEntries: 4096,
  dedupAgeMs: 120_000
})

export type SignalOptions = typeof SIGNAL_DEFAULTS

interface Pending {
  /** Signals waiting for a route; each session's first one goes out as a probe. */
  queue: SignalFrame[]
  /** The queued frames that went out as probes (so the flush does not send them twice). */
  probed: Set<SignalFrame>
  /** Neighbours the probe went to that have not reported `unreachable`. */
  probes: Set<PeerId>
  /** Neighbours asked so far; at most `maxProbes`. */
  asked: number
  cancel: () => void
}

/**
 * Routes `rtc.signal` / `rtc.error` frames (docs/protocol.md, "WebRTC signalling") for the
 * transports that need them. A signal goes straight to a neighbour, else through a learned next
 * hop (the neighbour the target's own signals came through, or the one the overlay heard of it
 * from: `learnRoute`), else it probes: the first signal goes to several neighbours, and the later
 * signals wait until the target's answer shows the route. Every node forwards a frame that is not
 * for it the same way (neighbour, else learned next hop), up to `SIGNAL_HOPS` forwards, or
 * answers `unreachable`; its only state is the bounded route table.
 */
/**
 * How long a forwarder holds a signal for a target it has no way to, ms, in case the target is
 * connecting to it right now: a page holds its link to a relay a moment before the relay does
 * (the relay still verifies its last handshake message), and a page that dialled it in that
 * moment heard `unreachable` (the e2e WebRTC test did, about one run in three under load).
 */
export const SIGNAL_HOLD_MS = 500
/** Signals held at once (`SIGNAL_HOLD_MS`); past it a forwarder answers `unreachable` at once. */
const MAX_HELD = 256

/** Relink dials, in heartbeat intervals after the previous one failed (`SignalService.relink`). */
const RELINK_DELAYS = [0, 1, 2, 4, 8, 16]

/** One lost neighbour's relink: cancels its next attempt. */
interface Relink { cancel: () => void }

export class SignalService implements SignalRouter {
  #handlers: SignalHandlers | undefined
  readonly #routes: ExpiringMap<PeerId, PeerId>
  readonly #seen: DedupCache
  readonly #pending = new Map<PeerId, Pending>()
  /**
   * The probes still out when a target's route was found (target → `link sid` of each probe that
   * has not reported): their `unreachable` only says that one of the ways failed, not the session.
   */
  readonly #probesLeft: ExpiringMap<PeerId, Set<string>>
  #queued = 0
  #seq = 0
  /** Lost neighbours being relinked (`relink`), each with the cancel of its next attempt. */
  readonly #relinking = new Map<PeerId, Relink>()
  /** Signals held for a target that may be connecting (`SIGNAL_HOLD_MS`), by target. */
  readonly #held = new Map<PeerId, Array<{ link: Peer, f: SignalFrame }>>()
  #heldCount = 0

  constructor (private readonly ctx: OverlayContext, private readonly opts: SignalOptions = SIGNAL_DEFAULTS) {
    this.#routes = new ExpiringMap(opts.maxRoutes, opts.routeTtl)
    this.#seen = new DedupCache({ maxEntries: opts.dedupEntries, maxAgeMs: opts.dedupAgeMs })
    this.#probesLeft = new ExpiringMap(opts.maxQueuedTargets, opts.probeTimeout)
    ctx.handle('rtc.signal', (peer, data) => { this.#onSignalFrame(peer, data) })
    ctx.handle('rtc.error', (peer, data) => { this.#onErrorFrame(peer, data) })
    ctx.on('peer:disconnect', ({ peer }) => { this.#linkDown(peer.id) })
    ctx.on('peer:connect', (peer) => { this.#linkUp(peer) })
    // the node's timers stop with it, so what waits on them would never end: a restarted node
    // must not start with held signals counted against MAX_HELD or targets still "pending"
    ctx.onEveryStop(() => { this.#forget() })
  }

  #forget (): void {
    for (const p of this.#pending.values()) p.cancel()
    this.#pending.clear()
    this.#queued = 0
    for (const r of this.#relinking.values()) r.cancel()
    this.#relinking.clear()
    this.#held.clear()
    this.#heldCount = 0
  }

  /**
   * Membership lost neighbour `id` (its failure detector, or a link that failed): `dial` it at
   * once, then RELINK_DELAYS heartbeat intervals after each failure, then leave it to healing.
   * Here, with the signalling, because relinking matters most for WebRTC links (a new session
   * through these signals stands in for an ICE restart) and keeps it out of `hearsay/lite`.
   * A link to `id` that comes up by any way (this relink's dial, the peer's own, a rejoin) ends
   * the relink: the next loss starts again at once. Left running, a relink that had backed off
   * (16 intervals) swallowed the next loss of a link it no longer needed to make, and that loss
   * waited for the backoff (the NAT recovery tests' symmetric pair, issue 16).
   */
  relink (id: PeerId, dial: () => Promise<unknown>, intervalMs: number): void {
    if (this.#relinking.has(id)) { this.ctx.logger.debug('relink under way already', { peer: id }); return }
    const run: Relink = { cancel: () => {} }
    this.#relinking.set(id, run)
    const attempt = (n: number): void => {
      const after = RELINK_DELAYS[n]
      if (after === undefined) { this.#endRelink(id, run); return }
      // the node's timers stop with it
      run.cancel = this.ctx.timers.after(after * intervalMs, () => {
        dial().then(() => { this.#endRelink(id, run) }, (err: unknown) => {
          if (this.#relinking.get(id) !== run) return
          this.ctx.logger.debug('relink dial failed', { peer: id, attempt: n, err })
          attempt(n + 1)
        })
      })
    }
    attempt(0)
  }

  #endRelink (id: PeerId, run: Relink): void {
    if (this.#relinking.get(id) !== run) return
    run.cancel()
    this.#relinking.delete(id)
  }

  setHandlers (handlers: SignalHandlers): () => void {
    if (this.#handlers !== undefined) throw new TypeError('signal handlers are already set: one transport signals per node')
    this.#handlers = handlers
    return () => { if (this.#handlers === handlers) this.#handlers = undefined }
  }

  send (to: PeerId, session: string, data: unknown): void {
    const self = this.ctx.id
    this.#check(to, session)
    const frame: SignalFrame = { from: self, to, sid: session, n: this.#seq++, hops: SIGNAL_HOPS, data }
    // the size check the caller should see, before anything is queued
    encodeEnvelope({ type: 'rtc.signal', data: frame }, this.ctx.limits)
    this.ctx.metrics.inc('rtc.signals.out')
    const next = this.#nextHop(to)
    if (next !== undefined && this.ctx.send(next, 'rtc.signal', frame)) return
    this.#enqueue(to, frame)
  }

  /**
   * The overlay heard of `target` from neighbour `via` (a walk or peer list it sent): signals for
   * `target` may go through `via`. Only a missing or dead route is set, so that routes proven by
   * signals are kept and a walk's first visit wins (see `observe`).
   */
  learnRoute (target: PeerId, via: PeerId): void {
    if (target === via || target === this.ctx.id || via === this.ctx.id || this.ctx.getPeer(via) === undefined) return
    const now = this.ctx.clock.now()
    const known = this.#routes.get(target, now)
    if (known !== undefined && this.ctx.getPeer(known) !== undefined) return
    this.#routes.set(target, via, now)
  }

  /**
   * Routes a membership message (`hv.*`, type `t`) from neighbour `from` shows, learned before
   * HyParView checks it (a route is only a next hop to try, and the table is bounded): the
   * newcomer of a FORWARD_JOIN and the origin of a SHUFFLE are reachable back along the walk,
   * through `from`; the peers a refusal or a step back lists are `from`'s neighbours (those a
   * SHUFFLE or its reply lists are only known to someone: no route). A live route is never replaced: a walk can pass a node twice, and the second
   * visit's `from` would point the route into a loop; the first visit's points back toward an
   * earlier node of the walk.
   */
  observe (from: PeerId, t: string, data: unknown): void {
    if (typeof data !== 'object' || data === null) return
    const d = data as Record<string, unknown>
    if (t === 'hv.fjoin' && isPeerId(d.newId)) this.learnRoute(d.newId, from)
    if (t === 'hv.shuffle' && isPeerId(d.origin)) this.learnRoute(d.origin, from)
    // the peers a refusal or a step back offers are the sender's neighbours; those of a SHUFFLE
    // (the origin's sample, carried by forwarders that need not know them) and of its reply (the
    // replier's passive view) are no route: a signal sent that way met a forwarder with no way
    // on (pages simulator, 300 pages: 23-33 % of the steady phase's dials failed `unreachable`)
    if ((t === 'hv.nbr-reply' || t === 'hv.sb') && Array.isArray(d.peers)) {
      for (const e of d.peers.slice(0, 64) as unknown[]) {
        const id = (e as { id?: unknown } | null)?.id
        if (isPeerId(id)) this.learnRoute(id, from)
      }
    }
  }

  /**
   * Whether this node can dial `webrtc:<target>` now: it has a transport that takes signals (a
   * relay without WebRTC has none: it only forwards) and a signal for `target` has a way to go, a
   * link to it or a learned next hop. Membership dials and relinks `webrtc:` peers only then (a
   * relay relinking pages' `webrtc:` addresses got NoTransportError).
   */
  canSignal (target: PeerId): boolean {
    return this.#handlers !== undefined && this.#nextHop(target) !== undefined
  }

  fail (to: PeerId, session: string, code: SignalFailureCode): void {
    const self = this.ctx.id
    this.#check(to, session)
    const frame: SignalErrorFrame = { from: self, to, sid: session, hops: SIGNAL_HOPS, code, peer: self }
    this.ctx.metrics.inc('rtc.errors.out')
    const next = this.#nextHop(to)
    if (next !== undefined && this.ctx.send(next, 'rtc.error', frame)) return
    const p = this.#pending.get(to)
    if (p === undefined) { this.ctx.metrics.drop('rtc-no-route'); return }
    // still probing: the session's waiting signals are void; its probe may have got through
    const kept = p.queue.filter(f => p.probed.has(f) || f.sid !== session)
    this.#queued -= p.queue.length - kept.length
    p.queue = kept
    for (const id of p.probes) {
      const peer = this.ctx.getPeer(id)
      if (peer !== undefined) this.ctx.send(peer, 'rtc.error', frame)
    }
  }

  #check (to: PeerId, session: string): void {
    if (!isPeerId(to)) throw new TypeError('not a peer id')
    if (to === this.ctx.id) throw new TypeError('a node cannot signal itself')
    if (!isSessionId(session)) throw new TypeError('a session id is a string of 1 to 64 characters')
  }

  /** The neighbour a message to `to` leaves through: `to` itself, or the learned route (never `not`, the link it came on). */
  /** A link that is closing (still listed until its close is reported) is no way on: a frame sent on it is lost. */
  #nextHop (to: PeerId, not?: PeerId): Peer | undefined {
    const direct = this.ctx.getPeer(to)
    if (direct?.connected === true) return direct
    const via = this.#routes.get(to, this.ctx.clock.now())
    if (via === undefined || via === not) return undefined
    const peer = this.ctx.getPeer(via)
    if (peer?.connected === true) return peer
    this.#routes.delete(to)
    return undefined
  }

  #enqueue (to: PeerId, frame: SignalFrame): void {
    const waiting = this.#pending.get(to)
    if (waiting !== undefined) {
      if (waiting.queue.length >= this.opts.maxQueuedPerTarget || this.#queued >= this.opts.maxQueued) {
        this.ctx.metrics.drop('rtc-queue-full')
        this.#failLater({ from: to, session: frame.sid, code: 'busy' })
        return
      }
      const opens = !waiting.queue.some(f => f.sid === frame.sid)
      waiting.queue.push(frame)
      this.#queued++
      // a new session does not wait for another one's route: it probes the same neighbours
      if (opens) for (const id of waiting.probes) this.#sendProbe(waiting, frame, id)
      return
    }
    if (this.#pending.size >= this.opts.maxQueuedTargets || this.#queued >= this.opts.maxQueued) {
      this.ctx.metrics.drop('rtc-queue-full')
      this.#failLater({ from: to, session: frame.sid, code: 'busy' })
      return
    }
    // with no peer yet (a node still connecting to its seeds) the signals wait for the first one
    const probes = this.#pickProbes()
    const cancel = this.ctx.timers.after(this.opts.probeTimeout, () => { this.#failPending(to, 'unreachable') })
    const p: Pending = { queue: [frame], probed: new Set(), probes: new Set(), asked: 0, cancel }
    this.#pending.set(to, p)
    this.#queued++
    for (const peer of probes) this.#probe(p, peer)
  }

  /** Asks `peer` to forward the first signal of every waiting session. */
  #probe (p: Pending, peer: Peer): void {
    p.probes.add(peer.id)
    p.asked++
    const firsts = new Set<string>()
    for (const f of p.queue) {
      if (firsts.has(f.sid)) continue
      firsts.add(f.sid)
      this.#sendProbe(p, f, peer.id)
    }
  }

  #sendProbe (p: Pending, f: SignalFrame, to: PeerId): void {
    const peer = this.ctx.getPeer(to)
    if (peer === undefined) return
    this.ctx.metrics.inc('rtc.probes')
    p.probed.add(f)
    this.ctx.send(peer, 'rtc.signal', f)
  }

  #pickProbes (): Peer[] {
    const peers = this.ctx.peers()
    // a partial Fisher-Yates shuffle on the injected random source
    for (let i = 0; i < Math.min(peers.length, this.opts.maxProbes); i++) {
      const j = i + Math.floor(this.ctx.random.float() * (peers.length - i))
      const t = peers[i]!
      peers[i] = peers[j]!
      peers[j] = t
    }
    return peers.slice(0, this.opts.maxProbes)
  }

  #onSignalFrame (link: Peer, data: unknown): void {
    const f = parseSignalFrame(data)
    if (f === undefined) { this.ctx.metrics.drop('rtc-invalid'); return }
    const self = this.ctx.id
    if (f.to !== self) { this.#forward(link, 'rtc.signal', f); return }
    if (f.from === self) { this.ctx.metrics.drop('rtc-invalid'); return }
    this.#learn(f.from, link)
    if (!this.#seen.add(`${f.from}/${f.sid}/${f.n}`, this.ctx.clock.now())) { this.ctx.metrics.drop('rtc-duplicate'); return }
    this.ctx.metrics.inc('rtc.signals.in')
    if (this.#handlers === undefined) {
      // nothing here speaks WebRTC: the dialler hears it at once instead of waiting for a timeout
      this.ctx.metrics.drop('rtc-unhandled')
      this.fail(f.from, f.sid, 'refused')
      return
    }
    this.#handlers.onSignal({ from: f.from, session: f.sid, data: f.data })
  }

  #onErrorFrame (link: Peer, data: unknown): void {
    const f = parseSignalErrorFrame(data)
    if (f === undefined) { this.ctx.metrics.drop('rtc-invalid'); return }
    if (f.to !== this.ctx.id) { this.#forward(link, 'rtc.error', f); return }
    if (f.from === this.ctx.id) { this.ctx.metrics.drop('rtc-invalid'); return }
    this.ctx.metrics.inc('rtc.errors.in')
    if (f.from === f.peer) {
      // the far end itself gave the session up
      this.#learn(f.from, link)
      this.#deliver({ from: f.from, session: f.sid, code: f.code })
      return
    }
    // a forwarder on the way reports that it cannot reach `peer`: the probe through `link` failed
    const p = this.#pending.get(f.peer)
    if (p !== undefined) {
      if (p.probes.delete(link.id) && p.probes.size === 0) this.#failPending(f.peer, f.code)
      return
    }
    // a probe that failed after another one found the target: the session goes on the other way
    if (this.#probesLeft.get(f.peer, this.ctx.clock.now())?.delete(`${link.id} ${f.sid}`) === true) { this.ctx.metrics.drop('rtc-probe-late'); return }
    if (this.#routes.get(f.peer, this.ctx.clock.now()) === link.id) this.#routes.delete(f.peer)
    this.#deliver({ from: f.peer, session: f.sid, code: f.code })
  }

  /**
   * Forwards a frame one hop closer to its target: to the target if it is a neighbour, else to
   * the learned next hop (not back where it came from), with one hop less. The way back to
   * `from` is learned on the way. A frame fresh from its sender (all its hops left) must come on
   * that sender's own link: a neighbour cannot start a signal in another peer's name. Farther on,
   * `from` is as good as the forwarders; the WebRTC link's own handshake proves the ids.
   */
  #forward (link: Peer, type: 'rtc.signal' | 'rtc.error', f: SignalFrame | SignalErrorFrame): void {
    if (f.from === this.ctx.id) { this.ctx.metrics.drop('rtc-loop'); return }
    if (f.hops >= SIGNAL_HOPS && f.from !== link.id) { this.ctx.metrics.drop('rtc-spoofed'); return }
    // the way this frame came is the proven way back for the answer: it replaces an older route
    this.#learn(f.from, link)
    let next = f.hops < 1 ? undefined : this.#nextHop(f.to, link.id)
    // the sender itself is no way on: it would only drop its own frame
    if (next?.id === f.from) next = undefined
    if (next !== undefined && this.ctx.send(next, type, { ...f, hops: f.hops - 1 })) {
      this.ctx.metrics.inc('rtc.forwarded')
      if (next.id !== f.to) this.ctx.metrics.inc('rtc.forwarded-routed')
      return
    }
    if (next === undefined && f.hops >= 1 && type === 'rtc.signal' && this.#hold(link, f as SignalFrame)) return
    // no way on, or the way on closed under the send (counted as send-closed): either way the
    // sender hears at once, back the way the signal came, instead of waiting out its dial
    if (next === undefined) this.ctx.metrics.drop(f.hops < 1 ? 'rtc-hops' : 'rtc-no-route')
    if (type === 'rtc.signal') this.#unreachable(link, f)
  }

  #unreachable (link: Peer, f: SignalFrame | SignalErrorFrame): void {
    const reply: SignalErrorFrame = { from: this.ctx.id, to: f.from, sid: f.sid, hops: SIGNAL_HOPS, code: 'unreachable', peer: f.to }
    this.ctx.send(link, 'rtc.error', reply)
  }

  /** Holds a signal for SIGNAL_HOLD_MS in case its target is connecting; false when too many are held. */
  #hold (link: Peer, f: SignalFrame): boolean {
    if (this.#heldCount >= MAX_HELD) return false
    const entry = { link, f }
    const list = this.#held.get(f.to) ?? []
    list.push(entry)
    this.#held.set(f.to, list)
    this.#heldCount++
    this.ctx.metrics.inc('rtc.held')
    this.ctx.timers.after(SIGNAL_HOLD_MS, () => {
      const now = this.#held.get(f.to)
      const i = now?.indexOf(entry) ?? -1
      if (i < 0) return
      now!.splice(i, 1)
      if (now!.length === 0) this.#held.delete(f.to)
      this.#heldCount--
      this.ctx.metrics.drop('rtc-no-route')
      this.#unreachable(link, f)
    })
    return true
  }

  /** A frame from `from` came through `link`: that is the way back, and the way for waiting signals. */
  #learn (from: PeerId, link: Peer): void {
    if (link.id !== from) this.#routes.set(from, link.id, this.ctx.clock.now())
    const p = this.#pending.get(from)
    if (p === undefined) return
    this.#resolved(from, p, link.id)
    // the probes went out already (a copy that also arrives here is dropped as a duplicate)
    for (const f of p.queue) if (!p.probed.has(f)) this.ctx.send(link, 'rtc.signal', f)
  }

  /** `target`'s route is found (through `via`): its signals stop waiting; the probes still out are remembered. */
  #resolved (target: PeerId, p: Pending, via: PeerId): void {
    this.#pending.delete(target)
    p.cancel()
    this.#queued -= p.queue.length
    const left = new Set<string>()
    for (const id of p.probes) {
      if (id === via) continue
      for (const f of p.probed) left.add(`${id} ${f.sid}`)
    }
    if (left.size > 0) this.#probesLeft.set(target, left, this.ctx.clock.now())
  }

  #failPending (target: PeerId, code: SignalFailureCode): void {
    const p = this.#pending.get(target)
    if (p === undefined) return
    this.#pending.delete(target)
    p.cancel()
    this.#queued -= p.queue.length
    this.ctx.metrics.inc('rtc.unreachable')
    for (const session of new Set(p.queue.map(f => f.sid))) this.#deliver({ from: target, session, code })
  }

  /** A neighbour arrived: signals that waited for one (none was connected) probe it. */
  #linkUp (peer: Peer): void {
    const relink = this.#relinking.get(peer.id)
    if (relink !== undefined) this.#endRelink(peer.id, relink)
    const held = this.#held.get(peer.id)
    if (held !== undefined) {
      // it was connecting: what waited for it goes on now
      this.#held.delete(peer.id)
      this.#heldCount -= held.length
      for (const { f } of held) {
        if (this.ctx.send(peer, 'rtc.signal', { ...f, hops: f.hops - 1 })) this.ctx.metrics.inc('rtc.held-forwarded')
      }
    }
    for (const [target, p] of [...this.#pending]) {
      if (target === peer.id) {
        // the target itself connected: everything goes straight to it (a copy of the probe that
        // also arrived through a neighbour is dropped there as a duplicate)
        this.#resolved(target, p, peer.id)
        for (const f of p.queue) this.ctx.send(peer, 'rtc.signal', f)
        continue
      }
      if (p.probes.size === 0 && p.asked < this.opts.maxProbes) this.#probe(p, peer)
    }
  }

  #linkDown (id: PeerId): void {
    for (const [target, p] of [...this.#pending]) {
      if (p.probes.delete(id) && p.probes.size === 0) this.#failPending(target, 'unreachable')
    }
  }

  /** Failures found while `send` runs are reported after it returns, as those from the network are. */
  #failLater (f: SignalFailure): void {
    queueMicrotask(() => { this.#deliver(f) })
  }

  #deliver (f: SignalFailure): void {
    const h = this.#handlers
    if (h === undefined) return
    try { h.onFailure(f) } catch (err) {
      this.ctx.metrics.drop('handler-error')
      this.ctx.logger.warn('a signal failure handler threw', { err })
    }
  }
}

/**
 * Signalling through the overlay (`rtc.signal` / `rtc.error`) as a node option: a node with it
 * forwards signals for its neighbours and gives its transports a `SignalRouter` (WebRTC needs
 * one). `@hearsay/core`'s and `hearsay`'s `createNode()` set it; `hearsay/lite`'s does not (a
 * node with no WebRTC, linked only to servers, is nobody's signalling path), which keeps it out
 * of that bundle.
 */
export function overlaySignalling (options: SignalOptions = SIGNAL_DEFAULTS): (ctx: OverlayContext) => SignalRouter {
  return (ctx) => new SignalService(ctx, options)
}
