import type { Random } from '../../util/clock.js'
import { toHex, utf8Length } from '../../util/bytes.js'
import { hash } from '../../wire/crypto.js'
import { encodeValue } from '../../wire/envelope.js'
import { TooLargeError } from '../../util/errors.js'
import type { Identity, PeerId } from '../../wire/identity.js'
import { isPeerId, publicKeyFromPeerId, signWith, verifyFrom } from '../../wire/identity.js'
import type { Drops } from '../../overlay/validate.js'
import { countDrop, isInt, isRecord } from '../../overlay/validate.js'
import { BatchTree, fastHash, HASH_BYTES, MAX_BATCH_LEAVES, ProofCounter, prove, rootFromProof } from './merkle.js'
import type { Hash32 } from './merkle.js'
import { STATE_DEFAULTS } from './options.js'

/**
 * Scuttlebutt reconciliation (van Renesse, Dumitriu, Gough, Shah: "Efficient reconciliation and
 * flow control for anti-entropy protocols", 2008) of per-owner versioned key/value maps, as a
 * pure state machine: no I/O, no timers; time, randomness and signatures are injected.
 *
 * - Every node owns a map of keys. A local `set` or `delete` gets the next version of this
 *   node; versions only grow, also across restarts (see `INCARNATION_SHIFT`).
 * - A digest says, per owner, the highest version this node has seen (`max`). Digests are
 *   paged by ranges of owner tags so that one stays under the message budget.
 * - A peer answers a digest with the entries it has that are newer (deltas, ascending version
 *   per owner so that a truncated batch still leaves the receiver with a consistent prefix) and
 *   with a request for what it lacks.
 * - Ownership: an owner signs the Merkle root of each batch of its updates once; every update
 *   travels with a multiproof to its batch root, so that any node can forward any subset of
 *   another node's updates and every receiver can check them. A node checks each batch
 *   signature once, and not at all for updates that arrive straight from their owner over its
 *   authenticated link.
 * - Values expire at an absolute wall-clock `expiresAt`; deletes are tombstones that expire in
 *   turn. Every bound (owners, keys, sizes, bytes) is enforced; bad input is counted in
 *   `drops` and ignored, never thrown.
 */

/** A version is `incarnation × 2^24 + sequence`; safe integers allow incarnations below 2^29. */
export const INCARNATION_SHIFT = 2 ** 24
export const MAX_INCARNATION = 2 ** 29 - 1
/**
 * Incarnations never go below the seconds elapsed since 2024-01-01 (UTC): a node that lost its
 * store but kept its identity still gets versions above those of its previous runs.
 */
export const INCARNATION_EPOCH_MS = Date.UTC(2024, 0, 1)
/** Owner tags in digests: the first 8 bytes of the owner's public key. */
export const TAG_BYTES = 8
/** One digest record: tag (8 bytes) and version (8 bytes, big-endian unsigned). */
export const DIGEST_RECORD_BYTES = 16
const ZERO_TAG = new Uint8Array(TAG_BYTES)
const LEAF = new Uint8Array([0])
const BATCH_CONTEXT = 'hearsay/kv-batch/1'
const MAX_GROUPS = 4096
const MAX_BATCHES_PER_GROUP = 4096
const MAX_ENTRIES_PER_GROUP = 65536
const SIGNATURE_BYTES = 64

/** The first incarnation a node may use at wall time `now`, given the last one it persisted. */
export function nextIncarnation (persisted: number, now: number): number {
  const floor = Math.floor((now - INCARNATION_EPOCH_MS) / 1000)
  return Math.min(MAX_INCARNATION, Math.max(1, persisted + 1, floor))
}

/** How ownership of a batch of updates is proven and checked. */
export interface OwnershipProofs {
  /** True when signatures are neither made nor checked (simulation). */
  readonly trusted: boolean
  sign: (message: Uint8Array) => Uint8Array
  verify: (owner: PeerId, message: Uint8Array, signature: Uint8Array) => boolean
  /** Leaf and tree-node hash: SHA-256 (what the wire spec says) unless trusted. @default sha256 */
  hash?: Hash32
}

/** ed25519 signatures with the node's identity. */
export function signedOwnership (identity: Identity): OwnershipProofs {
  return {
    trusted: false,
    sign: (m) => signWith(identity, m),
    verify: (owner, m, sig) => verifyFrom(owner, m, sig),
    hash
  }
}

/**
 * No signatures, and a fast non-cryptographic hash for the Merkle trees: the claimed owner is
 * believed; proofs are still built, sized and checked the same way. Only for the simulator
 * (plain channel); every node of a network must use the same mode.
 */
export const trustedOwnership: OwnershipProofs = Object.freeze({
  trusted: true,
  sign: () => new Uint8Array(64),
  verify: () => true,
  hash: fastHash
})

export interface ScuttlebuttOptions {
  self: PeerId
  /** This run's incarnation (see `nextIncarnation`), at least 1. */
  incarnation: number
  /** Wall clock, ms since the epoch. */
  now: () => number
  random: Random
  proofs: OwnershipProofs
  /** Called when the incarnation had to move up (a previous run's versions were seen): persist it. */
  onIncarnation?: (incarnation: number) => void
  /** Called for every dropped input, with the reason (also counted in `drops`). */
  onDrop?: (reason: string) => void
  maxOwners?: number
  maxKeysPerOwner?: number
  maxKeyBytes?: number
  maxValueBytes?: number
  maxTotalBytes?: number
  maxMessageBytes?: number
  maxBatchLeaves?: number
}

