import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Page } from '@playwright/test'
import { startRelay } from '../../apps/relay/src/relay.js'
import { buildMinified, buildModule, expect, nodeBuiltinReferences, SHIPPED_PAGES, test } from './fixtures.js'
import type { Bundle } from './fixtures.js'
import type { DialResult, StartResult } from '../pages/hearsay-harness.js'

/**
 * The issue's budget for `hearsay`'s browser entry without WebRTC (`hearsay/lite`: ws client +
 * IndexedDB store), gzip -9, on what an application ships for `createNode` (`export { createNode }
 * from 'hearsay/lite'`, minified: bundle-bench's first row). apps/bench/results/bundle.md has the
 * other configurations (services, WebRTC). (docs/decisions.md, "Bundle budget": the 2026-12
 * entries say how it came back under 60 kB.)
 */
const BUNDLE_BUDGET = 60_000
/**
 * What this test enforces: the budget itself. (2026-12-07 it was missed for a day, 60,692 B at
 * worst; a written-out secretbox, the seed advice moved to the full SDK and the accept path made
 * the `inbound` option, which a page on WebSockets leaves out, took it to 59.7 kB: docs/decisions.md,
 * "Bundle budget".)
 */
const BUNDLE_CEILING = BUNDLE_BUDGET
/**
 * The page Chromium loads in these tests is that plus the test harness (e2e/pages/hearsay-harness.ts,
 * about 0.4 kB gzip): it may not exceed the budget by more than the harness. (Until 2026-12 the
 * page itself was held to 60,000, with the SDK about 0.6 kB under.)
 */
const HARNESS_ALLOWANCE = 500

const unique = (): string => `hearsay-e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

async function start (page: Page, store?: string, networkKey?: string): Promise<StartResult> {
  return await page.evaluate(async ([s, k]) => await window.__hearsay!.start(s ?? undefined, k ?? undefined), [store ?? null, networkKey ?? null] as const)
}
async function dial (page: Page, address: string): Promise<DialResult> { return await page.evaluate(async (a) => await window.__hearsay!.dial(a), address) }
async function stop (page: Page): Promise<void> { await page.evaluate(async () => { await window.__hearsay!.stop() }) }
async function databases (page: Page): Promise<string[]> { return await page.evaluate(async () => await window.__hearsay!.databases()) }
async function drop (page: Page, name: string): Promise<void> { await page.evaluate(async (n) => { await window.__hearsay!.deleteDatabase(n) }, name) }

test('a browser node on a named IndexedDB store keeps its peer id across page reloads', async ({ openBundle }) => {
  const { page, errors } = await openBundle('hearsay-browser')
  const name = unique()
  const first = await start(page, name)
  expect(first.error).toBeUndefined()
  await stop(page)
  expect(await databases(page)).toContain(name)
  await page.reload({ waitUntil: 'load' })
  const second = await start(page, name)
  expect(second.id).toBe(first.id)
  await stop(page)
  await drop(page, name)
  expect(await databases(page)).not.toContain(name)
  expect(errors).toEqual([])
})

test('a named store open in one tab makes a second tab fail to start with StoreLockedError, until the first stops', async ({ openBundle, context }) => {
  const a = await openBundle('hearsay-browser')
  const b = await openBundle('hearsay-browser', await context.newPage())
  const name = unique()
  const first = await start(a.page, name)
  expect(first.error).toBeUndefined()
  const locked = await start(b.page, name)
  expect(locked.error).toMatchObject({ name: 'StoreLockedError', code: 'ERR_STORE' })
  await stop(a.page)
  const retried = await start(b.page, name)
  expect(retried.id).toBe(first.id)
  await stop(b.page)
  await drop(b.page, name)
  expect([...a.errors, ...b.errors]).toEqual([])
})

test('the default store is the IndexedDB database "hearsay"; a second tab falls back to memory with a warning', async ({ openBundle, context }) => {
  const a = await openBundle('hearsay-browser')
  const b = await openBundle('hearsay-browser', await context.newPage())
  expect(await a.page.evaluate(() => window.__hearsay!.defaultStore)).toBe('hearsay')
  const first = await start(a.page)
  expect(first.error).toBeUndefined()
  expect(await databases(a.page)).toContain('hearsay')
  const second = await start(b.page)
  expect(second.error).toBeUndefined()
  expect(second.id).not.toBe(first.id)
  expect(second.warnings.join('\n')).toMatch(/another tab/)
  await stop(b.page)
  await stop(a.page)
  // the first tab's identity was persisted
  await a.page.reload({ waitUntil: 'load' })
  expect((await start(a.page)).id).toBe(first.id)
  await stop(a.page)
  await drop(a.page, 'hearsay')
  expect(await databases(a.page)).toEqual([])
  expect([...a.errors, ...b.errors]).toEqual([])
})

test('the hearsay browser bundle reaches no node built-ins and leaves classic-level, ws and node:net out', async ({ staticServer }) => {
  const page = await staticServer.bundle('hearsay-browser')
  expect(nodeBuiltinReferences(page)).toEqual([])
  const mod = await buildModule('hearsay')
  expect(nodeBuiltinReferences(mod)).toEqual([])
  const inputs = Object.keys(mod.metafile.inputs)
  expect(inputs.some(p => p.includes('packages/hearsay/src/index.browser.ts'))).toBe(true)
  expect(inputs.some(p => p.includes('browser-level'))).toBe(true)
  for (const banned of ['classic-level', '/ws@', 'transport-tcp/src/transport.ts', 'transport-ws/src/transport.node.ts']) {
    expect(inputs.filter(p => p.includes(banned)), banned).toEqual([])
  }
})

function gzipSize (bundle: Bundle): number { return gzipSync(Buffer.from(bundle.code, 'utf8'), { level: 9 }).byteLength }

function largestInputs (bundle: Bundle): string {
  const output = Object.values(bundle.metafile.outputs)[0]!
  return Object.entries(output.inputs)
    .sort(([, a], [, b]) => b.bytesInOutput - a.bytesInOutput)
    .slice(0, 8)
    .map(([p, i]) => `${p.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^\.\.\/packages\//, '')} ${i.bytesInOutput}`)
    .join(', ')
}

