import { afterEach, describe, expect, it, vi } from 'vitest'
import { fullGc, reclaimAfterFloods } from '../src/reclaim.js'

afterEach(() => { vi.useRealTimers() })

describe('memory reclaim after a connection flood (issue 18: RSS stayed at the attack\'s level)', () => {
  it('runs full collections when a flood of inbound connections is over, and none for ordinary traffic', () => {
    vi.useFakeTimers()
    let count = 0
    const gc = vi.fn()
    const stop = reclaimAfterFloods({ count: () => count, gc, everyMs: 1000, busy: 100, quiet: 10 })
    // ordinary joins: never a collection
    for (let i = 0; i < 5; i++) { count += 20; vi.advanceTimersByTime(1000) }
    expect(gc).not.toHaveBeenCalled()
    // a flood: nothing while it lasts
    for (let i = 0; i < 3; i++) { count += 500; vi.advanceTimersByTime(1000) }
    expect(gc).not.toHaveBeenCalled()
    // over: a collection at once, then more, every period at first and sparser later (the
    // flood's last sockets close over the next seconds, caches let go of it later, and V8
    // shrinks its young generation only at a collection that finds the allocation rate low)
    // (each collection is two calls: what the first finds dead behind weak callbacks goes at the second)
    count += 5
    vi.advanceTimersByTime(1000)
    expect(gc).toHaveBeenCalledTimes(2)
    for (let i = 0; i < 10; i++) { count += 5; vi.advanceTimersByTime(1000) }
    expect(gc).toHaveBeenCalledTimes(2 * 8)
    for (let i = 0; i < 30; i++) { count += 5; vi.advanceTimersByTime(1000) }
    expect(gc).toHaveBeenCalledTimes(2 * 9)
    // the next flood starts it over
    count += 1000
    vi.advanceTimersByTime(1000)
    vi.advanceTimersByTime(1000)
    expect(gc).toHaveBeenCalledTimes(2 * 10)
    stop()
  })

  it('fullGc gives V8\'s full collection without --expose-gc', () => {
    const gc = fullGc()
    expect(typeof gc).toBe('function')
    let junk: object[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i }))
    const before = process.memoryUsage().heapUsed
    junk = undefined
    gc()
    expect(junk).toBeUndefined()
    expect(process.memoryUsage().heapUsed).toBeLessThan(before)
  })
})