/** One stored entry, as the API shows it. `value` is the encoded value, null for a tombstone. */
export interface StateEntry {
  owner: PeerId
  key: string
  version: number
  value: Uint8Array | null
  /** Wall-clock ms since the epoch; 0 = never. */
  expiresAt: number
}

/** What changed: returned by local operations, `apply` and `sweep`. */
export interface Change extends StateEntry {
  kind: 'set' | 'delete' | 'expire'
  /** True for this node's own operations. */
  local: boolean
  /** The value this replaced, if it was live (encoded). */
  previous?: Uint8Array
}

/** A page of the digest: owners with tags in [f, t) (t null: to the end) and their versions. */
export interface DigestPage {
  f: Uint8Array
  t: Uint8Array | null
  d: Uint8Array
}

/** The `kv.delta` body: groups of one owner's batches and entries. */
export interface DeltaMsg { g: GroupWire[] }
/**
 * `[owner, batches: [n, signature, proof][], entries: [key, version, value|null, expiresAt, batch, leaf][]]`.
 * The root is not sent: the receiver computes it from the entries and the proof, and checks the
 * signature over it.
 */
export type GroupWire = [PeerId, BatchWire[], EntryWire[]]
export type BatchWire = [number, Uint8Array, Uint8Array]
export type EntryWire = [string, number, Uint8Array | null, number, number, number]

/** What to send one peer: owners and the version above which it lacks their entries. @internal */
export type Plan = Array<{ owner: Owner, above: number }>

/** One signed batch: the tree (whose header holds the signature) and how many entries use it. */
interface Batch {
  /** The root as a 32-character binary string, the key in `batches`; '' for batches not cached there (own, or of one update). */
  id: string
  tree: BatchTree
  refs: number
}

interface Entry {
  key: string
  version: number
  value: Uint8Array | null
  expiresAt: number
  /** Undefined while an own update waits for `seal()`. */
  batch: Batch | undefined
  leaf: number
}

/** @internal */
export interface Owner {
  id: PeerId
  tag: string
  tagBytes: Uint8Array
  /** Highest version seen (for this node: issued). */
  max: number
  entries: Map<string, Entry>
}

interface Expiry { at: number, owner: PeerId, key: string, version: number }

export class Scuttlebutt {
  readonly self: PeerId
  readonly drops: Drops = {}
  /** Signatures made, checked, and skipped (cached batch or straight from the owner). */
  readonly crypto = { signed: 0, verified: 0, cached: 0, direct: 0 }
  private inc: number
  private seq = 0
  private readonly o: Required<Omit<ScuttlebuttOptions, 'onIncarnation' | 'onDrop' | 'self' | 'incarnation'>> & Pick<ScuttlebuttOptions, 'onIncarnation' | 'onDrop'>
  private readonly owners = new Map<PeerId, Owner>()
  private readonly byTag = new Map<string, Owner>()
  private sorted: Owner[] | undefined
  private readonly batches = new Map<string, Batch>()
  private pending: Entry[] = []
  private readonly me: Owner
  private readonly h: Hash32
  private cursor = ''
  private heap: Expiry[] = []
  private expiring = 0
  private otherBytes = 0

  constructor (opts: ScuttlebuttOptions) {
    this.self = opts.self
    const D = STATE_DEFAULTS
    this.o = {
      now: opts.now,
      random: opts.random,
      proofs: opts.proofs,
      onIncarnation: opts.onIncarnation,
      onDrop: opts.onDrop,
      maxOwners: opts.maxOwners ?? D.maxOwners,
      maxKeysPerOwner: opts.maxKeysPerOwner ?? D.maxKeysPerOwner,
      maxKeyBytes: opts.maxKeyBytes ?? D.maxKeyBytes,
      maxValueBytes: opts.maxValueBytes ?? D.maxValueBytes,
      maxTotalBytes: opts.maxTotalBytes ?? D.maxTotalBytes,
      maxMessageBytes: opts.maxMessageBytes ?? D.maxMessageBytes,
      maxBatchLeaves: opts.maxBatchLeaves ?? D.maxBatchLeaves
    }
    checkLimits(this.o)
    if (!isInt(opts.incarnation, 1, MAX_INCARNATION)) throw new TypeError(`incarnation must be an integer in 1..${MAX_INCARNATION}`)
    this.inc = opts.incarnation
    this.h = opts.proofs.hash ?? hash
    this.me = this.owner(opts.self, true)!
    this.me.max = this.inc * INCARNATION_SHIFT
  }

  get incarnation (): number { return this.inc }
  /** Highest version issued by this node so far. */
  get version (): number { return this.me.max }
  /** Own updates not yet covered by a signature. */
  get pendingCount (): number { return this.pending.length }
  /** Bytes of other owners' state kept (counted against `maxTotalBytes`). */
  get bytes (): number { return this.otherBytes }
  get ownerCount (): number { return this.owners.size }

  // ---- local operations ----

  /**
   * Sets an own key to an encoded value. Throws `TypeError` for a bad key or expiry and
   * `TooLargeError` for a key or value over its limit or a full key space.
   */
  set (key: string, value: Uint8Array, expiresAt = 0): Change {
    this.checkKey(key)
    if (!(value instanceof Uint8Array)) throw new TypeError('value must be encoded bytes')
    if (value.length > this.o.maxValueBytes) throw new TooLargeError(`value of ${value.length} bytes exceeds maxValueBytes (${this.o.maxValueBytes})`)
    if (!isInt(expiresAt, 0, Number.MAX_SAFE_INTEGER)) throw new TypeError('expiresAt must be a non-negative integer (ms since the epoch; 0 = never)')
    return this.writeOwn(key, value.slice(), expiresAt)
  }

