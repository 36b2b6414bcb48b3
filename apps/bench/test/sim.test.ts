import { describe, expect, it } from 'vitest'
import { runScenario, TIMING_FIELDS } from '../src/scenarios.js'
import type { Row } from '../src/scenarios.js'
import { VirtualClock } from '../src/virtual-clock.js'
import { simCodec } from '../src/sim-network.js'
import { decodeEnvelope, DEFAULT_LIMITS, encodeEnvelope } from '@hearsay/core'

/** Rows without the fields that depend on the machine rather than the seed. */
function withoutTiming (rows: Row[]): Array<Record<string, unknown>> {
  return rows.map((r) => {
    const c: Record<string, unknown> = { ...r }
    for (const f of TIMING_FIELDS) delete c[f]
    return c
  })
}

describe('virtual clock', () => {
  it('runs events in (time, insertion) order, skips cancelled ones and drains promises between instants', async () => {
    const clock = new VirtualClock()
    const seen: string[] = []
    clock.setTimeout(() => { seen.push('b@10') }, 10)
    clock.setTimeout(() => {
      seen.push('a@5')
      // a promise continuation scheduling at the same instant runs before time moves on
      void Promise.resolve().then(() => { clock.setTimeout(() => { seen.push(`c@${clock.now()}`) }, 0) })
    }, 5)
    const h = clock.setTimeout(() => { seen.push('never') }, 7)
    clock.setTimeout(() => { seen.push('d@10') }, 10)
    clock.clearTimeout(h)
    await clock.runUntil(9)
    expect(clock.now()).toBe(9)
    await clock.runFor(100)
    expect(seen).toEqual(['a@5', 'c@5', 'b@10', 'd@10'])
    expect(clock.now()).toBe(109)
    expect(clock.pending).toBe(0)
  })
})

describe('overlay simulator, 200 nodes', () => {
  it('steady: every broadcast reaches every node, Plumtree sends fewer payloads than flood, and the same seed gives the same rows', async () => {
    // two settle rounds instead of three keep the file well under a minute on a busy machine
    const opts = { nodes: 200, seed: 7, broadcasts: 20, config: { settleRounds: 2 } }
    const first = await runScenario('steady', opts)
    expect(first.map(r => r.mode)).toEqual(['flood', 'plumtree'])
    for (const r of first) {
      expect(r.scenario).toBe('steady')
      expect(r.nodes).toBe(200)
      expect(r.broadcasts).toBe(20)
      expect(r.deliveryRatio).toBe(1)
      expect(r.minDeliveryRatio).toBe(1)
      expect(r.connected).toBe(true)
      expect(r.lastDeliveryHop).toBeGreaterThan(0)
      expect(r.eventsPerSecond).toBeGreaterThan(0)
      expect(r.peakRssBytes).toBeGreaterThan(0)
    }
    const [flood, plumtree] = first as [Row, Row]
    expect(plumtree.rmr).not.toBeNull()
    expect(plumtree.rmr!).toBeLessThan(flood.rmr!)
    // flood sends every payload over every link but one: about (degree − 2) redundant copies
    expect(flood.rmr!).toBeGreaterThan(1)
    const second = await runScenario('steady', opts)
    expect(withoutTiming(second)).toEqual(withoutTiming(first))
  }, 60_000)

  it('mass-failure at 50 %: the survivors get every broadcast again once membership repaired the overlay', async () => {
    const rows = await runScenario('mass-failure', { nodes: 200, seed: 7, fractions: [0.5], broadcasts: 5, config: { settleRounds: 2 } })
    expect(rows).toHaveLength(8)
    for (const mode of ['flood', 'plumtree']) {
      const mine = rows.filter(r => r.mode === mode)
      expect(mine.map(r => r.roundsAfterFailure)).toEqual([0, 1, 2, 4])
      for (const r of mine) {
        expect(r.failedFraction).toBe(0.5)
        expect(r.survivors).toBe(100)
        expect(r.deliveryRatio).toBeGreaterThan(0.9)
        if ((r.roundsAfterFailure as number) >= 1) expect(r.deliveryRatio).toBe(1)
      }
    }
  }, 60_000)
})

describe('virtual clock: whole and fractional times', () => {
  it('keeps (time, insertion) order across whole and fractional times and does not count an instant whose events were all cancelled', async () => {
    const clock = new VirtualClock()
    const seen: string[] = []
    clock.setTimeout(() => { seen.push('3') }, 3)
    clock.setTimeout(() => { seen.push('2.5') }, 2.5)
    clock.setTimeout(() => {
      seen.push('1')
      // from a whole time: delay 0 joins this instant, a fractional delay makes a new one
      clock.setTimeout(() => { seen.push(`1+0@${clock.now()}`) }, 0)
      clock.setTimeout(() => { seen.push(`1+0.25@${clock.now()}`) }, 0.25)
    }, 1)
    clock.setTimeout(() => {
      seen.push('1.25')
      // from a fractional time, a whole delay lands on a fractional time
      clock.setTimeout(() => { seen.push(`1.25+1@${clock.now()}`) }, 1)
    }, 1.25)
    const dead = [clock.setTimeout(() => { seen.push('never') }, 2), clock.setTimeout(() => { seen.push('never') }, 2)]
    for (const h of dead) clock.clearTimeout(h)
    expect(clock.nextAt()).toBe(1)
    await clock.runUntil(10)
    expect(seen).toEqual(['1', '1+0@1', '1.25', '1+0.25@1.25', '2.25', '2.5', '3'].map(s => s === '2.25' ? '1.25+1@2.25' : s))
    // 1, 1.25, 2.25, 2.5, 3: the instant at 2 had only cancelled events
    expect(clock.instants).toBe(5)
    expect(clock.eventsRun).toBe(7)
    expect(clock.nextAt()).toBeUndefined()
  })
})

describe('simulator codec', () => {
  it('hands the receiver a copy of the sent data, as msgpack would decode it, and decodes the bytes of anything it cannot copy or a frame it already handed out', () => {
    const data = { id: 'x', hops: 1, list: [{ id: 'p', addrs: ['memory:n1'] }], bytes: Uint8Array.of(1, 2), nothing: null, zero: -0 }
    const frame = simCodec.encode({ type: 'pt.gossip', data }, DEFAULT_LIMITS)
    expect(frame).toEqual(encodeEnvelope({ type: 'pt.gossip', data }, DEFAULT_LIMITS))
    // the sender changing its data after the send does not reach the receiver
    data.list[0]!.addrs.push('memory:n2')
    const got = simCodec.decode(frame, DEFAULT_LIMITS)
    expect(got.type).toBe('pt.gossip')
    expect(got.data).toEqual(decodeEnvelope(encodeEnvelope({ type: 'pt.gossip', data: { ...data, list: [{ id: 'p', addrs: ['memory:n1'] }] } })).data)
    expect(Object.is((got.data as { zero: number }).zero, 0)).toBe(true)
    expect((got.data as { bytes: Uint8Array }).bytes).not.toBe(data.bytes)
    // a second receiver of the same frame gets it decoded, not shared
    const again = simCodec.decode(frame, DEFAULT_LIMITS)
    expect(again.data).toEqual(got.data)
    expect(again.data).not.toBe(got.data)
    // a Map is not plain data: decoded from the bytes (an object, as on a real link)
    const m = simCodec.decode(simCodec.encode({ type: 'hv.x', data: { m: new Map([['k', 1]]) } }, DEFAULT_LIMITS), DEFAULT_LIMITS)
    expect(m.data).toEqual({ m: { k: 1 } })
  })
})
