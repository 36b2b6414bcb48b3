import { buildModule, expect, nodeBuiltinReferences, test } from './fixtures.js'
import type { PageResult } from '../pages/core-compliance.js'

test.use({ bundle: 'core-compliance' })

test('core compliance suites pass in Chromium (memory transport, memoryStore)', async ({ app }) => {
  const { page, errors } = app
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 45_000 })
  const result = await page.evaluate(() => window.__result) as PageResult
  expect(result.failed).toEqual([])
  expect(result.total).toBeGreaterThan(0)
  expect(result.passed).toHaveLength(result.total)
  expect(new Set(result.passed).size).toBe(result.total)
  expect(errors).toEqual([])
})

test('the page bundle and the @hearsay/core bundle reach no node built-ins', async ({ staticServer }) => {
  expect(nodeBuiltinReferences(await staticServer.bundle('core-compliance'))).toEqual([])
  const core = await buildModule('@hearsay/core')
  expect(Object.keys(core.metafile.inputs).some(p => p.includes('packages/core/src/')), 'core resolves to its TypeScript source').toBe(true)
  expect(nodeBuiltinReferences(core)).toEqual([])
})
