import { describe, expect, it } from 'vitest'
import { DedupCache } from '../../src/overlay/index.js'

describe('DedupCache', () => {
  it('reports new ids once', () => {
    const c = new DedupCache()
    expect(c.has('a', 0)).toBe(false)
    expect(c.add('a', 0)).toBe(true)
    expect(c.add('a', 1)).toBe(false)
    expect(c.has('a', 1)).toBe(true)
    expect(c.size).toBe(1)
  })

  it('forgets ids after maxAgeMs', () => {
    const c = new DedupCache({ maxAgeMs: 100 })
    c.add('a', 0)
    expect(c.has('a', 99)).toBe(true)
    expect(c.has('a', 100)).toBe(false)
    expect(c.add('a', 100)).toBe(true)
    expect(c.has('a', 150)).toBe(true)
  })

  it('keeps at most maxEntries, evicting the oldest first', () => {
    const c = new DedupCache({ maxEntries: 3 })
    for (const [i, id] of ['a', 'b', 'c', 'd', 'e'].entries()) c.add(id, i)
    expect(c.size).toBe(3)
    expect(['a', 'b', 'c', 'd', 'e'].map((id) => c.has(id, 10))).toEqual([false, false, true, true, true])
  })

  it('does not refresh an id that is re-added while still known', () => {
    const c = new DedupCache({ maxEntries: 3, maxAgeMs: 100 })
    c.add('a', 0); c.add('b', 1); c.add('c', 2)
    expect(c.add('a', 50)).toBe(false)
    c.add('d', 51)
    // 'a' was first seen before 'b' and 'c', so it goes first despite the re-add
    expect(c.has('a', 51)).toBe(false)
    expect(c.has('b', 51)).toBe(true)
    // and its age still counts from the first sighting
    const d = new DedupCache({ maxAgeMs: 100 })
    d.add('x', 0)
    d.add('x', 90)
    expect(d.has('x', 100)).toBe(false)
  })

  it('moves an expired id that is re-added to the young end', () => {
    const c = new DedupCache({ maxEntries: 3, maxAgeMs: 100 })
    c.add('a', 0); c.add('b', 50); c.add('c', 60)
    expect(c.add('a', 100)).toBe(true)
    c.add('d', 110)
    expect(c.has('a', 110)).toBe(true)
    expect(c.has('b', 110)).toBe(false)
    expect(c.has('c', 110)).toBe(true)
  })

  it('prune removes expired entries', () => {
    const c = new DedupCache({ maxAgeMs: 100 })
    for (let i = 0; i < 50; i++) c.add(`m${i}`, i)
    c.prune(120)
    expect(c.size).toBe(29)
    c.prune(1000)
    expect(c.size).toBe(0)
  })

  it('stays bounded under a long stream of fresh ids', () => {
    const c = new DedupCache({ maxEntries: 1000, maxAgeMs: 1e9 })
    for (let i = 0; i < 100_000; i++) c.add(`m${i}`, i)
    expect(c.size).toBe(1000)
    expect(c.has('m98999', 100_000)).toBe(false)
    expect(c.has('m99000', 100_000)).toBe(true)
  })

  it('rejects bad options', () => {
    expect(() => new DedupCache({ maxEntries: 0 })).toThrow(TypeError)
    expect(() => new DedupCache({ maxAgeMs: -1 })).toThrow(TypeError)
  })
})
