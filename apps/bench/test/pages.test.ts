import { describe, expect, it } from 'vitest'
import { PAGES_SCENARIO_DEFAULTS, pagesScenario } from '../src/scenario-pages.js'
import type { PagesRow } from '../src/scenario-pages.js'

const TIMING = ['peakRssBytes', 'wallSeconds']

async function run (seed: number): Promise<PagesRow[]> {
  const rows = await pagesScenario({
    ...PAGES_SCENARIO_DEFAULTS,
    pages: 40,
    seed,
    relays: [1],
    limit: 32,
    broadcasts: 3,
    drainMs: 3000,
    phases: ['steady'],
    config: {},
    log: () => {}
  })
  return rows.map((r) => { const c = { ...r }; for (const f of TIMING) delete c[f]; return c })
}

describe('pages scenario (smoke)', () => {
  it('pages with no listen address link to each other over signalled WebRTC dials, and the same seed gives the same rows', async () => {
    const rows = await run(1)
    const wave = rows.find((r) => r.phase === 'wave')!
    const steady = rows.find((r) => r.phase === 'steady')!
    // one component, every page with a direct link, links made through the overlay's signals
    expect(wave.oneComponentSinceAfterWaveMs).not.toBeNull()
    expect(wave.pagesWithoutDirectLink).toBe(0)
    expect(wave.rtcLinksMade as number).toBeGreaterThan(40)
    expect((wave.rtcCounters as Record<string, number>)['rtc.signals.in']).toBeGreaterThan(0)
    expect(steady.deliveryRatio).toBe(1)
    expect(await run(1)).toEqual(rows)
  }, 60_000)
})
