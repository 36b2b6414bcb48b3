import type { Page } from '@playwright/test'
import { buildModule, expect, nodeBuiltinReferences, test } from './fixtures.js'
import type { StartResult } from '../pages/hearsay-browser.js'

const unique = (): string => `hearsay-e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

async function start (page: Page, store?: string): Promise<StartResult> {
  return await page.evaluate(async (s) => await window.__hearsay!.start(s ?? undefined), store ?? null)
}
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
