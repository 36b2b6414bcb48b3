/**
 * Browser entry: runs @hearsay/core's peer-store compliance suite against `levelStore` on
 * IndexedDB (browser-level), each case in its own uniquely named database, deletes every database
 * it created, and publishes the report on `window.__result`.
 */
import { peerStoreCompliance, runCases } from '@hearsay/core/compliance'
import type { PeerStore } from '@hearsay/core'
import { levelStore } from '@hearsay/store-level'

export interface PageResult {
  total: number
  passed: string[]
  failed: Array<{ name: string, error: string }>
  /** IndexedDB databases this page created. */
  created: string[]
  /** Of those, the ones still listed by `indexedDB.databases()` after cleanup (must be none). */
  leftover: string[]
}

declare global {
  interface Window { __result?: PageResult }
}

async function deleteDatabase (name: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name)
    req.onsuccess = () => { resolve() }
    req.onerror = () => { reject(req.error ?? new Error(`could not delete ${name}`)) }
    req.onblocked = () => { reject(new Error(`deleting ${name} is blocked: a connection is still open`)) }
  })
}

async function main (): Promise<PageResult> {
  const run = `hearsay-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  const created = new Set<string>()
  const opened: PeerStore[] = []
  let n = 0
  const cases = peerStoreCompliance({
    open: async ({ location, now, tombstoneMs }) => {
      const s = levelStore({ location, now, tombstoneMs })
      opened.push(s)
      await s.open()
      return s
    },
    location: () => { const name = `${run}-${n++}`; created.add(name); return name },
    supports: { persistence: true }
  })
  const report = await runCases(cases.map(c => ({ name: `levelStore (IndexedDB): ${c.name}`, fn: c.fn })))
  for (const s of opened) await s.close()
  for (const name of created) await deleteDatabase(name)
  const remaining = new Set((await indexedDB.databases()).map(d => d.name))
  return { total: cases.length, ...report, created: [...created], leftover: [...created].filter(name => remaining.has(name)) }
}

main().then(
  result => {
    for (const f of result.failed) console.warn(`FAILED ${f.name}: ${f.error}`)
    window.__result = result
  },
  err => {
    console.error(err)
    window.__result = { total: -1, passed: [], failed: [{ name: 'page', error: String(err) }], created: [], leftover: [] }
  }
)
