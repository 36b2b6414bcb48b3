import { describe, expect, it } from 'vitest'
import { counterName, renderMetrics } from '../src/prometheus.js'
import { parseExposition, sampleValue } from './prometheus-format.js'

describe('Prometheus text rendering', () => {
  it('renders counters as *_total families, drops as one family with a reason label, gauges as gauges', () => {
    const text = renderMetrics(
      { 'messages.in': 5, 'bytes.out': 1024, 'drops.invalid-frame': 2, 'drops.unknown-type': 1, 'membership.store-dials.ok': 3 },
      [{ name: 'peers', help: 'connected', value: 4 }, { name: 'info', help: 'who', value: 1, labels: { id: 'abc' } }]
    )
    const f = parseExposition(text)
    expect(f.get('hearsay_messages_in_total')).toMatchObject({ type: 'counter', samples: [{ value: 5, labels: {} }] })
    expect(sampleValue(f, 'hearsay_bytes_out_total')).toBe(1024)
    expect(sampleValue(f, 'hearsay_membership_store_dials_ok_total')).toBe(3)
    expect(f.get('hearsay_drops_total')?.type).toBe('counter')
    expect(sampleValue(f, 'hearsay_drops_total', { reason: 'invalid-frame' })).toBe(2)
    expect(sampleValue(f, 'hearsay_drops_total', { reason: 'unknown-type' })).toBe(1)
    expect(f.get('hearsay_peers')).toMatchObject({ type: 'gauge', help: 'connected', samples: [{ value: 4 }] })
    expect(sampleValue(f, 'hearsay_info', { id: 'abc' })).toBe(1)
    // every counter family ends in _total
    for (const family of f.values()) if (family.type === 'counter') expect(family.name).toMatch(/_total$/)
  })

  it('always has the counters a dashboard needs, at 0 before their first event', () => {
    const f = parseExposition(renderMetrics({}))
    for (const name of ['messages_in', 'messages_out', 'bytes_in', 'bytes_out', 'frames_in', 'frames_out', 'handshake_failures']) {
      expect(sampleValue(f, `hearsay_${name}_total`), name).toBe(0)
    }
    expect(f.get('hearsay_drops_total')).toMatchObject({ type: 'counter', samples: [] })
  })

  it('escapes label values and help text; sanitises names', () => {
    const text = renderMetrics({ 'drops.we"ird\\reason\nx': 1, '9lives.x': 2 }, [{ name: 'g-x', help: 'a\\b\nc', value: 1.5, labels: { 'bad-key': 'v' } }])
    const f = parseExposition(text)
    expect(sampleValue(f, 'hearsay_drops_total', { reason: 'we"ird\\reason\nx' })).toBe(1)
    expect(sampleValue(f, 'hearsay__9lives_x_total')).toBe(2)
    expect(f.get('hearsay_g_x')?.help).toBe('a\\\\b\\nc')
    expect(sampleValue(f, 'hearsay_g_x', { bad_key: 'v' })).toBe(1.5)
  })

  it('merges counters whose names differ only in punctuation instead of writing one series twice', () => {
    const f = parseExposition(renderMetrics({ 'a.b': 1, 'a-b': 2 }))
    expect(sampleValue(f, 'hearsay_a_b_total')).toBe(3)
  })

  it('writes special values the way the format spells them', () => {
    const f = parseExposition(renderMetrics({}, [{ name: 'x', help: 'h', value: Infinity }, { name: 'y', help: 'h', value: Number.NaN }]))
    expect(sampleValue(f, 'hearsay_x')).toBe(Infinity)
    expect(sampleValue(f, 'hearsay_y')).toBeNaN()
  })

  it('counterName maps dotted names', () => {
    expect(counterName('handshake.failures')).toBe('hearsay_handshake_failures_total')
  })
})