  /** Deletes an own key: writes a tombstone that expires at `expiresAt` (required, > 0). */
  delete (key: string, expiresAt: number): Change {
    this.checkKey(key)
    if (!isInt(expiresAt, 1, Number.MAX_SAFE_INTEGER)) throw new TypeError('a tombstone needs an expiry')
    return this.writeOwn(key, null, expiresAt)
  }

  /** A live entry (value or tombstone), or undefined. */
  entry (owner: PeerId, key: string): StateEntry | undefined {
    const e = this.owners.get(owner)?.entries.get(key)
    if (e === undefined || this.expired(e)) return undefined
    return { owner, key, version: e.version, value: e.value, expiresAt: e.expiresAt }
  }

  /** The version of a live entry (value or tombstone), without allocating. */
  versionOf (owner: PeerId, key: string): number | undefined {
    const e = this.owners.get(owner)?.entries.get(key)
    return e === undefined || this.expired(e) ? undefined : e.version
  }

  /** Keys with a live value (not tombstones) of `owner`, sorted. */
  keys (owner: PeerId): string[] {
    const o = this.owners.get(owner)
    if (o === undefined) return []
    const out: string[] = []
    for (const e of o.entries.values()) if (e.value !== null && !this.expired(e)) out.push(e.key)
    return out.sort()
  }

  /** Owners with at least one live value (under another key than `hidden`), this node included if it has one. */
  ownerIds (hidden?: string): PeerId[] {
    const out: PeerId[] = []
    for (const o of this.owners.values()) {
      for (const e of o.entries.values()) if (e.value !== null && e.key !== hidden && !this.expired(e)) { out.push(o.id); break }
    }
    return out
  }

  /** Own max version / highest version seen of `owner`. */
  maxVersion (owner: PeerId): number { return this.owners.get(owner)?.max ?? 0 }

  // ---- signatures ----

  /** Signs every pending own update (one signature per `maxBatchLeaves` updates). Returns the signatures made. */
  seal (): number {
    const live = this.pending.filter(e => e.batch === undefined && this.me.entries.get(e.key) === e)
    this.pending = []
    let signed = 0
    for (let i = 0; i < live.length; i += this.o.maxBatchLeaves) {
      const chunk = live.slice(i, i + this.o.maxBatchLeaves)
      const tree = BatchTree.build(chunk.map(e => leafHash(this.self, e.key, e.version, e.value, e.expiresAt, this.h)), SIGNATURE_BYTES, this.h)
      const root = tree.root!
      tree.header.set(this.o.proofs.sign(batchMessage(this.self, chunk.length, root)))
      signed++
      this.crypto.signed++
      const batch: Batch = { id: '', tree, refs: 0 }
      chunk.forEach((e, leaf) => { e.batch = batch; e.leaf = leaf; batch.refs++ })
    }
    return signed
  }

  // ---- digests ----

  /** The next page of this node's digest (pages rotate through the owner space). */
  digestPage (): DigestPage {
    // owners with nothing left (this node before its first write, expired state) are not
    // advertised: an idle network exchanges empty digests and nothing else
    const sorted = this.sortedOwners().filter(o => o.entries.size > 0)
    const perPage = Math.max(1, Math.floor((this.o.maxMessageBytes - 64) / DIGEST_RECORD_BYTES))
    let start = this.cursor === '' ? 0 : lowerBound(sorted, this.cursor)
    let f = this.cursor === '' ? ZERO_TAG : fromHexTag(this.cursor)
    if (start >= sorted.length) { start = 0; f = ZERO_TAG }
    const end = Math.min(sorted.length, start + perPage)
    const d = new Uint8Array((end - start) * DIGEST_RECORD_BYTES)
    const view = viewOf(d)
    for (let i = start; i < end; i++) writeRecord(d, view, (i - start) * DIGEST_RECORD_BYTES, sorted[i]!.tagBytes, sorted[i]!.max)
    const next = sorted[end]
    this.cursor = next === undefined ? '' : next.tag
    return { f, t: next === undefined ? null : next.tagBytes, d }
  }

  /**
   * A peer's digest page: what to send it (`plan`, for `deltas`) and what to ask it for
   * (`request`: digest records of the owners where it is ahead). Undefined if malformed.
   */
  onDigest (page: unknown): { plan: Plan, request: Uint8Array } | undefined {
    if (!isRecord(page) || !isTag(page.f) || !(page.t === null || isTag(page.t)) || !(page.d instanceof Uint8Array) ||
      page.d.length % DIGEST_RECORD_BYTES !== 0) { this.drop('malformed-digest'); return undefined }
    const from = toHex(page.f)
    const to = page.t === null ? undefined : toHex(page.t)
    const theirs = new Map<string, number>()
    const view = viewOf(page.d)
    for (let off = 0; off < page.d.length; off += DIGEST_RECORD_BYTES) {
      const tag = toHex(page.d.subarray(off, off + TAG_BYTES))
      const v = readVersion(view, off + TAG_BYTES)
      if (v === undefined || tag < from || (to !== undefined && tag >= to)) { this.drop('malformed-digest'); return undefined }
      theirs.set(tag, v)
    }
    const plan: Plan = []
    const req: Array<[Uint8Array, number]> = []
    const sorted = this.sortedOwners()
    for (let i = lowerBound(sorted, from); i < sorted.length; i++) {
      const o = sorted[i]!
      if (to !== undefined && o.tag >= to) break
      const th = theirs.get(o.tag) ?? 0
      theirs.delete(o.tag)
      if (o.max > th) {
        if (this.hasSendable(o, th)) plan.push({ owner: o, above: th })
      } else if (th > o.max) {
        req.push([o.tagBytes, o.max])
      }
    }
    for (const [tag, v] of theirs) if (v > 0) req.push([fromHexTag(tag), 0])
    return { plan, request: records(req) }
  }

