/**
 * Browser entry: runs @hearsay/core's peer-store compliance suite against `levelStore` on
 * IndexedDB (browser-level) and against `indexedDbStore` (raw IndexedDB, what `hearsay`'s browser
 * entry uses), each case in its own uniquely named database; checks that both read what the
 * other wrote (same layout); deletes every database it created, and publishes the report on
 * `window.__result`.
 */
import { peerStoreCompliance, runCases } from '@hearsay/core/compliance'
import type { ComplianceCase } from '@hearsay/core/compliance'
import type { PeerStore } from '@hearsay/core'
import { indexedDbStore, levelStore } from '@hearsay/store-level'

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
  const location = (): string => { const name = `${run}-${n++}`; created.add(name); return name }
  const level = peerStoreCompliance({
    open: async ({ location, now, tombstoneMs }) => {
      const s = levelStore({ location, now, tombstoneMs })
      opened.push(s)
      await s.open()
      return s
    },
    location,
    supports: { persistence: true }
  })
  const raw = peerStoreCompliance({
    open: async ({ location, now, tombstoneMs }) => {
      const s = indexedDbStore({ name: location, now, tombstoneMs })
      opened.push(s)
      await s.open()
      return s
    },
    location,
    supports: { persistence: true }
  })
  const layout: ComplianceCase = {
    name: 'levelStore and indexedDbStore read what the other wrote (one layout)',
    fn: async () => {
      const name = location()
      const id = new Uint8Array(64).fill(9)
      const a = levelStore({ location: name })
      await a.save(['ws://127.0.0.1:1'])
      await a.record('ws://127.0.0.1:1', { type: 'rx', count: 4 })
      await a.setIdentity(id)
      await a.close()
      const b = indexedDbStore({ name })
      if ((await b.getStats('ws://127.0.0.1:1')).nodes.rx !== 4) throw new Error('indexedDbStore did not read levelStore\'s row')
      if ((await b.getIdentity())?.[0] !== 9) throw new Error('indexedDbStore did not read levelStore\'s identity')
      await b.save(['ws://127.0.0.1:2'])
      await b.close()
      const c = levelStore({ location: name })
      const rows: string[] = []
      for await (const r of c.known()) rows.push(r.address)
      await c.close()
      if (rows.sort().join() !== 'ws://127.0.0.1:1,ws://127.0.0.1:2') throw new Error(`levelStore read ${rows.join()}`)
    }
  }
  const cases = [
    ...level.map(c => ({ name: `levelStore (IndexedDB): ${c.name}`, fn: c.fn })),
    ...raw.map(c => ({ name: `indexedDbStore: ${c.name}`, fn: c.fn })),
    layout
  ]
  const report = await runCases(cases)
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
