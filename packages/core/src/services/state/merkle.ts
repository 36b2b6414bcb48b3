import { hash } from '../../wire/crypto.js'

/**
 * Merkle trees over one batch of an owner's state updates, so that one signature covers many
 * updates and any subset of them can be forwarded with a compact proof (a "multiproof": the
 * sibling hashes that the receiver cannot compute itself).
 *
 * Shape: level 0 holds the `n` leaf hashes; each next level pairs neighbours left to right,
 * `inner = sha256(0x01 ‖ left ‖ right)`; an odd last node is promoted unchanged. The root is
 * the single node of the last level (the leaf itself when n = 1). Leaves are domain-separated
 * (`sha256(0x00 ‖ …)`, see `leafHash` in scuttlebutt.ts) so a leaf can never pass for an
 * inner node.
 *
 * A multiproof for a sorted set of leaf indices is the list of sibling hashes, in the order a
 * level-by-level, left-to-right walk from the leaves to the root asks for them. Prover and
 * verifier run the same walk (`walk`), so the order needs no index on the wire.
 */
export const HASH_BYTES = 32

/** Most leaves in one batch: keeps indices small and proofs at most 16 hashes per leaf. */
export const MAX_BATCH_LEAVES = 65536

const INNER = new Uint8Array([1])

/** A 32-byte hash function: SHA-256, or `fastHash` where nothing needs protecting (simulation). */
export type Hash32 = (data: Uint8Array) => Uint8Array

export function innerHash (left: Uint8Array, right: Uint8Array, h: Hash32 = hash): Uint8Array {
  const buf = new Uint8Array(1 + 2 * HASH_BYTES)
  buf.set(INNER, 0)
  buf.set(left, 1)
  buf.set(right, 1 + HASH_BYTES)
  return h(buf)
}

/**
 * NOT a cryptographic hash: 32 bytes from two 32-bit multiply-rotate lanes (murmur3-style),
 * expanded by a finaliser. For `trustedOwnership` only (the simulator), where the tree shape,
 * proof sizes and checks matter but no adversary does; about ten times cheaper than SHA-256.
 */
export function fastHash (data: Uint8Array): Uint8Array {
  let h1 = 0x9e3779b9 ^ data.length
  let h2 = 0x85ebca6b
  const n = data.length & ~3
  for (let i = 0; i < n; i += 4) {
    const k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    h1 = Math.imul(h1 ^ k, 0xcc9e2d51)
    h1 = (h1 << 13) | (h1 >>> 19)
    h2 = Math.imul(h2 ^ k, 0x1b873593)
    h2 = ((h2 << 15) | (h2 >>> 17)) + h1 | 0
  }
  for (let i = n; i < data.length; i++) {
    h1 = Math.imul(h1 ^ data[i]!, 0xcc9e2d51)
    h2 = Math.imul(h2 ^ data[i]!, 0x1b873593) + h1 | 0
  }
  const out = new Uint8Array(HASH_BYTES)
  for (let j = 0; j < 8; j++) {
    let x = (h1 ^ Math.imul(j + 1, 0x9e3779b9)) + h2 | 0
    x ^= x >>> 16; x = Math.imul(x, 0x85ebca6b); x ^= x >>> 13; x = Math.imul(x, 0xc2b2ae35); x ^= x >>> 16
    h2 = (h2 ^ x) + 0x27d4eb2f | 0
    out[4 * j] = x & 0xff; out[4 * j + 1] = (x >>> 8) & 0xff; out[4 * j + 2] = (x >>> 16) & 0xff; out[4 * j + 3] = x >>> 24
  }
  return out
}

/** Level sizes and offsets of a tree with `n` leaves, cached per n. */
export interface Shape { n: number, sizes: number[], offsets: number[], total: number }
const shapes = new Map<number, Shape>()

export function shapeOf (n: number): Shape {
  let s = shapes.get(n)
  if (s !== undefined) return s
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_BATCH_LEAVES) throw new RangeError(`a batch has 1..${MAX_BATCH_LEAVES} leaves`)
  const sizes: number[] = []
  const offsets: number[] = []
  let size = n
  let off = 0
  for (;;) {
    sizes.push(size)
    offsets.push(off)
    off += size
    if (size === 1) break
    size = Math.ceil(size / 2)
  }
  s = { n, sizes, offsets, total: off }
  if (shapes.size < 1024) shapes.set(n, s)
  return s
}

/**
 * The nodes of one batch tree that this node knows: all of them for its own batches, the
 * leaves and proof paths it has seen for others'. One flat buffer (a node keeps one per batch
 * of every owner, so per-object overhead matters): `header` bytes for the caller (the batch
 * signature), then one "known" flag per node, then 32 bytes per node.
 */
export class BatchTree {
  readonly shape: Shape
  private readonly buf: Uint8Array
  private readonly base: number

  constructor (n: number, private readonly headerBytes = 0) {
    this.shape = shapeOf(n)
    this.base = headerBytes + this.shape.total
    this.buf = new Uint8Array(this.base + this.shape.total * HASH_BYTES)
  }

  /** The caller's header bytes (a view). */
  get header (): Uint8Array { return this.buf.subarray(0, this.headerBytes) }

  get n (): number { return this.shape.n }

  /** Builds the full tree of `leaves`. */
  static build (leaves: Uint8Array[], headerBytes = 0, h: Hash32 = hash): BatchTree {
    const t = new BatchTree(leaves.length, headerBytes)
    const { sizes } = t.shape
    leaves.forEach((h, i) => { t.set(0, i, h) })
    for (let l = 0; l + 1 < sizes.length; l++) {
      const size = sizes[l]!
      for (let i = 0; i < size; i += 2) {
        const left = t.get(l, i)!
        t.set(l + 1, i >> 1, i + 1 < size ? innerHash(left, t.get(l, i + 1)!, h) : left)
      }
    }
    return t
  }