  /** A peer's request (records of owners it knows to be ahead here): what to send it. */
  onRequest (data: unknown): Plan | undefined {
    if (!(data instanceof Uint8Array) || data.length % DIGEST_RECORD_BYTES !== 0) { this.drop('malformed-request'); return undefined }
    const plan: Plan = []
    const view = viewOf(data)
    for (let off = 0; off < data.length; off += DIGEST_RECORD_BYTES) {
      const o = this.byTag.get(toHex(data.subarray(off, off + TAG_BYTES)))
      const v = readVersion(view, off + TAG_BYTES)
      if (v === undefined) { this.drop('malformed-request'); return undefined }
      if (o !== undefined && o.max > v && this.hasSendable(o, v)) plan.push({ owner: o, above: v })
    }
    return plan
  }

  // ---- deltas ----

  /**
   * Delta messages for a plan, each at most `maxMessageBytes` encoded, at most `maxMessages`.
   * Owners go in random order; each owner's entries in ascending version, so that whatever a
   * receiver gets is a prefix of what it lacks. Own pending updates are sealed first.
   */
  deltas (plan: Plan, maxMessages: number): DeltaMsg[] {
    if (plan.length === 0 || maxMessages < 1) return []
    if (this.pending.length > 0) this.seal()
    const budget = this.o.maxMessageBytes
    const now = this.o.now()
    const order = shuffle(this.o.random, plan)
    const out: DeltaMsg[] = []
    let b = new MessageBuilder(budget)
    for (const { owner, above } of order) {
      const list = [...owner.entries.values()].filter(e => e.version > above).sort((x, y) => x.version - y.version)
      for (const e of list) {
        if (e.batch === undefined) break // unsigned: stop here to keep the prefix
        if (e.expiresAt !== 0 && e.expiresAt <= now) continue
        if (!b.tryAdd(owner.id, e)) {
          if (b.empty) { this.drop('entry-too-large'); break }
          out.push(b.build(this))
          if (out.length >= maxMessages) return out
          b = new MessageBuilder(budget)
          if (!b.tryAdd(owner.id, e)) { this.drop('entry-too-large'); break }
        }
      }
    }
    if (!b.empty) out.push(b.build(this))
    return out
  }

  /** @internal proof for a batch's leaves (used by MessageBuilder) */
  proofFor (batch: Batch, leaves: number[]): Uint8Array | undefined { return prove(batch.tree, leaves) }

  /**
   * Applies a `kv.delta` received from `from` (the authenticated peer that sent it). Returns
   * the changes; drops what is malformed, unproven, stale, expired or over a limit.
   */
  apply (from: PeerId, data: unknown): Change[] {
    if (!isRecord(data) || !Array.isArray(data.g) || data.g.length > MAX_GROUPS) { this.drop('malformed'); return [] }
    const changes: Change[] = []
    for (const g of data.g) this.applyGroup(from, g, changes)
    return changes
  }

