import type { PeerId } from '../wire/identity.js'
import type { BroadcastLimits, BroadcastResult, Broadcaster, FloodBroadcast, SendAction } from './broadcast.js'
import { checkBroadcastArgs, parseGossip, resolveLimits } from './broadcast.js'
import { DedupCache } from './dedup-cache.js'
import type { Drops } from './validate.js'
import { countDrop, isInt, isRecord } from './validate.js'

/**
 * The baseline: every new message goes to every neighbour but the one it came from. Costs
 * about (degree − 1) × n messages per broadcast but needs no tree, so it is the reference the
 * Plumtree mode is measured against and a fallback when the overlay churns too fast for a tree.
 */
/** `a`, on a catch-up push to a new neighbour only: how many ms ago the sender saw the message. */
export interface FloodMsg { t: 'fl.gossip', id: string, hops: number, limit: number, payload: unknown, a?: number }

export interface FloodOptions extends BroadcastLimits {
  self: PeerId
  /**
   * A new neighbour gets the messages this node saw in the last `catchUpMs` (at most
   * `catchUpMaxMessages`, the newest), pushed again with their ages; it keeps those that came
   * after it first had a neighbour. The two ends of a link take it into their views a round trip
   * apart, and a message sent in between would miss one of them; a member that lost its only
   * link gets what was said meanwhile (see Plumtree's `catchUpMs`). Shorter than Plumtree's:
   * flood pushes the payloads themselves to every new neighbour. 0 turns it off.
   * @default 3000
   */
  catchUpMs?: number
  /** @default 256 */
  catchUpMaxMessages?: number
}

/**
 * `broadcast: flood()`: every node of a network must use the same mode. `createNode` of
 * `@hearsay/core` and `hearsay` also take `broadcast: 'flood'`; `hearsay/lite`'s needs this.
 */
export function flood (): FloodBroadcast {
  return { mode: 'flood', create: (opts) => new Flood(opts) as unknown as Broadcaster<{ t: string }> }
}

interface Recent { id: string, hops: number, limit: number, payload: unknown, at: number }

export class Flood implements Broadcaster<FloodMsg> {
  readonly self: PeerId
  readonly drops: Drops = {}
  readonly #limits: Required<BroadcastLimits>
  readonly #neighbors = new Set<PeerId>()
  readonly #seen: DedupCache
  readonly catchUpMs: number
  readonly #catchUpMax: number
  /** Messages seen in the last `catchUpMs`, oldest first. */
  readonly #recent: Recent[] = []
  /** New neighbours and the messages they are to get at the next tick. */
  readonly #catchUp = new Map<PeerId, Recent[]>()
  /** When this node first had a neighbour (Plumtree's `catchUpMs`: the claim to a catch-up). */
  #memberSince: number | undefined
  #lastNow = 0

