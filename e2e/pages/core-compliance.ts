/**
 * Browser entry: runs @hearsay/core's transport and peer-store compliance suites against the
 * memory transport and memory store (configured exactly as packages/core/test/memory-transport.test.ts
 * does) and publishes the report on `window.__result`.
 */
import { peerStoreCompliance, runCases, transportCompliance } from '@hearsay/core/compliance'
import { MemoryNetwork, memoryStore } from '@hearsay/core'

export interface PageResult {
  total: number
  passed: string[]
  failed: Array<{ name: string, error: string }>
}

declare global {
  interface Window { __result?: PageResult }
}

async function main (): Promise<PageResult> {
  const network = new MemoryNetwork()
  let t = 0
  const transportCases = transportCompliance({
    create: () => network.transport(),
    listenAddress: () => `memory:listener-${t++}`,
    deadAddress: () => 'memory:nobody-here',
    invalidAddress: 'memory:'
  })
  let s = 0
  const storeCases = peerStoreCompliance({
    open: async ({ now, tombstoneMs }) => memoryStore({ now, tombstoneMs }),
    location: () => `loc-${s++}`,
    supports: { persistence: false }
  })
  const prefix = (label: string, cases: typeof transportCases): typeof transportCases =>
    cases.map(c => ({ name: `${label}: ${c.name}`, fn: c.fn }))
  const cases = [...prefix('memory transport', transportCases), ...prefix('memoryStore', storeCases)]
  const report = await runCases(cases)
  return { total: cases.length, ...report }
}

main().then(
  result => {
    for (const f of result.failed) console.warn(`FAILED ${f.name}: ${f.error}`)
    window.__result = result
  },
  err => {
    console.error(err)
    window.__result = { total: -1, passed: [], failed: [{ name: 'page', error: String(err) }] }
  }
)
