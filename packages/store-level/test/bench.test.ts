/**
 * Runs apps/bench/src/store-bench.ts (the stat-update benchmark) with this package's levelStore:
 * a small smoke run always (it checks that no count is lost), the full run with
 * HEARSAY_BENCH=1 (prints the table; asserts the 50k updates/s target).
 */
import { describe, expect, it } from 'vitest'
import { Level } from 'level'
import { formatStoreBench, runStoreBench } from '../../../apps/bench/src/store-bench.js'
import { levelStore } from '../src/index.js'

const full = process.env.HEARSAY_BENCH === '1'

describe('store benchmark (apps/bench/src/store-bench.ts)', () => {
  it(full ? 'full run: stat updates/s through the node batching vs classic-level batched puts' : 'smoke run: every stat update reaches the store', async () => {
    const result = await runStoreBench({ levelStore, Level }, full ? {} : { updates: 5000, addresses: 100, rawPuts: 5000 })
    if (full) {
      console.log(formatStoreBench(result))
      console.log(JSON.stringify(result))
      expect(result.realistic.perSecond).toBeGreaterThanOrEqual(50_000)
    }
    expect(result.realistic.count).toBeGreaterThan(0)
    expect(result.rawBatchedPuts.perSecond).toBeGreaterThan(0)
  }, full ? 300_000 : 30_000)
})
