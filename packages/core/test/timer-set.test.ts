import { describe, expect, it } from 'vitest'
import { TimerSet } from '../src/util/clock.js'
import type { Clock } from '../src/util/clock.js'

/** A clock the test drives by hand; counts the timers it holds. */
function manualClock (): Clock & { advance: (ms: number) => void, pending: () => number } {
  let now = 0
  let seq = 0
  const timers = new Map<number, { at: number, fn: () => void }>()
  return {
    now: () => now,
    setTimeout: (fn, ms) => { const id = ++seq; timers.set(id, { at: now + ms, fn }); return id },
    clearTimeout: (h) => { timers.delete(h as number) },
    pending: () => timers.size,
    advance (ms) {
      const end = now + ms
      for (;;) {
        const due = [...timers.entries()].filter(([, x]) => x.at <= end).sort((x, y) => x[1].at - y[1].at || x[0] - y[0])[0]
        if (due === undefined) break
        timers.delete(due[0])
        now = due[1].at
        due[1].fn()
      }
      now = end
    }
  }
}

describe('TimerSet.every', () => {
  it('ticks every interval with one timer held at a time, and stops when cancelled, from outside or from its own tick', () => {
    const clock = manualClock()
    const timers = new TimerSet(clock)
    const at: number[] = []
    const cancel = timers.every(10, () => { at.push(clock.now()) })
    expect(timers.size).toBe(1)
    clock.advance(35)
    expect(at).toEqual([10, 20, 30])
    expect([timers.size, clock.pending()]).toEqual([1, 1])
    cancel()
    clock.advance(50)
    expect(at).toEqual([10, 20, 30])
    expect([timers.size, clock.pending()]).toEqual([0, 0])

    let n = 0
    const stop = timers.every(5, () => { if (++n === 2) stop() })
    clock.advance(100)
    expect(n).toBe(2)
    expect([timers.size, clock.pending()]).toEqual([0, 0])
  })

  it('stops after a tick that throws, and clear() cancels it', () => {
    const clock = manualClock()
    const timers = new TimerSet(clock)
    let n = 0
    timers.every(10, () => { n++; throw new Error('boom') })
    expect(() => { clock.advance(10) }).toThrow('boom')
    clock.advance(100)
    expect(n).toBe(1)
    expect(clock.pending()).toBe(0)

    let m = 0
    timers.every(10, () => { m++ })
    timers.clear()
    clock.advance(100)
    expect(m).toBe(0)
    expect([timers.size, clock.pending()]).toEqual([0, 0])
  })
})
