import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/util/clock.js'
import { FailureDetector, PhiAccrual, phiOf } from '../../src/overlay/index.js'

/** Time at which phi first reaches `threshold` after the last heartbeat at `last`. */
function crossing (d: PhiAccrual, last: number, threshold: number): number {
  for (let t = last; t < last + 100_000; t += 10) if (d.phi(t) >= threshold) return t - last
  return Infinity
}

describe('phi', () => {
  it('is -log10(1/2) at the mean and grows with the delay', () => {
    expect(phiOf(1000, 1000, 100)).toBeCloseTo(Math.log10(2), 3)
    expect(phiOf(500, 1000, 100)).toBeLessThan(0.01)
    expect(phiOf(1200, 1000, 100)).toBeGreaterThan(phiOf(1100, 1000, 100))
    expect(phiOf(1300, 1000, 100)).toBeCloseTo(-Math.log10(0.00135), 0)
  })

  it('is 0 before the first heartbeat', () => {
    expect(new PhiAccrual().phi(12345)).toBe(0)
  })

  it('stays low under steady heartbeats', () => {
    const d = new PhiAccrual()
    let max = 0
    for (let t = 0; t < 200_000; t += 1000) {
      max = Math.max(max, d.phi(t))
      d.heartbeat(t)
    }
    expect(max).toBeLessThan(1)
  })

  it('keeps the last windowSize intervals (a ring: the oldest go first)', () => {
    // phi is -log10(1/2) exactly when the silence equals the window's mean interval
    const half = -Math.log10(0.5)
    const d = new PhiAccrual({ windowSize: 4, firstHeartbeatEstimateMs: 1000, minStdDevMs: 1 })
    let t = 0
    const beat = (gap: number): void => { t += gap; d.heartbeat(t) }
    d.heartbeat(t)
    // the two seeded samples (750, 1250) plus two of 100: mean 550
    beat(100); beat(100)
    expect(d.phi(t + 550)).toBeCloseTo(half, 9)
    // the seeds are pushed out: [100, 100, 100, 100]
    beat(100); beat(100)
    expect(d.phi(t + 100)).toBeCloseTo(half, 9)
    // wraps around: [300, 300, 100, 100], then [300, 300, 300, 300], then [50, 300, 300, 300]
    beat(300); beat(300)
    expect(d.phi(t + 200)).toBeCloseTo(half, 9)
    beat(300); beat(300)
    expect(d.phi(t + 300)).toBeCloseTo(half, 9)
    beat(50)
    expect(d.phi(t + 237.5)).toBeCloseTo(half, 9)
    // many windows later (sums recomputed every windowSize pushes) it still tracks exactly
    for (let i = 0; i < 1000; i++) beat(i % 2 === 0 ? 90 : 110)
    expect(d.phi(t + 100)).toBeCloseTo(half, 9)
  })

  it('rises past 8 within a bounded time once heartbeats stop', () => {
    const d = new PhiAccrual()
    for (let t = 0; t <= 100_000; t += 1000) d.heartbeat(t)
    const after = crossing(d, 100_000, 8)
    // mean 1000 ms with the 100 ms deviation floor: about 1000 + 5.6 σ
    expect(after).toBeGreaterThan(1000)
    expect(after).toBeLessThan(2000)
    // and phi only grows while silent
    let prev = 0
    for (let t = 100_000; t < 104_000; t += 50) {
      const p = d.phi(t)
      expect(p).toBeGreaterThanOrEqual(prev)
      prev = p
    }
  })

  it('detects a peer that falls silent right after its first heartbeat', () => {
    const d = new PhiAccrual({ firstHeartbeatEstimateMs: 500 })
    d.heartbeat(0)
    expect(crossing(d, 0, 8)).toBeLessThan(1500)
  })

  it('acceptableHeartbeatPauseMs delays detection by that much', () => {
    const a = new PhiAccrual()
    const b = new PhiAccrual({ acceptableHeartbeatPauseMs: 3000 })
    for (let t = 0; t <= 50_000; t += 1000) { a.heartbeat(t); b.heartbeat(t) }
    expect(crossing(b, 50_000, 8) - crossing(a, 50_000, 8)).toBeCloseTo(3000, -2)
  })

  it('rejects bad options', () => {
    expect(() => new PhiAccrual({ windowSize: 1 })).toThrow(TypeError)
    expect(() => new PhiAccrual({ minStdDevMs: 0 })).toThrow(TypeError)
    expect(() => new FailureDetector({ threshold: 0 })).toThrow(TypeError)
  })
})

