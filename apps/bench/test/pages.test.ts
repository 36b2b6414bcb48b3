import { describe, expect, it } from 'vitest'
import { PAGES_SCENARIO_DEFAULTS, pagesScenario } from '../src/scenario-pages.js'
import type { PagesOptions, PagesRow } from '../src/scenario-pages.js'

const TIMING = ['peakRssBytes', 'wallSeconds']

/** The pages scenario with the tests' common settings (one relay, hop limit 32, quiet), and `o` over them. */
async function scenario (o: Partial<PagesOptions> & Pick<PagesOptions, 'pages' | 'seed'>): Promise<PagesRow[]> {
  return await pagesScenario({ ...PAGES_SCENARIO_DEFAULTS, relays: [1], limit: 32, config: {}, log: () => {}, ...o })
}

async function run (seed: number): Promise<PagesRow[]> {
  const rows = await scenario({
    pages: 40,
    seed,
    broadcasts: 3,
    drainMs: 3000,
    phases: ['steady']
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

  it('issue 19 targets in small: signals reach far pages, the relay steps back to 16 page links, a relay is the one root', async () => {
    const rows = await scenario({
      pages: 80,
      seed: 2,
      broadcasts: 5,
      // long enough for the relay's step-back rounds (a page is asked after two shuffle periods),
      // and one more: a hand-off that fails keeps the relay a page over for a round (with one
      // JOIN per page, seed 2 has one: 17 at 30 s, 16 at 40 s)
      drainMs: 40_000,
      phases: ['steady']
    })
    const wave = rows.find((r) => r.phase === 'wave')!
    const steady = rows.find((r) => r.phase === 'steady')!
    expect(wave.oneComponentSinceAfterWaveMs as number).toBeLessThanOrEqual(15_000)
    expect(steady.deliveryRatio).toBe(1)
    expect((steady.relayActive as number[])[0]).toBeLessThanOrEqual(16)
    expect(steady.components).toBe(1)
    expect(steady.roots).toBe(1)
    expect(steady.rootIsRelay).toBe(true)
    // signals went farther than one forward, and few found no way
    const rtc = wave.rtcCounters as Record<string, number>
    expect(rtc['rtc.forwarded-routed']).toBeGreaterThan(0)
    const drops = wave.rtcDrops as Record<string, number>
    expect(drops['drops.rtc-no-route'] ?? 0).toBeLessThan(rtc['rtc.signals.out']! / 4)
    // the relay passes a JOIN on to 6 neighbours (maxForwardJoins, the relay CLI's default):
    // about 6 walk-end dials per page, not 12 (seed 2: 438 dials for 80 pages; 794 with 12)
    expect(wave.rtcDials as number).toBeLessThan(80 * 7)
    // a SHUFFLE from a page is answered only over a link the replier has: no WebRTC session
    // only for the reply (issue 19: a fifth of a 300-page wave's links)
    expect((steady.hvDrops as Record<string, number>)['drops.hv-shuffle-reply-skipped']).toBeGreaterThan(0)
  }, 60_000)
})

describe('pages scenario: dials slower than the relay\'s view turns over (smoke)', () => {
  it('a join wave that fills the relay: the walk-end dials to pages the relay evicted still arrive (its link lingers), few fail unreachable', async () => {
    // 100 pages at 100/s through a relay of 64: once full it evicts a page per JOIN, so a page
    // stays in its view ~0.6 s, while these dials take 6 s (a loaded machine: the mesh run's
    // median WebRTC dial was 10-16 s at load 10-20). Before the linger 1,016 of 3,190 dials
    // (32 %) failed unreachable at the relay; with it 78 (2.6 %)
    const rows = await scenario({
      pages: 100,
      seed: 2,
      broadcasts: 3,
      drainMs: 3000,
      phases: ['steady'],
      config: { gatherMs: 1000, connectMs: 5000 }
    })
    const wave = rows.find((r) => r.phase === 'wave')!
    const steady = rows.find((r) => r.phase === 'steady')!
    const failed = wave.rtcDialFailures as Record<string, number>
    expect(wave.rtcDials as number).toBeGreaterThan(1000)
    expect(failed.unreachable ?? 0).toBeLessThan((wave.rtcDials as number) / 10)
    expect(wave.oneComponentSinceAfterWaveMs).not.toBeNull()
    expect(steady.deliveryRatio).toBe(1)
  }, 60_000)
})

describe('pages scenario: links outside the view (smoke)', () => {
  it('a wave of 300 pages through one relay: the pages it evicted, still linked a while, are not watched by failure detection, so none is declared down and relinked into its view', async () => {
    // before: a frame over the lingering link started the detector on it; the link then went
    // quiet (it is no neighbour's), the page was declared down, hung up on and relinked with a
    // high-priority NEIGHBOR, which put it back in the full relay's view (seed 1: 173 downs, 57
    // relinks, 357 handshakes at the relay for 300 pages, the relay at 20 page links 20 s
    // after the wave instead of 16)
    const rows = await scenario({
      pages: 300,
      seed: 1,
      broadcasts: 2,
      drainMs: 2000,
      phases: ['steady']
    })
    const wave = rows.find((r) => r.phase === 'wave')!
    const m = wave.membershipCounters as Record<string, number>
    expect(m['peers.down'] ?? 0).toBe(0)
    expect(m['membership.relinks'] ?? 0).toBe(0)
    expect((wave.relayFramesByType as Record<string, number>).handshake).toBe(300)
    expect(wave.oneComponentSinceAfterWaveMs).not.toBeNull()
  }, 120_000)
})

describe('pages scenario: the root relay killed (smoke)', () => {
  it('the pages count the dead root gone and agree on one live root within 20 s, and every broadcast from the kill on is delivered', async () => {
    const rows = await scenario({
      pages: 40,
      seed: 3,
      // a steady phase first, so that the relay is the settled root when it dies
      broadcasts: 2,
      drainMs: 15_000,
      killMs: 30_000,
      phases: ['steady', 'relay-killed']
    })
    const killed = rows.find((r) => r.phase === 'relay-killed')!
    expect(killed.victimWasRoot).toBe(true)
    expect(killed.oneComponentAfterKillMs).not.toBeNull()
    expect(killed.oneRootAfterKillMs as number).toBeLessThanOrEqual(20_000)
    expect(killed.broadcasts as number).toBeGreaterThanOrEqual(10)
    expect(killed.deliveryRatio).toBe(1)
  }, 60_000)
})