  get root (): Uint8Array | undefined { return this.get(this.shape.sizes.length - 1, 0) }

  get (level: number, index: number): Uint8Array | undefined {
    const k = this.shape.offsets[level]! + index
    if (this.buf[this.headerBytes + k] !== 1) return undefined
    return this.buf.subarray(this.base + k * HASH_BYTES, this.base + (k + 1) * HASH_BYTES)
  }

  set (level: number, index: number, h: Uint8Array): void {
    const k = this.shape.offsets[level]! + index
    this.buf.set(h, this.base + k * HASH_BYTES)
    this.buf[this.headerBytes + k] = 1
  }

  /** Bytes this tree holds (for memory accounting). */
  get byteLength (): number { return this.buf.length }
}

/**
 * Runs the proof walk for the sorted, distinct leaf `indices` with their `leaves` hashes.
 * `sibling(level, index)` supplies each hash the walk cannot compute; `record` sees every node
 * the walk knows or computes. Returns the root, or undefined when `sibling` ran dry.
 */
export function walk (
  n: number,
  indices: readonly number[],
  leaves: readonly Uint8Array[],
  sibling: (level: number, index: number) => Uint8Array | undefined,
  record?: (level: number, index: number, h: Uint8Array) => void,
  hashFn: Hash32 = hash
): Uint8Array | undefined {
  const { sizes } = shapeOf(n)
  let idx = indices.slice()
  let hs = leaves.slice()
  if (record !== undefined) for (let k = 0; k < idx.length; k++) record(0, idx[k]!, hs[k]!)
  for (let level = 0; level + 1 < sizes.length; level++) {
    const size = sizes[level]!
    const nextIdx: number[] = []
    const nextHs: Uint8Array[] = []
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!
      const h = hs[k]!
      const sib = i ^ 1
      let parent: Uint8Array
      if (sib >= size) {
        parent = h
      } else if ((i & 1) === 0 && idx[k + 1] === sib) {
        parent = innerHash(h, hs[k + 1]!, hashFn)
        k++
      } else {
        const s = sibling(level, sib)
        if (s === undefined) return undefined
        record?.(level, sib, s)
        parent = (i & 1) === 0 ? innerHash(h, s, hashFn) : innerHash(s, h, hashFn)
      }
      nextIdx.push(i >> 1)
      nextHs.push(parent)
      record?.(level + 1, i >> 1, parent)
    }
    idx = nextIdx
    hs = nextHs
  }
  return hs[0]
}

/**
 * The multiproof for `indices` (sorted, distinct) from a tree that knows every needed node.
 * The same walk as `walk`, over indices only: the tree already has every node, nothing is hashed.
 */
export function prove (tree: BatchTree, indices: readonly number[]): Uint8Array | undefined {
  const { sizes } = tree.shape
  const parts: Uint8Array[] = []
  let idx = indices.slice()
  for (let level = 0; level + 1 < sizes.length; level++) {
    const size = sizes[level]!
    const next: number[] = []
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!
      const sib = i ^ 1
      if (sib < size) {
        if ((i & 1) === 0 && idx[k + 1] === sib) k++
        else {
          const h = tree.get(level, sib)
          if (h === undefined) return undefined
          parts.push(h)
        }
      }
      next.push(i >> 1)
    }
    idx = next
  }
  const out = new Uint8Array(parts.length * HASH_BYTES)
  parts.forEach((p, k) => { out.set(p, k * HASH_BYTES) })
  return out
}

/**
 * Checks a multiproof: returns the root it leads to and every node the walk knew or computed
 * (to be kept by the caller once the root is known to be right), or undefined when the proof
 * has too few or too many hashes.
 */
export function rootFromProof (n: number, indices: readonly number[], leaves: readonly Uint8Array[], proof: Uint8Array, h: Hash32 = hash): { root: Uint8Array, nodes: Array<[number, number, Uint8Array]> } | undefined {
  if (proof.length % HASH_BYTES !== 0) return undefined
  let off = 0
  const nodes: Array<[number, number, Uint8Array]> = []
  const root = walk(n, indices, leaves, () => {
    if (off + HASH_BYTES > proof.length) return undefined
    const h = proof.slice(off, off + HASH_BYTES)
    off += HASH_BYTES
    return h
  }, (l, i, x) => { nodes.push([l, i, x]) }, h)
  if (root === undefined || off !== proof.length) return undefined
  return { root, nodes }
}

/**
 * Counts, exactly and incrementally, how many hashes the multiproof of a growing set of leaves
 * needs, so that a message can be filled up to its byte budget without building proofs twice.
 */
export class ProofCounter {
  private readonly shape: Shape
  private readonly marked = new Set<number>()
  count = 0

  constructor (n: number) { this.shape = shapeOf(n) }

  /** The proof size after adding leaf `index`, without adding it. */
  peek (index: number): number {
    return this.count + this.change(index, false)
  }

  add (index: number): void {
    this.count += this.change(index, true)
  }

  private change (index: number, apply: boolean): number {
    const { sizes, offsets } = this.shape
    let delta = 0
    let i = index
    const marks: number[] = []
    const isMarked = (k: number): boolean => this.marked.has(k) || marks.includes(k)
    for (let level = 0; level < sizes.length; level++) {
      const k = offsets[level]! + i
      if (isMarked(k)) break
      marks.push(k)
      const sib = i ^ 1
      if (sib < sizes[level]!) {
        if (isMarked(offsets[level]! + sib)) delta--
        else delta++
      }
      i >>= 1
    }
    if (apply) for (const k of marks) this.marked.add(k)
    return delta
  }
}