test('the hearsay/lite bundle Chromium loads is within the budget, and it is the shipped build: minified, no level, no services, no WebRTC', async ({ staticServer }) => {
  expect(SHIPPED_PAGES.has('hearsay-lite')).toBe(true)
  const bundle = await staticServer.bundle('hearsay-lite')
  // the bytes measured are the bytes served
  const served = await (await fetch(`${staticServer.baseURL}/hearsay-lite.js`)).text()
  expect(served).toBe(bundle.code)
  expect(bundle.code).not.toContain('sourceMappingURL')
  expect(nodeBuiltinReferences(bundle)).toEqual([])
  const inputs = Object.keys(Object.values(bundle.metafile.outputs)[0]!.inputs)
  expect(inputs.some(p => p.includes('packages/hearsay/src/index.browser.ts'))).toBe(true)
  expect(inputs.some(p => p.includes('packages/store-level/src/indexeddb.ts'))).toBe(true)
  expect(inputs.some(p => p.includes('packages/transport-ws/src/transport.browser.ts'))).toBe(true)
  for (const absent of ['transport-webrtc', 'simple-peer', 'browser-level', 'abstract-level', 'node_modules/.pnpm/buffer@', 'tweetnacl', 'state/state-service.ts', 'events/event-bus.ts', 'src/streams.ts', 'broadcast-stream.ts']) {
    expect(inputs.filter(p => p.includes(absent)), absent).toEqual([])
  }
  const gzip = gzipSize(bundle)
  const sdk = await buildMinified('lite-create-node', "export { createNode } from 'hearsay/lite'")
  const sdkGzip = gzipSize(sdk)
  console.log(`hearsay/lite createNode as an application ships it: ${sdkGzip} bytes gzip; budget ${BUNDLE_BUDGET} ${sdkGzip <= BUNDLE_BUDGET ? 'met' : `NOT MET (${sdkGzip - BUNDLE_BUDGET} bytes over; ceiling ${BUNDLE_CEILING})`}`)
  console.log(`hearsay/lite browser bundle (the page Chromium loads, with the harness): ${gzip} bytes gzip, ${bundle.code.length} bytes minified; at most ${BUNDLE_CEILING + HARNESS_ALLOWANCE}`)
  console.log(`largest inputs (minified bytes): ${largestInputs(bundle)}`)
  // the main entry, with WebRTC: reported, no budget
  const withWebRTC = await staticServer.bundle('hearsay-browser')
  console.log(`hearsay browser bundle with WebRTC (the page Chromium loads): ${gzipSize(withWebRTC)} bytes gzip, ${withWebRTC.code.length} bytes minified`)
  expect(sdkGzip).toBeLessThanOrEqual(BUNDLE_CEILING)
  expect(gzip).toBeLessThanOrEqual(BUNDLE_CEILING + HARNESS_ALLOWANCE)
  expect(gzip).toBeGreaterThan(sdkGzip)
})

for (const name of ['hearsay-lite', 'hearsay-browser']) {
  test(`the shipped ${name} bundle connects to a Node relay over ws with the network key, keeps its identity in IndexedDB, and exchanges messages`, async ({ openBundle }) => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'hearsay-e2e-'))
    const keyFile = path.join(tmp, 'network-key')
    writeFileSync(keyFile, 'hearsay bundle e2e\n')
    const log: string[] = []
    const relay = await startRelay({ host: '127.0.0.1', port: 0, seeds: [], logLevel: 'warn', networkKeyFile: keyFile }, { write: line => { log.push(line) } })
    try {
      const address = relay.node.addresses.find(a => a.startsWith('ws://127.0.0.1:'))!
      const { page, errors } = await openBundle(name)
      const store = unique()
      const first = await start(page, store, 'hearsay bundle e2e')
      expect(first.error).toBeUndefined()
      const connected = new Promise<string>(resolve => { relay.node.once('peer:connect', p => { resolve(p.id) }) })
      const dialled = await dial(page, address)
      expect(dialled.error).toBeUndefined()
      expect(dialled.remoteId).toBe(relay.node.id)
      expect(await connected).toBe(first.id)
      const heard = new Promise<unknown>(resolve => { relay.node.on('message', m => { if (m.from.id === first.id) resolve(m.data) }) })
      await page.evaluate(() => { window.__hearsay!.send('chat', { text: 'from the shipped bundle' }) })
      expect(await heard).toEqual({ text: 'from the shipped bundle' })
      relay.node.getPeer(first.id!)!.send('chat', { text: 'to the shipped bundle' })
      await page.waitForFunction(() => window.__hearsay!.messages().length > 0, null, { timeout: 10_000 })
      expect(await page.evaluate(() => window.__hearsay!.messages())).toEqual([{ from: relay.node.id, type: 'chat', data: { text: 'to the shipped bundle' } }])
      await stop(page)
      // the same identity after a reload, from the IndexedDB store
      await page.reload({ waitUntil: 'load' })
      const second = await start(page, store, 'hearsay bundle e2e')
      expect(second.id).toBe(first.id)
      await stop(page)
      await drop(page, store)
      expect(errors).toEqual([])
    } finally {
      await relay.stop()
      rmSync(tmp, { recursive: true, force: true })
    }
    expect(log.filter(l => !l.includes('"relay ready"'))).toEqual([])
  })
}
