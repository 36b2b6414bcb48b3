import type { Random } from '../util/clock.js'

/** A uniformly chosen element, or undefined if there is none. */
export function pick<T> (random: Random, items: readonly T[]): T | undefined {
  if (items.length === 0) return undefined
  return items[Math.min(items.length - 1, Math.floor(random.float() * items.length))]
}

/** Up to `k` distinct elements in random order (a partial Fisher–Yates on a copy). */
export function sample<T> (random: Random, items: Iterable<T>, k: number): T[] {
  const a = [...items]
  const n = Math.min(k, a.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.min(a.length - i - 1, Math.floor(random.float() * (a.length - i)))
    const t = a[i]!
    a[i] = a[j]!
    a[j] = t
  }
  a.length = Math.max(0, n)
  return a
}
