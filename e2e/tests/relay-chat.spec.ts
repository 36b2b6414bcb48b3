/**
 * The chat demo as users get it: the relay CLI runs as a child process (port 0, address read
 * from its JSON ready line) and serves the chat page (bundled by apps/chat's esbuild build, from
 * the sources) at `/` and its status page at `/status`; Chromium pages load them from there.
 *
 * (a) two pages join through the relay and chat, and a page that sends garbage over a raw
 *     WebSocket is disconnected while the others keep chatting;
 * (d) after a reload, a page keeps its peer id and its known peers (IndexedDB), and rejoins
 *     through a stored peer with no seed at all;
 * (f) the status page lists the connected pages and draws them; a screenshot is kept at
 *     e2e/.artifacts/status.png (and in the test's output directory).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from '@playwright/test'
import { bundleChat } from '../../apps/chat/src/bundle.js'
import type {} from '../../apps/chat/src/web/globals.js'
import { collectErrors, expect, test } from './fixtures.js'
import { spawnRelay } from './relay-process.js'
import type { RelayProcess } from './relay-process.js'

const e2eRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SCREENSHOT = path.join(e2eRoot, '.artifacts', 'status.png')
const ONLINE_TIMEOUT = 20_000

let relay: RelayProcess
let tmp: string
const contexts = new Set<BrowserContext>()

test.beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'hearsay-e2e-chat-'))
  const chatDir = path.join(tmp, 'chat')
  const built = await bundleChat({ outdir: chatDir, conditions: ['source', 'browser'] })
  console.log(`chat page bundle (from sources): ${built.bytes} bytes minified, ${built.gzipBytes} bytes gzip`)
  relay = await spawnRelay({ chatDir, data: path.join(tmp, 'relay-data') })
})

test.afterEach(async () => {
  await Promise.all([...contexts].map(async c => { await c.close() }))
  contexts.clear()
})

test.afterAll(async () => {
  if (relay !== undefined) {
    expect(await relay.stop()).toBe(0)
    const bad = relay.lines.filter(l => /"level":"(warn|error)"/.test(l))
    expect(bad, 'relay warnings and errors').toEqual([])
    expect(relay.stderr()).toBe('')
  }
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
})

interface ChatPage { page: Page, id: string, errors: string[] }

async function newContext (browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext()
  contexts.add(context)
  return context
}

/** Opens the relay's chat page (`query` appended to `/`) and waits until it is online. */
async function openChat (context: BrowserContext, query = ''): Promise<ChatPage> {
  const page = await context.newPage()
  const errors = collectErrors(page)
  await page.goto(`${relay.http}/${query}`, { waitUntil: 'load' })
  await expect(page.locator('#status')).toHaveAttribute('data-state', 'online', { timeout: ONLINE_TIMEOUT })
  const id = await page.locator('#peer-id').getAttribute('data-peer-id')
  expect(id).toMatch(/^[a-z2-7]{52}$/)
  return { page, id: id!, errors }
}

interface StatusReport { peers: Array<{ id: string, active: boolean }> }

/** Waits until the relay has every one of `ids` in its overlay's active view (broadcasts reach them then). */
async function waitActive (ids: string[]): Promise<void> {
  await expect.poll(async () => {
    const report = await (await fetch(`${relay.http}/status.json`)).json() as StatusReport
    return ids.every(id => report.peers.some(p => p.id === id && p.active))
  }, { timeout: ONLINE_TIMEOUT }).toBe(true)
}

async function say (page: Page, text: string): Promise<void> {
  await page.locator('#text').fill(text)
  await page.locator('#text').press('Enter')
}

