import { toHex } from '../util/bytes.js'
import { hash } from '../wire/crypto.js'
import { checkType, encodeValue, isReservedType } from '../wire/envelope.js'
import type { PeerId } from '../wire/identity.js'
import { isPeerId } from '../wire/identity.js'
import type { InboundMessage, Middleware } from './middleware.js'
import type { MiddlewareNode } from './middleware.js'
import type { Peer } from '../link/peer.js'
import { DedupCache } from '../overlay/dedup-cache.js'
import { isInt, isRecord, isString } from '../overlay/validate.js'
import { MAX_HOPS_CEILING } from '../overlay/broadcast.js'

/**
 * coalescent's relays, made loop-safe. `relay()` is its tattletale: every application message a
 * peer sends to this node directly is passed on to every other connected peer, and on from
 * there, up to `limit` links from its origin; every relayed copy carries a 128-bit id that each
 * node remembers (bounded by count and age), so a copy that comes back around a cycle is
 * dropped. `smartRelay()` is its smart relay: the same, but a message is identified by a hash of
 * its content, so identical messages (from anyone, sent to several peers, or relayed along
 * several paths) are delivered and passed on once per node while the hash is remembered.
 *
 * Relayed copies travel as `fl.relay` frames (see docs/protocol.md): a node that does not use a
 * relay middleware drops them (`drops.unknown-type`), so every node of an application that
 * relays should `use()` the same relay. Put it first: middleware before it can filter or
 * transform what it passes on.
 */
export interface RelayOptions {
  /** Most links a message travels from its origin (the direct send is the first). @default 6 */
  limit?: number
  /** Most message ids (or content hashes) remembered. @default 10000 */
  maxEntries?: number
  /** How long an id (or hash) is remembered, ms. @default 120000 for relay(), 30000 for smartRelay() */
  maxAgeMs?: number
}

/** A relay middleware, with its dedup cache's size for tests and status pages. */
export interface RelayMiddleware extends Middleware {
  /** Ids or hashes remembered right now (never above `maxEntries`). */
  readonly cacheSize: number
}

export const RELAY_DEFAULTS = Object.freeze({ limit: 6, maxEntries: 10_000, maxAgeMs: 120_000, smartMaxAgeMs: 30_000 })

interface RelayFrame { id: string, o: PeerId, h: number, l: number, ty: string, d: unknown }

/** Loop-safe tattletale: relays each directly received message once to every node within `limit` hops. */
export function relay (options: RelayOptions = {}): RelayMiddleware {
  return makeRelay('relay', false, options)
}

/**
 * Hash-deduplicating relay: like `relay()`, but a message is identified by the SHA-256 of its
 * type and data, so identical content is delivered and passed on once per node within
 * `maxAgeMs` (a repeated identical message inside that window is dropped, as coalescent's smart
 * relay did).
 */
export function smartRelay (options: RelayOptions = {}): RelayMiddleware {
  return makeRelay('smartRelay', true, options)
}

function makeRelay (name: string, byContent: boolean, o: RelayOptions): RelayMiddleware {
  const limit = o.limit ?? RELAY_DEFAULTS.limit
  if (!isInt(limit, 1, MAX_HOPS_CEILING)) throw new TypeError(`limit must be an integer in 1..${MAX_HOPS_CEILING}`)
  const seen = new DedupCache({
    maxEntries: o.maxEntries ?? RELAY_DEFAULTS.maxEntries,
    maxAgeMs: o.maxAgeMs ?? (byContent ? RELAY_DEFAULTS.smartMaxAgeMs : RELAY_DEFAULTS.maxAgeMs)
  })
  // relay metadata of the messages this relay injected into the pipeline
  const meta = new WeakMap<InboundMessage, RelayFrame>()
  let node: MiddlewareNode | undefined

  const contentKey = (type: string, data: unknown): string => toHex(hash(encodeValue([type, data])).subarray(0, 16))

  const forward = (n: MiddlewareNode, f: RelayFrame, except: Peer): void => {
    for (const p of n.peers()) {
      if (p === except || p.id === f.o) continue
      if (n.sendProtocol(p, 'fl.relay', f)) n.metrics.inc('relay.forwarded')
    }
  }

  const onFrame = (n: MiddlewareNode, from: Peer, data: unknown): void => {
    const f = parseFrame(n, data)
    if (f === undefined) { n.metrics.drop('relay-malformed'); return }
    const now = n.clock.now()
    if (f.o === n.id) { seen.add(byContent ? contentKey(f.ty, f.d) : f.id, now); n.metrics.drop('relay-own'); return }
    if (!seen.add(byContent ? contentKey(f.ty, f.d) : f.id, now)) { n.metrics.drop('relay-duplicate'); return }
    const msg: InboundMessage = { type: f.ty, data: f.d, from, origin: f.o, via: 'relay', hops: f.h }
    meta.set(msg, f)
    n.metrics.inc('relay.delivered')
    n.injectInbound(msg)
  }

  const mw: RelayMiddleware = {
    name,
    get cacheSize () { seen.prune(node?.clock.now() ?? 0); return seen.size },
    plugin: (n) => {
      if (node !== undefined && node !== n) throw new TypeError(`this ${name}() middleware is already used by another node; call ${name}() once per node`)
      node = n
      n.handle('fl.relay', (peer, data) => { onFrame(n, peer, data) })
    },
    inbound: (msg, ctx, next) => {
      const n = ctx.node
      if (msg.via === 'direct') {
        const now = n.clock.now()
        const id = byContent ? contentKey(msg.type, msg.data) : toHex(n.random.bytes(16))
        if (!seen.add(id, now)) { n.metrics.drop('relay-duplicate'); return }
        if (limit > 1) forward(n, { id, o: msg.from.id, h: 2, l: limit, ty: msg.type, d: msg.data }, msg.from)
      } else if (msg.via === 'relay') {
        const f = meta.get(msg)
        // a message replaced by an earlier middleware lost its relay metadata: not passed on
        if (f !== undefined && f.h < f.l) forward(n, { ...f, h: f.h + 1, ty: msg.type, d: msg.data }, msg.from)
      }
      next()
    }
  }
  return mw
}

function parseFrame (n: MiddlewareNode, data: unknown): RelayFrame | undefined {
  if (!isRecord(data)) return undefined
  const { id, o, h, l, ty, d } = data
  if (!isString(id, n.limits.maxIdBytes) || !isPeerId(o) || !isInt(l, 1, MAX_HOPS_CEILING) || !isInt(h, 1, l)) return undefined
  try { checkType(ty, n.limits) } catch { return undefined }
  if (isReservedType(ty)) return undefined
  return { id, o, h, l, ty, d }
}
