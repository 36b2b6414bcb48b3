/**
 * A page's lifecycle against a Node node over ws (issue 16, item 5): a hidden, frozen page is
 * not declared dead within its neighbours' `pausedToleranceMs` and is after it; a page frozen
 * for less than that comes back without a false death on either side; `pagehide` says goodbye
 * (the neighbour sees the link close at once, not after its failure detector's timeout);
 * `online` re-checks the links.
 *
 * How the page is driven: in headless Chromium every page stays visible (a window minimized with
 * `Browser.setWindowBounds`, a page behind a new tab from `Target.createTarget`, and
 * `Emulation.setFocusEmulationEnabled` all leave `visibilityState` 'visible': measured on
 * Chromium 156), and `Page.setWebLifecycleState {state: 'frozen'}` leaves a visible page running
 * (a 50 ms interval went on ticking), so the test plays the browser's part. It makes `document.visibilityState`
 * say `hidden` and fires `visibilitychange` and `freeze` as Chromium does before freezing a
 * background tab, then stops the page's JavaScript with the debugger (`Debugger.pause`: no timer
 * and no message handler runs, frames queue, as in a frozen page) and later resumes it with
 * `resume` and `visibilitychange`. `online` comes from CDP's network emulation.
 */
import type { CDPSession, Page } from '@playwright/test'
import { createNode } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { nextEvent } from '@hearsay/core/compliance'
import { webSockets } from '@hearsay/transport-ws'
import type { LifeState } from '../pages/page-lifecycle.js'
import { collectErrors, expect, test } from './fixtures.js'
import type { StaticServer } from './fixtures.js'

const HB = 200
const TOLERANCE = 5_000

declare global {
  interface Window { __life?: LifeState }
}

let node: HearsayNode
test.beforeEach(async () => {
  node = createNode({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], heartbeatInterval: HB, pausedToleranceMs: TOLERANCE, rttInterval: 0, services: [] })
  await node.start()
})
test.afterEach(async () => { await node.stop() })

/** Opens the page joined to `node` and waits until each is in the other's active view. */
async function openPage (staticServer: StaticServer, page: Page, lifecycle: boolean): Promise<{ id: string, cdp: CDPSession, errors: string[] }> {
  await staticServer.bundle('page-lifecycle')
  const errors = collectErrors(page)
  const addr = node.addresses.find(a => a.startsWith('ws://'))!
  await page.goto(`${staticServer.baseURL}/page-lifecycle.html?${new URLSearchParams({ addr, hb: String(HB), lifecycle: lifecycle ? '1' : '0' }).toString()}`, { waitUntil: 'load' })
  await page.waitForFunction((nodeId) => window.__life?.active().includes(nodeId) === true, node.id, { timeout: 20_000 })
  const id = await page.evaluate(() => window.__life!.id!)
  await expect.poll(() => node.overlay?.active.includes(id), { timeout: 10_000 }).toBe(true)
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Debugger.enable')
  return { id, cdp, errors }
}

/**
 * Stops the page's JavaScript: resolves once it is paused (`Debugger.pause` only asks; the pause
 * happens at the next script the page runs, its next timer at the latest).
 */
async function pauseScript (cdp: CDPSession): Promise<void> {
  const paused = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('the page did not pause within 5 s')) }, 5_000)
    cdp.once('Debugger.paused', () => { clearTimeout(timer); resolve() })
  })
  await cdp.send('Debugger.pause')
  await paused
}

/** What Chromium does to a background tab it freezes, then the freeze itself; returns when it was asked. */
async function hideAndFreeze (page: Page, cdp: CDPSession): Promise<number> {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' })
    document.dispatchEvent(new Event('visibilitychange'))
    document.dispatchEvent(new Event('freeze'))
  })
  const askedAt = Date.now()
  await pauseScript(cdp)
  return askedAt
}

async function resumeAndShow (page: Page, cdp: CDPSession): Promise<void> {
  await cdp.send('Debugger.resume')
  await page.evaluate(() => {
    document.dispatchEvent(new Event('resume'))
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' })
    document.dispatchEvent(new Event('visibilitychange'))
  })
}

/** Time from the freeze until the Node node declares the page down. */
async function timeToDown (page: Page, cdp: CDPSession, id: string): Promise<number> {
  const down = nextEvent(node, 'peer:down', e => e.id === id, TOLERANCE + 10_000)
  const frozenAt = await hideAndFreeze(page, cdp)
  await down
  const ms = Date.now() - frozenAt
  await resumeAndShow(page, cdp)
  return ms
}

