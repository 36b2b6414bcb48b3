/**
 * The page mesh with real processes (issue 19), short: the relay CLI (a child process, its
 * defaults but for the per-address caps, as every peer comes from 127.0.0.1), 100 page-like
 * Node peers in 4 worker processes (ws client + WebRTC through node-datachannel, no listen
 * address, signalled over the overlay) and 2 Chromium pages, all joining through the relay.
 * Waits (bounded) for one overlay component, a direct WebRTC link at every Chromium page and the
 * relay down to its steady state (≤ 16 page links, `--step-back-above`: every other peer is then
 * linked directly), then asserts that every one of 20 broadcasts (Node and page senders) reached
 * every peer and page. The run is apps/bench/src/mesh-run.ts (its
 * built file: `pnpm build` first, as CI does); `pnpm bench:mesh` is the long version.
 *
 * Runs inside the network namespace scripts/test.mjs makes (WebRTC needs a non-loopback
 * interface and must not use the machine's): skipped outside it.
 */
import type { MeshPageDriver } from '../../apps/bench/dist/mesh-run.js'
import { runMesh } from '../../apps/bench/dist/mesh-run.js'
import { meshPageDriver } from '../../apps/bench/dist/mesh-pages.js'
import { RELAY_STEP_BACK_ABOVE } from '../../apps/relay/dist/config.js'
import { collectErrors, expect, test } from './fixtures.js'

const inNetns = process.env.HEARSAY_NETNS === '1'
/** The relay's steady state: its `--step-back-above` default. */
const RELAY_STEADY_LINKS = RELAY_STEP_BACK_ABOVE
test.skip(!inNetns, 'the mesh test runs inside a network namespace: node scripts/netns.mjs npx playwright test -c e2e/playwright.config.ts tests/mesh.spec')

test('100 WebRTC peers in 4 processes and 2 Chromium pages through one relay process: one overlay, direct links, the relay at ≤ 16 page links, every broadcast at every peer', async ({ browser, staticServer }) => {
  test.setTimeout(150_000)
  await staticServer.bundle('mesh-peer')
  const pageErrors: string[][] = []
  const openPage = async (): Promise<MeshPageDriver> => {
    const context = await browser.newContext()
    const page = await context.newPage()
    pageErrors.push(collectErrors(page))
    await page.goto(`${staticServer.baseURL}/mesh-peer.html`, { waitUntil: 'load' })
    await page.waitForFunction(() => (window as { __mesh?: unknown }).__mesh !== undefined)
    return meshPageDriver(page, async () => { await context.close() })
  }
  const r = await runMesh({
    peers: 100,
    workers: 4,
    pages: 2,
    openPage,
    joinRate: 50,
    broadcasts: 20,
    relayLinksAtMost: RELAY_STEADY_LINKS,
    // the pages must link directly; a Node peer off the relay is linked directly anyway once the
    // overlay is one component, and the relay holds at most 16
    everyPeerDirect: false,
    settleTimeoutMs: 90_000,
    deliveryTimeoutMs: 15_000,
    sampleEveryMs: 500,
    quietWindow: false,
    log: (line) => { if (!line.startsWith('t=')) console.log(line) }
  })
  console.log(`mesh: one component ${r.oneComponentMs} ms after the first start (wave ${r.waveMs} ms), settled at ${r.settledMs} ms; first direct link median ${r.firstDirect.median} ms, p95 ${r.firstDirect.p95} ms; ` +
    `delivery ${r.broadcasts.delivery} in ${r.broadcasts.ms} ms; relay links ${r.relay.links} (active ${r.relay.active})`)
  console.log(`mesh counters: ${JSON.stringify(r.counters)}`)
  const series = `[ms, components, started, relay links] over time: ${JSON.stringify(r.components)}; outside the largest component at the end: ${JSON.stringify(r.stragglers)}`
  expect(r.pass.oneComponent, series).toBe(true)
  expect(r.firstDirect.pagesWithout, series).toBe(0)
  expect(r.pass.settled, series).toBe(true)
  // the relay's overlay view: the page links it holds. Its connections may count one more for a
  // moment (a page's seed probe, a link it is shedding as it closes): a CI run saw 17 (active 16)
  expect(r.relay.active).toBeLessThanOrEqual(RELAY_STEADY_LINKS)
  expect(r.relay.links).toBeLessThanOrEqual(RELAY_STEADY_LINKS + 2)
  expect(r.broadcasts.fromPages).toBeGreaterThan(0)
  expect(r.broadcasts, JSON.stringify(r.counters)).toMatchObject({ delivery: 1, complete: 20, minReached: 101 })
  expect(r.counters.errors).toBeUndefined()
  expect(pageErrors.flat()).toEqual([])
})
