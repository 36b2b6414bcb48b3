/**
 * fast-check generators of wire messages: any msgpack value, and structure-aware mutations of
 * real messages (a field replaced, removed, added, retyped, blown up to the frame limit) so that
 * inputs get past the first shape check and reach the deeper parts of each handler.
 */
import fc from 'fast-check'

/** Field names the protocols use: random records pick from them so that they look like messages. */
const FIELDS = [
  't', 'id', 'hops', 'limit', 'payload', 'o', 'ty', 'd', 'nr', 'n', 'c', 's', 'r', 'h', 'l', 'addrs', 'newId',
  'newAddrs', 'ttl', 'priority', 'accepted', 'peers', 'origin', 'originAddrs', 'ids', 'f', 'g', 'e', 'i', 'x', 'reason'
]

const EDGE_NUMBERS = [0, -0, -1, 1, 2, 3, 6, 255, 256, 65535, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_VALUE, Number.MIN_VALUE]

export function peerIdArb (known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...known),
    fc.stringMatching(/^[a-z2-7]{52}$/),
    fc.string({ minLength: 51, maxLength: 53 })
  )
}

export function anyValue (ids: string[]): fc.Arbitrary<unknown> {
  const { value } = fc.letrec(tie => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 4 },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.nat(300),
      fc.constantFrom(...EDGE_NUMBERS),
      fc.double(),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'grapheme', maxLength: 10 }),
      fc.constantFrom('', 'high', 'low', 'memory:victim', 'memory:nowhere', 'ws://127.0.0.1:1', 'tcp://[::1]:1', 'shutdown', 'duplicate', 'refused', 'room.join', 'chat', 'st.bc', 'hs.ping', 'fz'),
      peerIdArb(ids),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'length')), tie('value'), { maxKeys: 6 })
    )
  }))
  return value
}

/** Values near the frame limit (256 KiB by default) and other shapes that are cheap on the wire but may be dear to process. */
export function hostileValues (frameBytes: number): unknown[] {
  const room = frameBytes - 1024
  let deep: unknown = 1
  for (let i = 0; i < 2_000; i++) deep = [deep]
  let deepMap: unknown = 1
  for (let i = 0; i < 2_000; i++) deepMap = { d: deepMap }
  return [
    'x'.repeat(room),
    new Uint8Array(room),
    new Array(Math.floor(room / 2)).fill(0),
    new Array(Math.floor(room / 60)).fill('y'.repeat(52)),
    Object.fromEntries(Array.from({ length: Math.floor(room / 10) }, (_, i) => [`k${i}`, i])),
    new Array(Math.floor(room / 8)).fill({}),
    deep,
    deepMap
  ]
}

type Path = Array<string | number>

function paths (v: unknown, at: Path = [], out: Path[] = [], depth = 0): Path[] {
  out.push(at)
  if (depth > 6) return out
  if (Array.isArray(v)) v.slice(0, 16).forEach((x, i) => paths(x, [...at, i], out, depth + 1))
  else if (isPlainRecord(v)) for (const k of Object.keys(v).slice(0, 16)) paths(v[k], [...at, k], out, depth + 1)
  return out
}

function isPlainRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/** A copy down to the depth `paths` walks; below it (hostile values) the parts are shared, never mutated. */
function clone (v: unknown, depth = 0): unknown {
  if (depth > 8) return v
  if (v instanceof Uint8Array) return new Uint8Array(v)
  if (Array.isArray(v)) return v.map(x => clone(x, depth + 1))
  if (isPlainRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x, depth + 1)]))
  return v
}

export type Op =
  | { kind: 'replace', at: number, value: unknown }
  | { kind: 'delete', at: number }
  | { kind: 'insert', at: number, key: string, value: unknown }
  | { kind: 'repeat', at: number, times: number }
  | { kind: 'hostile', at: number, which: number }

/** Applies `ops` to a copy of `sample`; `at` (0..1) picks the node the op works on. */
export function applyOps (sample: unknown, ops: Op[], hostile: unknown[]): unknown {
  let root = clone(sample)
  for (const op of ops) {
    const all = paths(root)
    const path = all[Math.min(all.length - 1, Math.floor(op.at * all.length))]!
    const get = (p: Path): unknown => p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root)
    const set = (p: Path, value: unknown): void => {
      if (p.length === 0) { root = value; return }
      const parent = get(p.slice(0, -1)) as Record<string | number, unknown>
      parent[p[p.length - 1]!] = value
    }
    switch (op.kind) {
      case 'replace': set(path, op.value); break
      case 'hostile': set(path, hostile[op.which % hostile.length]); break
      case 'delete': {
        if (path.length === 0) { root = undefined; break }
        const parent = get(path.slice(0, -1))
        const k = path[path.length - 1]!
        if (Array.isArray(parent)) parent.splice(Number(k), 1)
        else delete (parent as Record<string, unknown>)[k]
        break
      }
      case 'insert': {
        const target = get(path)
        if (Array.isArray(target)) set(path, [...target, op.value])
        else if (isPlainRecord(target)) set(path, { ...target, [op.key]: op.value })
        else set(path, { [op.key]: op.value })
        break
      }
      case 'repeat': {
        const target = get(path)
        if (Array.isArray(target) && target.length > 0) set(path, [...target, ...new Array(op.times).fill(target[0])])
        else set(path, new Array(op.times).fill(target))
        break
      }
    }
  }
  return root
}

export function opsArb (ids: string[]): fc.Arbitrary<Op[]> {
  const at = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('replace' as const), at, value: anyValue(ids) }), weight: 10 },
    { arbitrary: fc.record({ kind: fc.constant('delete' as const), at }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('insert' as const), at, key: fc.constantFrom(...FIELDS, 'x', ''), value: anyValue(ids) }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('repeat' as const), at, times: fc.oneof(fc.nat(8), fc.constant(1_000)) }), weight: 2 },
    // big values cost the most to send: rarer, but every target meets each kind
    { arbitrary: fc.record({ kind: fc.constant('hostile' as const), at, which: fc.nat() }), weight: 1 }
  )
  return fc.array(op, { minLength: 1, maxLength: 3 })
}

/** One input for a message type: a mutated real message, a field-wise scrambled one, or anything at all. */
export type Input =
  | { kind: 'mutated', sample: number, ops: Op[] }
  | { kind: 'any', value: unknown }

export function inputArb (samples: number, ids: string[]): fc.Arbitrary<Input> {
  return fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('mutated' as const), sample: fc.nat(samples - 1), ops: opsArb(ids) }), weight: 7 },
    { arbitrary: fc.record({ kind: fc.constant('any' as const), value: anyValue(ids) }), weight: 3 }
  )
}