  constructor (opts: FloodOptions) {
    this.self = opts.self
    this.#limits = resolveLimits(opts)
    this.#seen = new DedupCache({ maxEntries: this.#limits.seenMaxEntries, maxAgeMs: this.#limits.seenMaxAgeMs })
    this.catchUpMs = opts.catchUpMs ?? 3000
    if (!(Number.isFinite(this.catchUpMs) && this.catchUpMs >= 0)) throw new TypeError('catchUpMs must be a finite number >= 0')
    this.#catchUpMax = opts.catchUpMaxMessages ?? 256
    if (!isInt(this.#catchUpMax, 1, Number.MAX_SAFE_INTEGER)) throw new TypeError('catchUpMaxMessages must be a positive integer')
  }

  /** `now` defaults to the latest time any call brought; a node passes its clock's. */
  neighborUp (peer: PeerId, now = this.#lastNow): void {
    if (peer === this.self || this.#neighbors.has(peer)) return
    this.#neighbors.add(peer)
    this.#lastNow = now
    this.#memberSince ??= now
    this.#forget(now)
    // taken now: what comes later reaches the new neighbour by the usual push
    if (this.#recent.length > 0) this.#catchUp.set(peer, [...this.#recent])
  }

  neighborDown (peer: PeerId): void {
    this.#neighbors.delete(peer)
    this.#catchUp.delete(peer)
  }

  broadcast (id: string, payload: unknown, limit: number, now: number): BroadcastResult<FloodMsg> {
    checkBroadcastArgs(id, limit, this.#limits)
    this.#lastNow = now
    if (!this.#seen.add(id, now) || limit === 0) return { actions: [] }
    this.#remember({ id, hops: 0, limit, payload, at: now })
    return { actions: this.#forward({ t: 'fl.gossip', id, hops: 1, limit, payload }, undefined) }
  }

  onMessage (from: PeerId, msg: unknown, now: number): BroadcastResult<FloodMsg> {
    if (!isRecord(msg) || msg.t !== 'fl.gossip') { countDrop(this.drops, isRecord(msg) && typeof msg.t === 'string' ? 'unknown-type' : 'malformed'); return { actions: [] } }
    const g = parseGossip(msg, this.#limits)
    if (typeof g === 'string') { countDrop(this.drops, g); return { actions: [] } }
    this.#lastNow = now
    if (msg.a !== undefined) {
      if (!isInt(msg.a, 0, 2 ** 31 - 1)) { countDrop(this.drops, 'malformed'); return { actions: [] } }
      // seen by the sender before this node first had a neighbour: news from before it was here
      if (this.#seen.has(g.id, now)) { countDrop(this.drops, 'duplicate'); return { actions: [] } }
      if (msg.a > now - (this.#memberSince ?? now)) { countDrop(this.drops, 'catch-up-before-join'); return { actions: [] } }
    }
    if (!this.#seen.add(g.id, now)) { countDrop(this.drops, 'duplicate'); return { actions: [], duplicate: { id: g.id, from } } }
    if (g.hops < g.limit) this.#remember({ id: g.id, hops: g.hops, limit: g.limit, payload: g.payload, at: now })
    const actions = g.hops < g.limit ? this.#forward({ t: 'fl.gossip', id: g.id, hops: g.hops + 1, limit: g.limit, payload: g.payload }, from) : []
    // stopped by its hop limit where other neighbours might not have it: a loss nobody else counts
    if (g.hops >= g.limit && this.#neighbors.size > (this.#neighbors.has(from) ? 1 : 0)) countDrop(this.drops, 'stopped-at-limit')
    return { actions, deliver: { id: g.id, payload: g.payload, hops: g.hops, from } }
  }

  /** Pushes the catch-up to new neighbours and ages out remembered ids; any period works. */
  tick (now: number): BroadcastResult<FloodMsg> {
    this.#lastNow = now
    this.#seen.prune(now)
    this.#forget(now)
    const actions: Array<SendAction<FloodMsg>> = []
    for (const [to, recent] of this.#catchUp) {
      for (const r of recent) actions.push({ type: 'send', to, msg: { t: 'fl.gossip', id: r.id, hops: r.hops + 1, limit: r.limit, payload: r.payload, a: Math.max(0, Math.round(now - r.at)) } })
    }
    this.#catchUp.clear()
    return { actions }
  }

  /** Due at once while a new neighbour waits for its catch-up. */
  nextTickAt (): number | undefined { return this.#catchUp.size > 0 ? this.#lastNow : undefined }

  #remember (r: Recent): void {
    if (this.catchUpMs === 0) return
    this.#recent.push(r)
    if (this.#recent.length > this.#catchUpMax) this.#recent.shift()
    this.#forget(r.at)
  }

  #forget (now: number): void {
    let old = 0
    while (old < this.#recent.length && now - this.#recent[old]!.at > this.catchUpMs) old++
    if (old > 0) this.#recent.splice(0, old)
  }

  #forward (msg: FloodMsg, except: PeerId | undefined): Array<SendAction<FloodMsg>> {
    const out: Array<SendAction<FloodMsg>> = []
    for (const to of this.#neighbors) if (to !== except) out.push({ type: 'send', to, msg })
    return out
  }
}