test('a frozen page is declared dead within a few heartbeats without hs.pause, and only after pausedToleranceMs with it', async ({ staticServer, page }) => {
  const plain = await openPage(staticServer, page, false)
  const before = await timeToDown(page, plain.cdp, plain.id)
  const aware = await openPage(staticServer, page, true)
  const after = await timeToDown(page, aware.cdp, aware.id)
  console.log(`frozen page declared down after ${before} ms without the lifecycle, ${after} ms with it (pausedToleranceMs ${TOLERANCE}, heartbeat ${HB} ms)`)
  // a few heartbeats (0.6–0.9 s idle, 2.1 s seen with a load average of 18)
  expect(before).toBeLessThan(TOLERANCE - 1_000)
  // the page's last beat may come up to a heartbeat after the freeze was asked for
  expect(after).toBeGreaterThanOrEqual(TOLERANCE - HB)
  expect(after).toBeLessThan(TOLERANCE + 3_000)
  expect(node.metrics.get('peers.down-paused')).toBe(1)
  expect([...plain.errors, ...aware.errors]).toEqual([])
})

test('a page frozen for less than the tolerance comes back with no false death on either side (counted before and after)', async ({ staticServer, page }) => {
  const FROZEN_MS = 2_500
  const falseDeaths = async (lifecycle: boolean): Promise<{ node: number, page: number }> => {
    const { id, cdp, errors } = await openPage(staticServer, page, lifecycle)
    const downsBefore = node.metrics.get('peers.down') + node.metrics.get('peers.down-paused')
    await hideAndFreeze(page, cdp)
    // the freeze itself lasts FROZEN_MS: the scenario, not a wait for an outcome
    await new Promise(resolve => setTimeout(resolve, FROZEN_MS))
    await resumeAndShow(page, cdp)
    // the link is up both ways again (or was redone after a false death)
    await page.waitForFunction((nodeId) => window.__life!.active().includes(nodeId), node.id, { timeout: 10_000 })
    await expect.poll(() => node.overlay?.active.includes(id), { timeout: 10_000 }).toBe(true)
    await node.ping(id, { timeout: 5_000 })
    expect(errors).toEqual([])
    return {
      node: node.metrics.get('peers.down') + node.metrics.get('peers.down-paused') - downsBefore,
      page: (await page.evaluate(() => window.__life!.downs.length))
    }
  }
  const before = await falseDeaths(false)
  const after = await falseDeaths(true)
  console.log(`false deaths after a ${FROZEN_MS} ms freeze: without the lifecycle node ${before.node} / page ${before.page}, with it node ${after.node} / page ${after.page}`)
  expect(before.node).toBe(1)
  expect(after).toEqual({ node: 0, page: 0 })
})

test('online (network emulation) makes the page re-check its links', async ({ staticServer, page }) => {
  const { cdp, errors } = await openPage(staticServer, page, true)
  const wakes = await page.evaluate(() => window.__life!.metric('membership.wakes'))
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
  await page.waitForFunction((w) => window.__life!.metric('membership.wakes') > w, wakes, { timeout: 5_000 })
  expect(errors).toEqual([])
})

test('pagehide says goodbye: the neighbour sees the link close at once, not after a failure timeout', async ({ staticServer, page }) => {
  const closeAfterPagehide = async (lifecycle: boolean): Promise<{ ms: number, declaredDown: number }> => {
    const { id, cdp, errors } = await openPage(staticServer, page, lifecycle)
    const downs = (): number => node.metrics.get('peers.down') + node.metrics.get('peers.down-paused')
    const downsBefore = downs()
    const gone = nextEvent(node, 'peer:disconnect', e => e.peer.id === id, 10_000).then(() => Date.now())
    const hiddenAt = Date.now()
    // as Chromium does when a page goes into the back-forward cache: pagehide (persisted), then frozen
    await page.evaluate(() => { window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })) })
    const paused = pauseScript(cdp)
    const [goneAt] = await Promise.all([gone, paused])
    const ms = goneAt - hiddenAt
    await cdp.send('Debugger.resume')
    expect(errors).toEqual([])
    return { ms, declaredDown: downs() - downsBefore }
  }
  const before = await closeAfterPagehide(false)
  const after = await closeAfterPagehide(true)
  console.log(`link closed ${before.ms} ms after pagehide without the lifecycle (declared down ${before.declaredDown}), ${after.ms} ms with it (declared down ${after.declaredDown}); heartbeat ${HB} ms`)
  expect(before.declaredDown).toBe(1)
  expect(after.declaredDown).toBe(0)
  // a goodbye, not a failure detector's verdict (not declared down; and sooner than one, which
  // takes a few heartbeats: `before.ms`; 15 ms idle, 190 ms at a load average of 30)
  expect(after.ms).toBeLessThan(before.ms)
})
