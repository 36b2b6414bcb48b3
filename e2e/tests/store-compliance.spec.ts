import { buildModule, expect, nodeBuiltinReferences, test } from './fixtures.js'
import type { PageResult } from '../pages/store-compliance.js'

test.use({ bundle: 'store-compliance' })

test('levelStore and indexedDbStore pass the peer-store compliance suite on IndexedDB in Chromium, share one layout, and delete their databases', async ({ app }) => {
  const { page, errors } = app
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 45_000 })
  const result = await page.evaluate(() => window.__result) as PageResult
  expect(result.failed).toEqual([])
  expect(result.total).toBeGreaterThan(0)
  expect(result.passed).toHaveLength(result.total)
  // persistence cases open a second store at the same name: fewer names than cases, but many
  expect(result.created.length).toBeGreaterThan(result.total / 2)
  expect(result.leftover).toEqual([])
  expect(await page.evaluate(async () => (await indexedDB.databases()).length)).toBe(0)
  expect(errors).toEqual([])
})

test('the store bundle picks browser-level and reaches no node built-ins', async ({ staticServer }) => {
  const bundle = await staticServer.bundle('store-compliance')
  expect(nodeBuiltinReferences(bundle)).toEqual([])
  const inputs = Object.keys(bundle.metafile.inputs)
  expect(inputs.some(p => p.includes('browser-level'))).toBe(true)
  expect(inputs.some(p => p.includes('classic-level'))).toBe(false)
  const store = await buildModule('@hearsay/store-level')
  expect(Object.keys(store.metafile.inputs).some(p => p.includes('packages/store-level/src/')), 'resolves to its TypeScript source').toBe(true)
  expect(nodeBuiltinReferences(store)).toEqual([])
})
