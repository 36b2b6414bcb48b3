/**
 * Wildcard patterns over dotted names, shared by state change events (`set:<pattern>`) and the
 * event bus (`hear(pattern)`).
 *
 * A name is split into segments on `.` and on `:` (the two separators are equivalent:
 * `room.join` and `room:join` are the same two segments). In a pattern, a segment that is
 * exactly `*` matches one segment, a segment that is exactly `**` matches any number of
 * segments, zero included; every other segment matches itself literally (a `*` inside a
 * segment, as in `ro*m`, is an ordinary character). Matching is case-sensitive.
 *
 * | pattern        | matches                                  | does not match          |
 * |----------------|------------------------------------------|-------------------------|
 * | `room.*`       | `room.join`, `room:leave`                | `room`, `room.a.b`      |
 * | `room.**`      | `room`, `room.join`, `room.a.b`          | `rooms.a`               |
 * | `*.join`       | `room.join`, `lobby:join`                | `join`, `a.b.join`      |
 * | `**.join`      | `join`, `a.join`, `a.b.join`             | `join.a`                |
 * | `**`           | everything                               |                         |
 */

const SEPARATOR = /[.:]/

/** Splits a name or a pattern into its segments. */
export function segments (name: string): string[] {
  return name.split(SEPARATOR)
}

/** True if `pattern` contains a `*` or `**` segment. */
export function hasWildcard (pattern: string): boolean {
  return segments(pattern).some(s => s === '*' || s === '**')
}

/** A compiled pattern: call it with a name. Compile once, match often. */
export type Matcher = (name: string) => boolean

/** Compiles a pattern. Throws `TypeError` for a non-string or empty pattern. */
export function compilePattern (pattern: string): Matcher {
  if (typeof pattern !== 'string' || pattern.length === 0) throw new TypeError('a pattern must be a non-empty string')
  const pat = segments(pattern)
  // collapse runs of ** (they mean the same as one) so that matching stays linear in practice
  const p: string[] = []
  for (const s of pat) if (!(s === '**' && p[p.length - 1] === '**')) p.push(s)
  if (p.length === 1 && p[0] === '**') return () => true
  if (!p.includes('*') && !p.includes('**')) {
    const literal = p.join('.')
    return (name) => typeof name === 'string' && segments(name).join('.') === literal
  }
  return (name) => typeof name === 'string' && matchSegments(p, segments(name))
}

/** Matches `name` against `pattern` (compiles each time; use `compilePattern` in hot paths). */
export function matchPattern (pattern: string, name: string): boolean {
  return compilePattern(pattern)(name)
}

/**
 * Iterative glob matching with backtracking to the last `**` only (the classic two-pointer
 * algorithm): O(pattern × name) in the worst case, no recursion, no regular expressions built
 * from user input.
 */
function matchSegments (p: string[], n: string[]): boolean {
  let pi = 0
  let ni = 0
  let starP = -1
  let starN = 0
  while (ni < n.length) {
    const s = p[pi]
    if (s === '**') {
      starP = pi++
      starN = ni
    } else if (s !== undefined && (s === '*' || s === n[ni])) {
      pi++
      ni++
    } else if (starP >= 0) {
      pi = starP + 1
      ni = ++starN
    } else {
      return false
    }
  }
  while (p[pi] === '**') pi++
  return pi === p.length
}

/**
 * Listeners keyed by pattern: `emit(name, payload)` calls every listener whose pattern
 * matches `name`. Exact names are looked up directly; wildcard patterns are tested in turn.
 * A throwing listener does not stop the others; its error goes to `onError`.
 */
export class PatternListeners<T> {
  readonly #exact = new Map<string, Set<(payload: T, name: string) => void>>()
  readonly #wild: Array<{ match: Matcher, fn: (payload: T, name: string) => void }> = []

  constructor (private readonly onError: (err: unknown) => void) {}

  get size (): number {
    let n = this.#wild.length
    for (const s of this.#exact.values()) n += s.size
    return n
  }

  add (pattern: string, fn: (payload: T, name: string) => void): () => void {
    if (typeof fn !== 'function') throw new TypeError('a listener must be a function')
    const match = compilePattern(pattern)
    if (!hasWildcard(pattern)) {
      const key = segments(pattern).join('.')
      let set = this.#exact.get(key)
      if (set === undefined) { set = new Set(); this.#exact.set(key, set) }
      // a fresh wrapper per registration: the same function added twice is called twice
      const wrapper = (payload: T, name: string): void => { fn(payload, name) }
      set.add(wrapper)
      return () => {
        set.delete(wrapper)
        if (set.size === 0 && this.#exact.get(key) === set) this.#exact.delete(key)
      }
    }
    const entry = { match, fn }
    this.#wild.push(entry)
    return () => {
      const i = this.#wild.indexOf(entry)
      if (i >= 0) this.#wild.splice(i, 1)
    }
  }

  /** True if some listener would be called for `name`. */
  has (name: string): boolean {
    if (this.#exact.has(segments(name).join('.'))) return true
    return this.#wild.some(w => w.match(name))
  }

  emit (name: string, payload: T): number {
    const fns: Array<(payload: T, name: string) => void> = []
    const set = this.#exact.get(segments(name).join('.'))
    if (set !== undefined) fns.push(...set)
    for (const w of this.#wild) if (w.match(name)) fns.push(w.fn)
    for (const fn of fns) {
      try { fn(payload, name) } catch (err) { this.onError(err) }
    }
    return fns.length
  }

  clear (): void {
    this.#exact.clear()
    this.#wild.length = 0
  }
}
