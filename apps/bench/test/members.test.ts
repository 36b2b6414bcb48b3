import { describe, expect, it } from 'vitest'
import { runScenario, TIMING_FIELDS } from '../src/scenarios.js'
import type { Row } from '../src/scenarios.js'

function withoutTiming (rows: Row[]): Array<Record<string, unknown>> {
  return rows.map((r) => {
    const c: Record<string, unknown> = { ...r }
    for (const f of [...TIMING_FIELDS, 'wallSecondsWithout']) delete c[f]
    return c
  })
}

describe('members scenario (cluster membership in the simulator), 40 nodes', () => {
  it('every observer learns the join, the death and the cut-off, then the return, once each; membership costs bytes; the same seed gives the same row', async () => {
    const opts = { nodes: 40, seed: 3 }
    const first = await runScenario('members', opts)
    expect(first).toHaveLength(1)
    const r = first[0]!
    expect(r.convergedAtStart).toBe(1)
    for (const k of ['joinSecondsTo100', 'deathSecondsTo100', 'upSecondsTo100'] as const) {
      expect(r[k], k).toBeTypeOf('number')
      expect(r[k] as number, k).toBeLessThan(60)
    }
    expect(r.cutSecondsTo99).toBeTypeOf('number')
    expect(r.falseDowns).toBe(0)
    expect(r.repeatedTransitions).toBe(0)
    expect(r.membershipBytesPerNodePerSecond as number).toBeGreaterThan(0)
    expect(r.timerErrors).toBe(0)
    const second = await runScenario('members', opts)
    expect(withoutTiming(second)).toEqual(withoutTiming(first))
  }, 120_000)
})