  private applyGroup (from: PeerId, g: unknown, changes: Change[]): void {
    const parsed = this.parseGroup(g)
    if (parsed === undefined) { this.drop('malformed'); return }
    const { owner: ownerId, batches, entries } = parsed
    const now = this.o.now()
    const own = ownerId === this.self
    const known = own ? this.me : this.owners.get(ownerId)
    // a batch needs checking only if it carries something this node would take: a group that is
    // all stale or expired (the common race of two peers answering at once) costs no hashing
    const needed: boolean[] = batches.map(() => false)
    for (const e of entries) {
      if (own) { if (e.version > this.me.max) needed[e.bi] = true; continue }
      if (e.expiresAt !== 0 && e.expiresAt <= now) continue
      const cur = known?.entries.get(e.key)
      if (e.version > (cur !== undefined ? cur.version : (known?.max ?? 0))) needed[e.bi] = true
    }
    if (!needed.includes(true)) {
      for (const e of entries) this.drop(own ? 'own-echo' : e.expiresAt !== 0 && e.expiresAt <= now ? 'expired' : 'stale')
      return
    }
    const valid = batches.map((bw, bi) => needed[bi] === true ? this.checkBatch(from, ownerId, bw, entries, bi) : undefined)
    const owner = own ? this.me : this.owner(ownerId, false)
    if (owner === undefined) { this.drop('owners-full'); return }
    for (const e of entries) {
      if (needed[e.bi] !== true) { this.drop(own ? 'own-echo' : e.expiresAt !== 0 && e.expiresAt <= now ? 'expired' : 'stale'); continue }
      const batch = valid[e.bi]
      // an unproven entry ends the group: what follows would leave a gap in the prefix
      if (batch === undefined) { this.drop('bad-proof'); break }
      if (own) { this.onOwnEcho(e.version, e.key); continue }
      if (e.expiresAt !== 0 && e.expiresAt <= now) { this.drop('expired'); owner.max = Math.max(owner.max, e.version); continue }
      const cur = owner.entries.get(e.key)
      if (cur !== undefined ? e.version <= cur.version : e.version <= owner.max) { this.drop('stale'); continue }
      owner.max = Math.max(owner.max, e.version)
      const size = entryBytes(e.key, e.value)
      if (cur === undefined && owner.entries.size >= this.o.maxKeysPerOwner && !this.evictTombstone(owner)) { this.drop('keys-full'); continue }
      const extra = size - (cur !== undefined ? entryBytes(cur.key, cur.value) : 0) + (batch.refs === 0 ? batchBytes(batch) : 0)
      if (this.otherBytes + extra > this.o.maxTotalBytes) { this.drop('bytes-full'); continue }
      const previous = cur !== undefined && cur.value !== null && !this.expired(cur) ? cur.value : undefined
      if (cur !== undefined) this.release(owner, cur)
      if (batch.refs++ === 0) {
        this.otherBytes += batchBytes(batch)
        if (batch.tree.n > 1) this.batches.set(batch.id, batch)
      }
      const entry: Entry = { key: e.key, version: e.version, value: e.value === null ? null : e.value.slice(), expiresAt: e.expiresAt, batch, leaf: e.li }
      owner.entries.set(e.key, entry)
      this.otherBytes += size
      this.schedule(owner.id, entry)
      if (entry.value !== null) {
        changes.push({ kind: 'set', owner: owner.id, key: e.key, version: e.version, value: entry.value, expiresAt: e.expiresAt, local: false, ...(previous !== undefined ? { previous } : {}) })
      } else if (previous !== undefined) {
        changes.push({ kind: 'delete', owner: owner.id, key: e.key, version: e.version, value: null, expiresAt: e.expiresAt, local: false, previous })
      }
    }
    if (owner !== this.me && owner.entries.size === 0 && owner.max === 0) this.removeOwner(owner)
  }

  /**
   * Checks one batch of a group: the entries' leaves with the multiproof must lead to the root,
   * and the root must carry the owner's signature (checked once per root; not for a batch that
   * comes straight from its owner, whose link is authenticated). Returns the batch to keep
   * (shared with earlier copies), or undefined.
   */
  private checkBatch (from: PeerId, ownerId: PeerId, bw: ParsedBatch, entries: ParsedEntry[], bi: number): Batch | undefined {
    const mine = entries.filter(e => e.bi === bi).sort((x, y) => x.li - y.li)
    for (let k = 1; k < mine.length; k++) if (mine[k]!.li === mine[k - 1]!.li) return undefined
    const leaves = mine.map(e => leafHash(ownerId, e.key, e.version, e.value, e.expiresAt, this.h))
    const r = rootFromProof(bw.n, mine.map(e => e.li), leaves, bw.proof, this.h)
    if (r === undefined) return undefined
    const id = bw.n === 1 ? '' : batchId(r.root)
    const cached = id === '' ? undefined : this.batches.get(id)
    let batch = cached
    if (batch === undefined) {
      if (this.o.proofs.trusted) {
        // simulation: the claimed owner is believed
      } else if (from === ownerId) {
        this.crypto.direct++
      } else {
        this.crypto.verified++
        if (!this.o.proofs.verify(ownerId, batchMessage(ownerId, bw.n, r.root), bw.sig)) return undefined
      }
      const tree = new BatchTree(bw.n, SIGNATURE_BYTES)
      tree.header.set(bw.sig)
      // a batch of one is not cached: there is nothing to share
      batch = { id, tree, refs: 0 }
    } else {
      if (cached!.tree.n !== bw.n) return undefined
      this.crypto.cached++
    }
    for (const [l, i, h] of r.nodes) if (batch.tree.get(l, i) === undefined) batch.tree.set(l, i, h)
    return batch
  }

  /**
   * A proven update of this very node came back. One above what this run issued comes from an
   * earlier run with the same identity that used higher versions (its store was lost): move the
   * incarnation above it and re-issue every own key, or peers would ignore the new updates.
   */
  private onOwnEcho (version: number, key: string): void {
    if (version <= this.me.max) { if (this.me.entries.get(key)?.version !== version) this.drop('own-echo'); return }
    const inc = Math.floor(version / INCARNATION_SHIFT) + 1
    if (inc > MAX_INCARNATION) { this.drop('version-space'); return }
    this.drop('own-newer')
    this.bump(inc)
  }

  private bump (inc: number): void {
    this.inc = Math.max(inc, this.inc + 1)
    this.seq = 0
    this.me.max = this.inc * INCARNATION_SHIFT
    const own = [...this.me.entries.values()].sort((a, b) => a.version - b.version)
    this.pending = []
    for (const e of own) {
      this.release(this.me, e)
      const fresh: Entry = { ...e, version: this.nextVersion(), batch: undefined, leaf: 0 }
      this.me.entries.set(e.key, fresh)
      this.schedule(this.self, fresh)
      this.pending.push(fresh)
    }
    this.o.onIncarnation?.(this.inc)
  }

  // ---- expiry ----