describe('FailureDetector', () => {
  it('does not false-trigger on jittered heartbeats', () => {
    const random = seededRandom(7)
    const fd = new FailureDetector()
    const peers = ['a', 'b', 'c']
    const next = new Map(peers.map((p) => [p, 0]))
    let downs = 0
    let maxPhi = 0
    for (let t = 0; t < 2_000_000; t += 50) {
      for (const p of peers) {
        if (next.get(p)! <= t) {
          maxPhi = Math.max(maxPhi, fd.phi(p, t))
          fd.heartbeat(p, t)
          // 1 s ± 300 ms, uniformly
          next.set(p, t + 700 + Math.floor(random.float() * 600))
        }
      }
      downs += fd.check(t).down.length
    }
    expect(downs).toBe(0)
    expect(maxPhi).toBeLessThan(3)
  })

  it('reports each down and up transition exactly once', () => {
    const fd = new FailureDetector()
    let t = 0
    for (; t <= 30_000; t += 1000) { fd.heartbeat('a', t); fd.heartbeat('b', t); expect(fd.check(t)).toEqual({ down: [], up: [] }) }
    const silentSince = t - 1000
    const events: Array<[number, string, string]> = []
    for (; t <= 60_000; t += 100) {
      fd.heartbeat('b', t)
      const { down, up } = fd.check(t)
      for (const p of down) events.push([t, 'down', p])
      for (const p of up) events.push([t, 'up', p])
    }
    expect(events.map(([, e, p]) => `${e}:${p}`)).toEqual(['down:a'])
    expect(events[0]![0] - silentSince).toBeLessThan(2000)

    fd.heartbeat('a', t)
    fd.heartbeat('a', t + 10)
    expect(fd.check(t + 20)).toEqual({ down: [], up: ['a'] })
    expect(fd.check(t + 30)).toEqual({ down: [], up: [] })

    // the outage was not learned as an interval: detection is as quick as before
    t += 1000
    for (const end = t + 20_000; t <= end; t += 1000) { fd.heartbeat('a', t); fd.heartbeat('b', t); fd.check(t) }
    const last = t - 1000
    let downAt = -1
    for (; t < last + 10_000; t += 100) {
      fd.heartbeat('b', t)
      if (fd.check(t).down.includes('a')) { downAt = t; break }
    }
    expect(downAt - last).toBeGreaterThan(1000)
    expect(downAt - last).toBeLessThan(2000)
  })

  it('a removed peer raises no event', () => {
    const fd = new FailureDetector()
    for (let t = 0; t <= 10_000; t += 1000) fd.heartbeat('a', t)
    fd.remove('a')
    expect(fd.check(100_000)).toEqual({ down: [], up: [] })
    expect(fd.has('a')).toBe(false)
  })

  it('a heartbeat that arrives before check noticed the silence is not an outage', () => {
    const fd = new FailureDetector()
    for (let t = 0; t <= 10_000; t += 1000) fd.heartbeat('a', t)
    fd.heartbeat('a', 30_000)
    expect(fd.check(30_001)).toEqual({ down: [], up: [] })
  })
})

describe('PhiAccrual.below', () => {
  it('answers phi(now) < threshold exactly, with or without the shortcut below the mean', () => {
    for (const pause of [0, 300]) {
      const d = new PhiAccrual({ minStdDevMs: 50, acceptableHeartbeatPauseMs: pause })
      let t = 0
      for (const gap of [900, 1100, 1000, 950, 1050, 400, 1600]) d.heartbeat(t += gap)
      for (const threshold of [0.1, 0.30103, 0.31, 1, 8, 16]) {
        for (let dt = -10; dt < 4000; dt += 7) expect(d.below(t + dt, threshold)).toBe(d.phi(t + dt) < threshold)
      }
    }
    expect(new PhiAccrual().below(5, 8)).toBe(true)
  })
})
