import { describe, expect, it } from 'vitest'
import { ExpiringMap } from '../src/index.js'
import { shareOrigin } from '../src/overlay/announce.js'

describe('ExpiringMap.replace', () => {
  it('swaps the value of a live key, keeping its age and its place in the eviction order', () => {
    const m = new ExpiringMap<string, string | string[]>(2, 100)
    m.set('a', 'x', 0)
    m.set('b', 'y', 50)
    expect(m.replace('a', ['x', 'z'], 90)).toBe(true)
    expect(m.get('a', 90)).toEqual(['x', 'z'])
    // still the oldest: the next insert evicts it, and it expires at its first age
    m.set('c', 'w', 95)
    expect(m.get('a', 95)).toBeUndefined()
    expect(m.keys(95)).toEqual(['b', 'c'])
    expect(m.replace('b', 'v', 151)).toBe(false) // expired at 150 + ε
  })

  it('does not insert an absent key', () => {
    const m = new ExpiringMap<string, number>(4, 100)
    expect(m.replace('a', 1, 0)).toBe(false)
    expect(m.size).toBe(0)
  })
})

describe('shareOrigin', () => {
  it('makes the announce payload\'s origin the gossip\'s own string, and leaves anything else alone', () => {
    const o = 'a'.repeat(52)
    const msg = { id: 'i', o, payload: { o: 'a'.repeat(52), ty: 't', d: 1 } }
    expect(shareOrigin(msg)).toBe(msg)
    expect(msg.payload.o).toBe(o)
    const other = { id: 'i', o, payload: { o: 'b'.repeat(52) } }
    shareOrigin(other)
    expect(other.payload.o).toBe('b'.repeat(52))
    for (const v of [null, 1, 'x', { o: 1, payload: { o: 1 } }, { o, payload: null }]) expect(shareOrigin(v)).toBe(v)
  })
})