  /** Removes expired entries; returns `expire` changes for values (tombstones go silently). */
  sweep (): Change[] {
    const now = this.o.now()
    const out: Change[] = []
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const x = heapPop(this.heap)!
      const owner = this.owners.get(x.owner)
      const e = owner?.entries.get(x.key)
      if (owner === undefined || e === undefined || e.version !== x.version) continue
      this.release(owner, e)
      owner.entries.delete(e.key)
      if (e.value !== null) out.push({ kind: 'expire', owner: owner.id, key: e.key, version: e.version, value: e.value, expiresAt: e.expiresAt, local: owner === this.me })
      if (owner !== this.me && owner.entries.size === 0) this.removeOwner(owner)
    }
    // when full, make room from owners none of whose entries are left (at most once per sweep)
    if (this.owners.size >= this.o.maxOwners + 1) {
      for (const x of [...this.owners.values()]) if (x !== this.me && x.entries.size === 0) this.removeOwner(x)
    }
    // superseded entries leave dead heap items behind: rebuild when they dominate
    if (this.heap.length > 4 * this.expiring + 1024) this.rebuildHeap()
    return out
  }

  // ---- internals ----

  private writeOwn (key: string, value: Uint8Array | null, expiresAt: number): Change {
    const cur = this.me.entries.get(key)
    if (cur === undefined && this.me.entries.size >= this.o.maxKeysPerOwner && !this.evictTombstone(this.me)) {
      throw new TooLargeError(`this node already has ${this.o.maxKeysPerOwner} keys (maxKeysPerOwner)`)
    }
    const previous = cur !== undefined && cur.value !== null && !this.expired(cur) ? cur.value : undefined
    if (cur !== undefined) this.release(this.me, cur)
    const e: Entry = { key, version: this.nextVersion(), value, expiresAt, batch: undefined, leaf: 0 }
    this.me.entries.set(key, e)
    this.pending.push(e)
    this.schedule(this.self, e)
    return { kind: value === null ? 'delete' : 'set', owner: this.self, key, version: e.version, value, expiresAt, local: true, ...(previous !== undefined ? { previous } : {}) }
  }

  private nextVersion (): number {
    if (this.seq >= INCARNATION_SHIFT - 1) {
      // this run used up its sequence space: move to the next incarnation (persisted by the caller)
      this.inc = Math.min(MAX_INCARNATION, this.inc + 1)
      this.seq = 0
      this.o.onIncarnation?.(this.inc)
    }
    const v = this.inc * INCARNATION_SHIFT + ++this.seq
    this.me.max = v
    return v
  }

  private checkKey (key: string): void {
    if (typeof key !== 'string' || key.length === 0) throw new TypeError('a key must be a non-empty string')
    if (utf8Length(key) > this.o.maxKeyBytes) throw new TooLargeError(`key is longer than maxKeyBytes (${this.o.maxKeyBytes})`)
  }

  private expired (e: Entry): boolean { return e.expiresAt !== 0 && e.expiresAt <= this.o.now() }

  private hasSendable (o: Owner, above: number): boolean {
    const now = this.o.now()
    for (const e of o.entries.values()) if (e.version > above && (e.expiresAt === 0 || e.expiresAt > now)) return true
    return false
  }

  private owner (id: PeerId, create: true): Owner
  private owner (id: PeerId, create: false): Owner | undefined
  private owner (id: PeerId, create: boolean): Owner | undefined {
    let o = this.owners.get(id)
    if (o !== undefined) return o
    if (!create && this.owners.size >= this.o.maxOwners + 1) return undefined
    const tagBytes = publicKeyFromPeerId(id).slice(0, TAG_BYTES)
    o = { id, tag: toHex(tagBytes), tagBytes, max: 0, entries: new Map() }
    if (this.byTag.has(o.tag)) return undefined // a 64-bit tag collision: the later owner is not kept
    this.owners.set(id, o)
    this.byTag.set(o.tag, o)
    this.sorted = undefined
    return o
  }

  private removeOwner (o: Owner): void {
    for (const e of o.entries.values()) this.release(o, e)
    this.owners.delete(o.id)
    this.byTag.delete(o.tag)
    this.sorted = undefined
  }

  private release (owner: Owner, e: Entry): void {
    if (owner !== this.me) this.otherBytes -= entryBytes(e.key, e.value)
    if (e.expiresAt !== 0) this.expiring--
    const b = e.batch
    if (b === undefined) return
    e.batch = undefined
    if (--b.refs <= 0) {
      if (b.id !== '') this.batches.delete(b.id)
      if (owner !== this.me) this.otherBytes -= batchBytes(b)
    }
  }

  private evictTombstone (owner: Owner): boolean {
    let oldest: Entry | undefined
    for (const e of owner.entries.values()) if (e.value === null && (oldest === undefined || e.version < oldest.version)) oldest = e
    if (oldest === undefined) return false
    this.release(owner, oldest)
    owner.entries.delete(oldest.key)
    return true
  }

  private schedule (owner: PeerId, e: Entry): void {
    if (e.expiresAt === 0) return
    this.expiring++
    heapPush(this.heap, { at: e.expiresAt, owner, key: e.key, version: e.version })
  }

  private rebuildHeap (): void {
    const h: Expiry[] = []
    for (const o of this.owners.values()) {
      for (const e of o.entries.values()) if (e.expiresAt !== 0) h.push({ at: e.expiresAt, owner: o.id, key: e.key, version: e.version })
    }
    h.sort((a, b) => a.at - b.at)
    this.heap = h
  }

  private sortedOwners (): Owner[] {
    this.sorted ??= [...this.owners.values()].sort((a, b) => a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)
    return this.sorted
  }

  private parseGroup (g: unknown): { owner: PeerId, batches: ParsedBatch[], entries: ParsedEntry[] } | undefined {
    if (!Array.isArray(g) || g.length !== 3 || !isPeerId(g[0]) || !Array.isArray(g[1]) || !Array.isArray(g[2])) return undefined
    const [owner, bws, ews] = g as [PeerId, unknown[], unknown[]]
    if (bws.length === 0 || bws.length > MAX_BATCHES_PER_GROUP || ews.length === 0 || ews.length > MAX_ENTRIES_PER_GROUP) return undefined
    const batches: ParsedBatch[] = []
    for (const bw of bws) {
      if (!Array.isArray(bw) || bw.length !== 3) return undefined
      const [n, sig, proof] = bw as unknown[]
      if (!isInt(n, 1, MAX_BATCH_LEAVES) || !isBytes(sig, SIGNATURE_BYTES) || !(proof instanceof Uint8Array) ||
        proof.length % HASH_BYTES !== 0 || proof.length > HASH_BYTES * 2 * MAX_BATCH_LEAVES) return undefined
      batches.push({ n, sig, proof })
    }
    const entries: ParsedEntry[] = []
    let last = 0
    for (const ew of ews) {
      if (!Array.isArray(ew) || ew.length !== 6) return undefined
      const [key, version, value, expiresAt, bi, li] = ew as unknown[]
      if (typeof key !== 'string' || key.length === 0 || utf8Length(key) > this.o.maxKeyBytes) return undefined
      if (!isInt(version, last + 1, Number.MAX_SAFE_INTEGER)) return undefined
      if (!(value === null || (value instanceof Uint8Array && value.length <= this.o.maxValueBytes))) return undefined
      if (!isInt(expiresAt, 0, Number.MAX_SAFE_INTEGER) || !isInt(bi, 0, batches.length - 1) || !isInt(li, 0, batches[bi]!.n - 1)) return undefined
      if (value === null && expiresAt === 0) return undefined // tombstones always expire
      last = version
      entries.push({ key, version, value, expiresAt, bi, li })
    }
    return { owner, batches, entries }
  }

  private drop (reason: string): void {
    countDrop(this.drops, reason)
    this.o.onDrop?.(reason)
  }
}

