import type { PeerId } from '../wire/identity.js'
import { DEFAULT_MAX_ID_BYTES } from '../util/limits.js'
import type { Drops } from './validate.js'
import { isInt, isString } from './validate.js'

/**
 * What Plumtree and flooding have in common, so that the node can switch between them: both
 * take neighbour changes, messages and explicit times, and return sends plus at most one
 * delivery per input.
 */

/** Default upper bound on any message's hop limit. */
export const DEFAULT_MAX_HOPS = 32
/** Hard ceiling for a hop limit on the wire, whatever a node is configured with. */
export const MAX_HOPS_CEILING = 255

export interface Delivery {
  id: string
  payload: unknown
  /** Links travelled from the origin: 1 for a neighbour of the origin. */
  hops: number
  /** The neighbour it came from (not the origin). */
  from: PeerId
}

export interface SendAction<M> { type: 'send', to: PeerId, msg: M }

export interface BroadcastResult<M> {
  actions: Array<SendAction<M>>
  /** A message seen for the first time, to hand to the application. */
  deliver?: Delivery
  /** Another copy of a message already seen, and the neighbour it came from: another way back to its origin. */
  duplicate?: { id: string, from: PeerId }
}

export interface Broadcaster<M> {
  /** Incoming messages ignored (and duplicates), by reason. */
  readonly drops: Drops
  /** `peer` entered the active view at `now` (ms; a broadcaster may default it to the latest time it was given). */
  neighborUp: (peer: PeerId, now?: number) => void
  /** `peer` left the active view. */
  neighborDown: (peer: PeerId) => void
  /**
   * Sends a new message to the overlay. It reaches peers up to `limit` hops away (0: nobody).
   * The origin does not get it delivered back. An id already seen is ignored. `bytes` is the
   * message's encoded size, if known.
   */
  broadcast: (id: string, payload: unknown, limit: number, now: number, bytes?: number) => BroadcastResult<M>
  /** `bytes`, the size of the frame `msg` came in, lets a broadcaster that keeps payloads bound them by size. */
  onMessage: (from: PeerId, msg: unknown, now: number, bytes?: number) => BroadcastResult<M>
  /** Periodic housekeeping; see each implementation for the period it expects. */
  tick: (now: number) => BroadcastResult<M>
}

/**
 * The flood broadcaster as a node option (`broadcast: flood()`): passed in, not imported by the
 * node, so that a bundle with Plumtree only (hearsay/lite) leaves flooding out.
 */
export interface FloodBroadcast {
  readonly mode: 'flood'
  create: (opts: { self: PeerId, maxIdLength: number, seenMaxEntries?: number }) => Broadcaster<{ t: string }>
}

export interface GossipFields { id: string, hops: number, limit: number, payload: unknown }

/** Options both broadcasters share. */
export interface BroadcastLimits {
  /**
   * Largest hop limit honoured; larger limits from the wire are lowered to it, larger ones
   * passed to `broadcast` throw. Bounds how far a single message can travel.
   * @default 32
   */
  maxHops?: number
  /** Longest message id accepted, in UTF-16 code units. @default 64 */
  maxIdLength?: number
  /** Most message ids remembered for de-duplication. @default 10000 */
  seenMaxEntries?: number
  /** How long a message id is remembered, in ms; keep it above the time a message needs to cross the overlay. @default 120000 */
  seenMaxAgeMs?: number
}

export function resolveLimits (o: BroadcastLimits): Required<BroadcastLimits> {
  const maxHops = o.maxHops ?? DEFAULT_MAX_HOPS
  if (!isInt(maxHops, 1, MAX_HOPS_CEILING)) throw new TypeError(`maxHops must be an integer in 1..${MAX_HOPS_CEILING}`)
  const maxIdLength = o.maxIdLength ?? DEFAULT_MAX_ID_BYTES
  if (!isInt(maxIdLength, 1, Number.MAX_SAFE_INTEGER)) throw new TypeError('maxIdLength must be a positive integer')
  return { maxHops, maxIdLength, seenMaxEntries: o.seenMaxEntries ?? 10_000, seenMaxAgeMs: o.seenMaxAgeMs ?? 120_000 }
}

export function checkBroadcastArgs (id: unknown, limit: unknown, limits: Required<BroadcastLimits>): void {
  if (!isString(id, limits.maxIdLength)) throw new TypeError(`id must be a non-empty string of at most ${limits.maxIdLength} characters`)
  if (!isInt(limit, 0, limits.maxHops)) throw new TypeError(`limit must be an integer in 0..${limits.maxHops}`)
}

/** The fields of a GOSSIP, or the reason to drop it. The limit is lowered to `maxHops`. */
export function parseGossip (msg: Record<string, unknown>, limits: Required<BroadcastLimits>): GossipFields | 'malformed' | 'hop-limit' {
  if (!isString(msg.id, limits.maxIdLength) || !isInt(msg.hops, 1, MAX_HOPS_CEILING) ||
    !isInt(msg.limit, 1, MAX_HOPS_CEILING) || msg.payload === undefined) return 'malformed'
  const limit = Math.min(msg.limit, limits.maxHops)
  if (msg.hops > limit) return 'hop-limit'
  return { id: msg.id, hops: msg.hops, limit, payload: msg.payload }
}