test('(a) two pages join through the relay process and chat; a page sending garbage is cut off, the others carry on', async ({ browser }, testInfo) => {
  const alice = await openChat(await newContext(browser))
  const bob = await openChat(await newContext(browser))
  expect(alice.id).not.toBe(bob.id)
  await waitActive([alice.id, bob.id])

  await alice.page.locator('#nick').fill('alice')
  await alice.page.locator('#nick').press('Enter')
  await say(alice.page, 'hello from alice')
  const got = bob.page.locator('#messages li.peer', { hasText: 'hello from alice' })
  await expect(got).toHaveCount(1, { timeout: 10_000 })
  await expect(got.locator('.nick')).toContainText('alice')
  await expect(got).toHaveAttribute('data-from', alice.id)
  // the sender sees its own line once
  await expect(alice.page.locator('#messages li.own', { hasText: 'hello from alice' })).toHaveCount(1)

  await say(bob.page, 'hi alice, bob here')
  await expect(alice.page.locator('#messages li.peer', { hasText: 'hi alice, bob here' })).toHaveCount(1, { timeout: 10_000 })
  // the relay, and bob too once the overlay has linked the pages directly over WebRTC
  await expect(alice.page.locator('#peer-count')).toHaveText(/^[12]$/)
  await alice.page.screenshot({ path: testInfo.outputPath('chat.png') })

  // a page that opens a raw WebSocket to the relay and sends garbage is disconnected
  const mallory = await (await newContext(browser)).newPage()
  const malloryErrors = collectErrors(mallory)
  await mallory.goto(`${relay.http}/status`, { waitUntil: 'load' })
  const closed = await mallory.evaluate(async (url) => await new Promise<{ code: number, elapsed: number }>((resolve, reject) => {
    const t0 = performance.now()
    const ws = new WebSocket(url)
    ws.binaryType = 'arraybuffer'
    const timer = setTimeout(() => { reject(new Error('the relay kept the garbage socket open for 10 s')) }, 10_000)
    ws.onopen = () => { ws.send(crypto.getRandomValues(new Uint8Array(512))); ws.send('{"type":"chat"}') }
    ws.onclose = (e) => { clearTimeout(timer); resolve({ code: e.code, elapsed: performance.now() - t0 }) }
  }), relay.ws)
  console.log(`garbage WebSocket from a page: closed by the relay with code ${closed.code} after ${closed.elapsed.toFixed(0)} ms`)
  expect(closed.code).toBeGreaterThanOrEqual(1000)
  expect(malloryErrors).toEqual([])

  // everyone else keeps chatting
  await say(bob.page, 'still here after the garbage')
  await expect(alice.page.locator('#messages li.peer', { hasText: 'still here after the garbage' })).toHaveCount(1, { timeout: 10_000 })
  const health = await fetch(`${relay.http}/healthz`)
  expect(health.status).toBe(200)
  const metrics = await (await fetch(`${relay.http}/metrics`)).text()
  expect(Number(/^hearsay_handshake_failures_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1)
  expect([...alice.errors, ...bob.errors]).toEqual([])
})

test('(d) after a reload the page keeps its peer id and known peers from IndexedDB, and rejoins through them without a seed', async ({ browser }) => {
  const context = await newContext(browser)
  const first = await openChat(context)
  const knownRelay = async (page: Page): Promise<boolean> => await page.evaluate(async ({ ws, id }) =>
    (await window.hearsayChat!.knownPeers()).some(p => p.address === ws && p.peerId === id), { ws: relay.ws, id: relay.id })
  // the dial's outcome reaches IndexedDB with the next batched write (statsFlushInterval, 1 s)
  await expect.poll(async () => await knownRelay(first.page), { timeout: 10_000 }).toBe(true)

  await first.page.reload({ waitUntil: 'load' })
  await expect(first.page.locator('#status')).toHaveAttribute('data-state', 'online', { timeout: ONLINE_TIMEOUT })
  await expect(first.page.locator('#peer-id')).toHaveAttribute('data-peer-id', first.id)
  expect(await knownRelay(first.page)).toBe(true)
  await expect(first.page.locator('#known-count')).not.toHaveText('0')

  // no seed at all: the only way to the relay is the peer stored in IndexedDB
  await first.page.goto(`${relay.http}/?seed=`, { waitUntil: 'load' })
  await expect(first.page.locator('#status')).toHaveAttribute('data-state', 'online', { timeout: ONLINE_TIMEOUT })
  await expect(first.page.locator('#peer-id')).toHaveAttribute('data-peer-id', first.id)
  const seeds = await first.page.evaluate(() => window.hearsayChat!.node.peers().map(p => p.id))
  expect(seeds).toEqual([relay.id])
  expect(first.errors).toEqual([])
})

test('(f) the status page shows the connected pages, live', async ({ browser }, testInfo) => {
  const a = await openChat(await newContext(browser))
  const b = await openChat(await newContext(browser))
  await waitActive([a.id, b.id])
  const status = await (await newContext(browser)).newPage()
  const errors = collectErrors(status)
  await status.setViewportSize({ width: 1280, height: 900 })
  await status.goto(`${relay.http}/status`, { waitUntil: 'load' })

  for (const p of [a, b]) {
    const row = status.locator(`#peers tbody tr[data-peer-id="${p.id}"]`)
    await expect(row).toHaveCount(1, { timeout: 10_000 })
    await expect(row.locator('td.view')).toHaveText('active')
    await expect(row.locator('td.direction')).toHaveText('inbound')
    await expect(status.locator(`#graph g.peer.active[data-peer-id="${p.id}"] circle`)).toHaveCount(1)
  }
  await expect(status.locator('#graph g.self')).toHaveAttribute('data-peer-id', relay.id)
  await expect(status.locator('#graph line.active')).toHaveCount(2)
  await expect(status.locator('#peer-count')).toHaveText('2')
  await expect(status.locator('#summary')).toContainText(relay.id)

  await status.screenshot({ path: SCREENSHOT, fullPage: true })
  const copy = testInfo.outputPath('status.png')
  await status.screenshot({ path: copy, fullPage: true })
  await testInfo.attach('status page', { path: copy, contentType: 'image/png' })
  console.log(`status page screenshot: ${path.relative(process.cwd(), SCREENSHOT)}`)

  // live: a page that leaves disappears from the page without a reload
  await b.page.context().close()
  contexts.delete(b.page.context())
  await expect(status.locator(`#peers tbody tr[data-peer-id="${b.id}"]`)).toHaveCount(0, { timeout: 10_000 })
  await expect(status.locator('#peer-count')).toHaveText('1')
  expect([...errors, ...a.errors]).toEqual([])
})