interface ParsedBatch { n: number, sig: Uint8Array, proof: Uint8Array }
interface ParsedEntry { key: string, version: number, value: Uint8Array | null, expiresAt: number, bi: number, li: number }

/**
 * Fills one `kv.delta` up to its budget. Sizes are exact upper bounds of the msgpack encoding
 * (every integer counted at its widest form), and the multiproof sizes are counted exactly as
 * leaves are added, so the encoded message never exceeds the budget.
 */
class MessageBuilder {
  private size = 1 + 2 + 3 // map of one, key "g", array16 header
  private readonly groups: Array<{ owner: PeerId, batches: Map<Batch, { index: number, counter: ProofCounter, leaves: number[] }>, entries: Entry[] }> = []
  private current: MessageBuilder['groups'][number] | undefined
  constructor (private readonly budget: number) {}

  get empty (): boolean { return this.groups.length === 0 }

  tryAdd (owner: PeerId, e: Entry): boolean {
    const batch = e.batch!
    let cost = entryCost(e)
    const group = this.current?.owner === owner ? this.current : undefined
    if (group === undefined) cost += 1 + strCost(owner.length) + 3 + 3
    const slot = group?.batches.get(batch)
    if (slot === undefined) {
      const counter = new ProofCounter(batch.tree.n)
      cost += 1 + 5 + 2 + SIGNATURE_BYTES + 5 + HASH_BYTES * counter.peek(e.leaf)
    } else {
      cost += HASH_BYTES * (slot.counter.peek(e.leaf) - slot.counter.count)
    }
    if (this.size + cost > this.budget) return false
    this.size += cost
    let g = group
    if (g === undefined) {
      g = { owner, batches: new Map(), entries: [] }
      this.groups.push(g)
      this.current = g
    }
    let s = g.batches.get(batch)
    if (s === undefined) { s = { index: g.batches.size, counter: new ProofCounter(batch.tree.n), leaves: [] }; g.batches.set(batch, s) }
    s.counter.add(e.leaf)
    s.leaves.push(e.leaf)
    g.entries.push(e)
    return true
  }

  build (sb: Scuttlebutt): DeltaMsg {
    const g: GroupWire[] = []
    for (const group of this.groups) {
      const batches: BatchWire[] = []
      let ok = true
      for (const [batch, s] of group.batches) {
        const proof = sb.proofFor(batch, [...s.leaves].sort((a, b) => a - b))
        if (proof === undefined) { ok = false; break }
        batches[s.index] = [batch.tree.n, batch.tree.header, proof]
      }
      if (!ok) continue
      g.push([group.owner, batches, group.entries.map(e => [e.key, e.version, e.value, e.expiresAt, group.batches.get(e.batch!)!.index, e.leaf] as EntryWire)])
    }
    return { g }
  }
}

function strCost (len: number): number { return len < 32 ? 1 + len : len < 256 ? 2 + len : len < 65536 ? 3 + len : 5 + len }
function binCost (len: number): number { return len < 256 ? 2 + len : len < 65536 ? 3 + len : 5 + len }
function entryCost (e: Entry): number {
  return 1 + strCost(utf8Length(e.key)) + 9 + (e.value === null ? 1 : binCost(e.value.length)) + 9 + 3 + 5
}
function entryBytes (key: string, value: Uint8Array | null): number { return 2 * key.length + (value?.length ?? 0) + 120 }

