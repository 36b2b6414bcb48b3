import type { PeerId } from '../wire/identity.js'
import type { BroadcastLimits, BroadcastResult, Broadcaster, SendAction } from './broadcast.js'
import { checkBroadcastArgs, parseGossip, resolveLimits } from './broadcast.js'
import { DedupCache } from './dedup-cache.js'
import type { Drops } from './validate.js'
import { countDrop, isRecord } from './validate.js'

/**
 * The baseline: every new message goes to every neighbour but the one it came from. Costs
 * about (degree − 1) × n messages per broadcast but needs no tree, so it is the reference the
 * Plumtree mode is measured against and a fallback when the overlay churns too fast for a tree.
 */
export interface FloodMsg { t: 'fl.gossip', id: string, hops: number, limit: number, payload: unknown }

export interface FloodOptions extends BroadcastLimits {
  self: PeerId
}

export class Flood implements Broadcaster<FloodMsg> {
  readonly self: PeerId
  readonly drops: Drops = {}
  readonly #limits: Required<BroadcastLimits>
  readonly #neighbors = new Set<PeerId>()
  readonly #seen: DedupCache

  constructor (opts: FloodOptions) {
    this.self = opts.self
    this.#limits = resolveLimits(opts)
    this.#seen = new DedupCache({ maxEntries: this.#limits.seenMaxEntries, maxAgeMs: this.#limits.seenMaxAgeMs })
  }

  neighborUp (peer: PeerId): void { if (peer !== this.self) this.#neighbors.add(peer) }
  neighborDown (peer: PeerId): void { this.#neighbors.delete(peer) }

  broadcast (id: string, payload: unknown, limit: number, now: number): BroadcastResult<FloodMsg> {
    checkBroadcastArgs(id, limit, this.#limits)
    if (!this.#seen.add(id, now) || limit === 0) return { actions: [] }
    return { actions: this.#forward({ t: 'fl.gossip', id, hops: 1, limit, payload }, undefined) }
  }

  onMessage (from: PeerId, msg: unknown, now: number): BroadcastResult<FloodMsg> {
    if (!isRecord(msg) || msg.t !== 'fl.gossip') { countDrop(this.drops, isRecord(msg) && typeof msg.t === 'string' ? 'unknown-type' : 'malformed'); return { actions: [] } }
    const g = parseGossip(msg, this.#limits)
    if (typeof g === 'string') { countDrop(this.drops, g); return { actions: [] } }
    if (!this.#seen.add(g.id, now)) { countDrop(this.drops, 'duplicate'); return { actions: [], duplicate: { id: g.id, from } } }
    const actions = g.hops < g.limit ? this.#forward({ t: 'fl.gossip', id: g.id, hops: g.hops + 1, limit: g.limit, payload: g.payload }, from) : []
    // stopped by its hop limit where other neighbours might not have it: a loss nobody else counts
    if (g.hops >= g.limit && this.#neighbors.size > (this.#neighbors.has(from) ? 1 : 0)) countDrop(this.drops, 'stopped-at-limit')
    return { actions, deliver: { id: g.id, payload: g.payload, hops: g.hops, from } }
  }

  /** Only ages out remembered ids; any period works. */
  tick (now: number): BroadcastResult<FloodMsg> {
    this.#seen.prune(now)
    return { actions: [] }
  }

  #forward (msg: FloodMsg, except: PeerId | undefined): Array<SendAction<FloodMsg>> {
    const out: Array<SendAction<FloodMsg>> = []
    for (const to of this.#neighbors) if (to !== except) out.push({ type: 'send', to, msg })
    return out
  }
}
