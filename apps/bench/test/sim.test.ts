import { describe, expect, it } from 'vitest'
import { runScenario, TIMING_FIELDS } from '../src/scenarios.js'
import type { Row } from '../src/scenarios.js'
import { VirtualClock } from '../src/virtual-clock.js'
import { packedSize, simCodec } from '../src/sim-network.js'
import { decodeEnvelope, DEFAULT_LIMITS, encodeEnvelope, TooLargeError } from '@hearsay/core'

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
  it('hands the receiver a copy of the sent data, as msgpack would decode it, on a frame as long as its msgpack encoding, and decodes the bytes of anything it cannot copy', () => {
    const data = { id: 'x', hops: 1, list: [{ id: 'p', addrs: ['memory:n1'] }], bytes: Uint8Array.of(1, 2), nothing: null, zero: -0 }
    const frame = simCodec.encode({ type: 'pt.gossip', data }, DEFAULT_LIMITS)
    expect(frame.length).toBe(encodeEnvelope({ type: 'pt.gossip', data }, DEFAULT_LIMITS).length)
    // the sender changing its data after the send does not reach the receiver
    data.list[0]!.addrs.push('memory:n2')
    const got = simCodec.decode(frame, DEFAULT_LIMITS)
    expect(got.type).toBe('pt.gossip')
    expect(got.data).toEqual(decodeEnvelope(encodeEnvelope({ type: 'pt.gossip', data: { ...data, list: [{ id: 'p', addrs: ['memory:n1'] }] } })).data)
    expect(Object.is((got.data as { zero: number }).zero, 0)).toBe(true)
    expect((got.data as { bytes: Uint8Array }).bytes).not.toBe(data.bytes)
    // the frame has no bytes to decode: a second receiver is a bug, and says so
    expect(() => simCodec.decode(frame, DEFAULT_LIMITS)).toThrow(/decoded twice/)
    // a Map is not plain data: encoded and decoded from the bytes (an object, as on a real link)
    const mapFrame = simCodec.encode({ type: 'hv.x', data: { m: new Map([['k', 1]]) } }, DEFAULT_LIMITS)
    expect(mapFrame).toEqual(encodeEnvelope({ type: 'hv.x', data: { m: new Map([['k', 1]]) } }, DEFAULT_LIMITS))
    expect(simCodec.decode(mapFrame, DEFAULT_LIMITS).data).toEqual({ m: { k: 1 } })
    // the same errors as the real codec
    expect(() => simCodec.encode({ type: '', data: null }, DEFAULT_LIMITS)).toThrow(TypeError)
    expect(() => simCodec.encode({ type: 'hv.x', data: 'x'.repeat(DEFAULT_LIMITS.maxFrameBytes) }, DEFAULT_LIMITS)).toThrow(TooLargeError)
  })

  it('computes the length msgpack encodes, at every header boundary', () => {
    const str = (n: number, c = 'a'): string => c.repeat(n)
    const values: unknown[] = [
      null, undefined, true, false, 0, -0, 1, 31, 32, 63, 64, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53,
      -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -0.5, 1e300, NaN, Infinity, -Infinity, Date.now(),
      '', str(31), str(32), str(255), str(256), str(65535), str(65536), str(10, 'é'), str(11, 'é'), str(16, 'é'), str(128, 'é'),
      str(10, '€'), str(86, '€'), '😀', str(40, '😀'), '\ud800', 'a\ud800b', '\udc00', str(70, '\ud800'), 'x😀y€é',
      [], [1, 2, 3], Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i * 1000), Array.from({ length: 70000 }, () => 0),
      {}, { a: 1 }, Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])), Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, `v${i}`])),
      Uint8Array.of(), new Uint8Array(255), new Uint8Array(256), new Uint8Array(65535), new Uint8Array(65536),
      { id: 'b17', hops: 3, limit: 32, payload: { type: 'bench', data: 17, ttl: 1000 }, list: [{ id: 'n', addrs: ['memory:n1', 'memory:n2'] }], gone: undefined },
      [[[[{ deep: [null, { x: -0.25 }] }]]]]
    ]
    for (const v of values) {
      const want = encodeEnvelope({ type: 'hv.test', data: v }, { ...DEFAULT_LIMITS, maxFrameBytes: 1 << 24 }).length
      expect([v, simCodec.encode({ type: 'hv.test', data: v }, { ...DEFAULT_LIMITS, maxFrameBytes: 1 << 24 }).length]).toEqual([v, want])
      expect(2 + packedSize('hv.test', 0) + packedSize(v, 0)).toBe(want)
    }
    // the type string too
    for (const t of ['a', str(31, 'b'), str(32, 'c'), str(20, 'é')]) expect(simCodec.encode({ type: t, data: null }, DEFAULT_LIMITS).length).toBe(encodeEnvelope({ type: t, data: null }).length)
  })
})