/** `sha256(0x00 ‖ msgpack([owner, key, version, value|null, expiresAt]))`. */
export function leafHash (owner: PeerId, key: string, version: number, value: Uint8Array | null, expiresAt: number, h: Hash32 = hash): Uint8Array {
  const body = encodeValue([owner, key, version, value, expiresAt])
  const buf = new Uint8Array(1 + body.length)
  buf.set(LEAF, 0)
  buf.set(body, 1)
  return h(buf)
}

/** What an owner signs for a batch: `msgpack(["hearsay/kv-batch/1", owner, n, root])`. */
export function batchMessage (owner: PeerId, n: number, root: Uint8Array): Uint8Array {
  return encodeValue([BATCH_CONTEXT, owner, n, root])
}

/** Roots commit to the owner (every leaf names it) and to n (the tree shape): the root alone identifies a batch. */
function batchId (root: Uint8Array): string { return String.fromCharCode(...root) }
function batchBytes (b: Batch): number { return b.tree.byteLength + 160 }

/** Throws `TypeError` unless the limits are positive integers and one largest update fits in one message. */
const LIMIT_KEYS = ['maxMessageBytes', 'maxValueBytes', 'maxKeyBytes', 'maxBatchLeaves', 'maxOwners', 'maxKeysPerOwner', 'maxTotalBytes'] as const

export function checkLimits (o: Record<typeof LIMIT_KEYS[number], number>): void {
  // only the limits: callers pass their whole resolved options
  for (const k of LIMIT_KEYS) if (!isInt(o[k], 1, Number.MAX_SAFE_INTEGER)) throw new TypeError(`${k} must be a positive integer`)
  if (o.maxBatchLeaves > MAX_BATCH_LEAVES) throw new TypeError(`maxBatchLeaves must be at most ${MAX_BATCH_LEAVES}`)
  // the largest single update, with its batch header and a full proof path, must fit in one message
  const depth = Math.ceil(Math.log2(o.maxBatchLeaves))
  const worst = 6 + 1 + 55 + 6 + 1 + 5 + 66 + 5 + HASH_BYTES * depth + 1 + 5 + o.maxKeyBytes + 9 + 5 + o.maxValueBytes + 9 + 3 + 5
  if (worst > o.maxMessageBytes) throw new TypeError(`maxMessageBytes (${o.maxMessageBytes}) must leave room for one update of maxKeyBytes + maxValueBytes (${worst} bytes)`)
  if (o.maxMessageBytes < 64 + DIGEST_RECORD_BYTES) throw new TypeError('maxMessageBytes is too small')
}

function isTag (v: unknown): v is Uint8Array { return isBytes(v, TAG_BYTES) }
function isBytes (v: unknown, len: number): v is Uint8Array { return v instanceof Uint8Array && v.length === len }

function fromHexTag (hex: string): Uint8Array {
  const out = new Uint8Array(TAG_BYTES)
  for (let i = 0; i < TAG_BYTES; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

function viewOf (buf: Uint8Array): DataView { return new DataView(buf.buffer, buf.byteOffset, buf.byteLength) }

function writeRecord (buf: Uint8Array, view: DataView, off: number, tag: Uint8Array, version: number): void {
  buf.set(tag, off)
  view.setUint32(off + TAG_BYTES, Math.floor(version / 2 ** 32))
  view.setUint32(off + TAG_BYTES + 4, version >>> 0)
}

function readVersion (view: DataView, off: number): number | undefined {
  const v = view.getUint32(off) * 2 ** 32 + view.getUint32(off + 4)
  return Number.isSafeInteger(v) ? v : undefined
}

function records (list: Array<[Uint8Array, number]>): Uint8Array {
  const out = new Uint8Array(list.length * DIGEST_RECORD_BYTES)
  const view = viewOf(out)
  list.forEach(([tag, v], i) => { writeRecord(out, view, i * DIGEST_RECORD_BYTES, tag, v) })
  return out
}

function lowerBound (sorted: Owner[], tag: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sorted[mid]!.tag < tag) lo = mid + 1
    else hi = mid
  }
  return lo
}

function shuffle<T> (random: Random, items: readonly T[]): T[] {
  const a = [...items]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random.float() * (i + 1)))
    const t = a[i]!
    a[i] = a[j]!
    a[j] = t
  }
  return a
}

function heapPush (h: Expiry[], x: Expiry): void {
  h.push(x)
  let i = h.length - 1
  while (i > 0) {
    const p = (i - 1) >> 1
    if (h[p]!.at <= x.at) break
    h[i] = h[p]!
    i = p
  }
  h[i] = x
}

function heapPop (h: Expiry[]): Expiry | undefined {
  const top = h[0]
  const last = h.pop()
  if (top === undefined || last === undefined || h.length === 0) return top
  let i = 0
  for (;;) {
    const l = 2 * i + 1
    const r = l + 1
    let m = i
    let mv = last
    if (l < h.length && h[l]!.at < mv.at) { m = l; mv = h[l]! }
    if (r < h.length && h[r]!.at < mv.at) { m = r; mv = h[r]! }
    if (m === i) break
    h[i] = h[m]!
    i = m
  }
  h[i] = last
  return top
}
