import type { PeerStore } from '../../store/peer-store.js'
import type { ComplianceCase } from './case.js'
import { bytesEqual, deepEqual, equal, ok, rejects } from './assert.js'

export interface PeerStoreHarness {
  /**
   * Opens a store. `location` names it when persistence is supported (same location = same
   * data); `now` and `tombstoneMs` must be honoured.
   */
  open: (opts: { location: string, now: () => number, tombstoneMs?: number }) => Promise<PeerStore>
  /** A fresh location name; the harness deletes it afterwards. */
  location: () => string
  supports: {
    /** Data survives close and re-open at the same location. */
    persistence: boolean
  }
}

const ID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'

async function collect (store: PeerStore): Promise<Map<string, Awaited<ReturnType<PeerStore['getStats']>> & { peerId: string | null }>> {
  const out = new Map()
  for await (const row of store.known()) out.set(row.address, { ...row.stats, peerId: row.peerId })
  return out
}

/** The behaviour every `PeerStore` must show; `memoryStore()` runs it too. */
export function peerStoreCompliance (h: PeerStoreHarness): ComplianceCase[] {
  const withStore = (fn: (s: PeerStore, clock: { t: number }) => Promise<void>, tombstoneMs?: number) => async () => {
    const clock = { t: 1_700_000_000_000 }
    const s = await h.open({ location: h.location(), now: () => clock.t, ...(tombstoneMs === undefined ? {} : { tombstoneMs }) })
    try { await fn(s, clock) } finally { await s.close() }
  }
  return [
    {
      name: 'save adds addresses once; known lists them with zeroed stats',
      fn: withStore(async (s) => {
        await s.save(['ws://127.0.0.1:1', 'tcp://127.0.0.1:2', { address: 'ws://127.0.0.1:1', peerId: ID }])
        const rows = await collect(s)
        equal(rows.size, 2)
        equal(rows.get('ws://127.0.0.1:1')!.peerId, ID)
        equal(rows.get('tcp://127.0.0.1:2')!.peerId, null)
        deepEqual(rows.get('tcp://127.0.0.1:2')!.connections, { ok: 0, fail: 0 })
      })
    },
    {
      name: 'known honours limit and an aborted signal',
      fn: withStore(async (s) => {
        await s.save(Array.from({ length: 10 }, (_v, i) => `tcp://127.0.0.1:${1000 + i}`))
        let n = 0
        for await (const _row of s.known({ limit: 3 })) n++
        equal(n, 3)
        const ac = new AbortController()
        ac.abort()
        await rejects(async () => { for await (const _row of s.known({ signal: ac.signal })) { /* drain */ } }, 'ERR_ABORTED')
      })
    },
    {
      name: 'record moves every counter, and getStats reads them back',
      fn: withStore(async (s, clock) => {
        const a = 'ws://127.0.0.1:9'
        await s.record(a, { type: 'dial-ok', peerId: ID })
        await s.record(a, { type: 'dial-ok' })
        await s.record(a, { type: 'dial-fail' })
        await s.record(a, { type: 'rx', count: 5 })
        await s.record(a, { type: 'tx', count: 3 })
        await s.record(a, { type: 'rtt', ms: 40 })
        const st = await s.getStats(a)
        deepEqual(st.connections, { ok: 2, fail: 1 })
        deepEqual(st.nodes, { rx: 5, tx: 3 })
        equal(st.lastSeen, clock.t)
        equal(st.rtt, 40)
        equal((await collect(s)).get(a)!.peerId, ID)
      })
    },
    {
      name: 'concurrent record calls lose no counts',
      fn: withStore(async (s) => {
        const a = 'tcp://127.0.0.1:77'
        await Promise.all(Array.from({ length: 200 }, async (_v, i) => await s.record(a, i % 2 === 0 ? { type: 'dial-ok' } : { type: 'rx', count: 2 })))
        const st = await s.getStats(a)
        equal(st.connections.ok, 100)
        equal(st.nodes.rx, 200)
      })
    },
    {
      name: 'getStats of an unknown address is all zeros',
      fn: withStore(async (s) => {
        deepEqual(await s.getStats('ws://127.0.0.1:5'), { connections: { ok: 0, fail: 0 }, nodes: { rx: 0, tx: 0 }, lastSeen: null, rtt: null })
      })
    },
    {
      name: 'remove forgets an address and its tombstone blocks re-learning until it expires',
      fn: withStore(async (s, clock) => {
        const a = 'ws://127.0.0.1:3'
        await s.save([a])
        await s.remove([a])
        equal((await collect(s)).has(a), false)
        await s.save([a])
        equal((await collect(s)).has(a), false, 'tombstoned address must not come back')
        clock.t += 1001
        await s.save([a])
        equal((await collect(s)).has(a), true, 'tombstone must expire')
      }, 1000)
    },
    {
      name: 'identity and meta values round-trip as copies',
      fn: withStore(async (s) => {
        equal(await s.getIdentity(), undefined)
        const key = new Uint8Array(64).map((_v, i) => i)
        await s.setIdentity(key)
        key[0] = 99
        const got = await s.getIdentity()
        ok(got !== undefined)
        equal(got[0], 0)
        let threw = false
        try { await s.setIdentity(new Uint8Array(3)) } catch (err) { threw = err instanceof TypeError }
        ok(threw, 'a wrong-size identity must throw TypeError')
        equal(await s.getMeta('x'), undefined)
        await s.putMeta('x', new Uint8Array([1, 2, 3]))
        bytesEqual((await s.getMeta('x'))!, new Uint8Array([1, 2, 3]))
      })
    },
    {
      name: 'a closed store rejects with StoreError',
      fn: async () => {
        const s = await h.open({ location: h.location(), now: Date.now })
        await s.close()
        await rejects(() => s.save(['ws://127.0.0.1:1']), 'ERR_STORE')
        await rejects(() => s.getStats('ws://127.0.0.1:1'), 'ERR_STORE')
      }
    },
    {
      name: 'known() reports the same counters as getStats (stats are written, not just counted)',
      fn: withStore(async (s, clock) => {
        const a = 'tcp://127.0.0.1:10'
        const b = 'ws://127.0.0.1:11'
        await s.save([a, b])
        await s.record(a, { type: 'dial-fail' })
        await s.record(a, { type: 'tx', count: 4 })
        await s.record(b, { type: 'dial-ok', peerId: ID })
        await s.record(b, { type: 'rx', count: 7 })
        await s.record(b, { type: 'rtt', ms: 12 })
        const rows = await collect(s)
        for (const addr of [a, b]) {
          const { peerId: _id, ...fromKnown } = rows.get(addr)!
          deepEqual(fromKnown, await s.getStats(addr))
        }
        deepEqual(rows.get(b), { connections: { ok: 1, fail: 0 }, nodes: { rx: 7, tx: 0 }, lastSeen: clock.t, rtt: 12, peerId: ID })
        deepEqual(rows.get(a), { connections: { ok: 0, fail: 1 }, nodes: { rx: 0, tx: 4 }, lastSeen: null, rtt: null, peerId: null })
      })
    },
    {
      name: 'rtt is smoothed: 7/8 of the old value plus 1/8 of the new sample',
      fn: withStore(async (s) => {
        const a = 'ws://127.0.0.1:12'
        await s.record(a, { type: 'rtt', ms: 40 })
        await s.record(a, { type: 'rtt', ms: 80 })
        equal((await s.getStats(a)).rtt, 45)
      })
    },
    {
      name: 'a read sees every write called before it, even when nobody awaited the write',
      fn: withStore(async (s) => {
        const a = 'tcp://127.0.0.1:13'
        const writes = [
          s.save([{ address: a, peerId: ID }]),
          ...Array.from({ length: 50 }, async () => await s.record(a, { type: 'tx', count: 1 })),
          s.record(a, { type: 'dial-fail' })
        ]
        const st = await s.getStats(a)
        equal(st.nodes.tx, 50)
        equal(st.connections.fail, 1)
        equal((await collect(s)).get(a)?.peerId, ID)
        await Promise.all(writes)
      })
    },
    {
      name: 'save checks every entry first: a bad one rejects with TypeError and saves nothing',
      fn: withStore(async (s) => {
        let threw = false
        try { await s.save(['tcp://127.0.0.1:14', '']) } catch (err) { threw = err instanceof TypeError }
        ok(threw, 'an empty address must throw TypeError')
        equal((await collect(s)).size, 0)
      })
    },
    {
      name: 'record rejects a malformed event with TypeError and changes nothing',
      fn: withStore(async (s) => {
        const a = 'tcp://127.0.0.1:15'
        const bad: unknown[] = [{ type: 'rx', count: -1 }, { type: 'tx', count: 1.5 }, { type: 'rtt', ms: Number.NaN }, { type: 'nope' }, null]
        for (const event of bad) {
          let threw = false
          try { await s.record(a, event as never) } catch (err) { threw = err instanceof TypeError }
          ok(threw, `${JSON.stringify(event)} must throw TypeError`)
        }
        equal((await collect(s)).size, 0)
      })
    },
    {
      name: 'a removed address comes back only through a successful dial while its tombstone lasts',
      fn: withStore(async (s) => {
        const a = 'ws://127.0.0.1:16'
        await s.record(a, { type: 'dial-ok', peerId: ID })
        await s.remove([a])
        await s.record(a, { type: 'rx', count: 3 })
        await s.record(a, { type: 'dial-fail' })
        equal((await collect(s)).has(a), false, 'stat events other than dial-ok must not re-add a removed address')
        await s.record(a, { type: 'dial-ok' })
        const row = (await collect(s)).get(a)
        ok(row !== undefined, 'a successful dial re-adds it')
        deepEqual(row.connections, { ok: 1, fail: 0 })
        deepEqual(row.nodes, { rx: 0, tx: 0 })
        await s.save([a])
        equal((await collect(s)).get(a)!.connections.ok, 1, 'save keeps the stats of a known address')
      })
    },
    {
      name: 'known() yields each of many addresses once, as copies',
      fn: withStore(async (s) => {
        const addrs = Array.from({ length: 300 }, (_v, i) => `tcp://127.0.0.1:${2000 + i}`)
        await s.save(addrs)
        const seen: string[] = []
        for await (const row of s.known()) {
          seen.push(row.address)
          row.stats.connections.ok = 99
        }
        equal(seen.length, 300)
        equal(new Set(seen).size, 300)
        equal((await s.getStats(addrs[0]!)).connections.ok, 0)
      })
    },
    {
      name: 'an aborted signal rejects reads and writes with AbortError',
      fn: withStore(async (s) => {
        const ac = new AbortController()
        ac.abort()
        await rejects(() => s.save(['ws://127.0.0.1:17'], { signal: ac.signal }), 'ERR_ABORTED')
        await rejects(() => s.record('ws://127.0.0.1:17', { type: 'dial-fail' }, { signal: ac.signal }), 'ERR_ABORTED')
        await rejects(() => s.getStats('ws://127.0.0.1:17', { signal: ac.signal }), 'ERR_ABORTED')
        equal((await collect(s)).size, 0)
      })
    },
    {
      name: 'with persistence, writes nobody awaited are on disk after close() and a re-open',
      fn: async () => {
        if (!h.supports.persistence) return
        const location = h.location()
        const s1 = await h.open({ location, now: () => 5 })
        const a = 'tcp://127.0.0.1:18'
        for (let i = 0; i < 100; i++) void s1.record(a, { type: 'rx', count: 1 })
        void s1.record(a, { type: 'dial-ok', peerId: ID })
        void s1.putMeta('counter', new Uint8Array([42]))
        await s1.close()
        const s2 = await h.open({ location, now: () => 6 })
        try {
          const st = await s2.getStats(a)
          equal(st.nodes.rx, 100)
          equal(st.connections.ok, 1)
          equal(st.lastSeen, 5)
          bytesEqual((await s2.getMeta('counter'))!, new Uint8Array([42]))
        } finally { await s2.close() }
      }
    },
    {
      name: 'with persistence, a tombstone survives a re-open',
      fn: async () => {
        if (!h.supports.persistence) return
        const location = h.location()
        const s1 = await h.open({ location, now: () => 1000, tombstoneMs: 500 })
        await s1.save(['ws://127.0.0.1:19'])
        await s1.remove(['ws://127.0.0.1:19'])
        await s1.close()
        const s2 = await h.open({ location, now: () => 1400, tombstoneMs: 500 })
        try {
          await s2.save(['ws://127.0.0.1:19'])
          equal((await collect(s2)).has('ws://127.0.0.1:19'), false)
        } finally { await s2.close() }
        const s3 = await h.open({ location, now: () => 1500, tombstoneMs: 500 })
        try {
          await s3.save(['ws://127.0.0.1:19'])
          equal((await collect(s3)).has('ws://127.0.0.1:19'), true)
        } finally { await s3.close() }
      }
    },
    {
      name: 'with persistence, addresses, stats and identity survive a re-open',
      fn: async () => {
        if (!h.supports.persistence) return
        const location = h.location()
        const s1 = await h.open({ location, now: () => 5 })
        await s1.save([{ address: 'tcp://127.0.0.1:8', peerId: ID }])
        await s1.record('tcp://127.0.0.1:8', { type: 'dial-ok' })
        await s1.setIdentity(new Uint8Array(64).fill(7))
        await s1.close()
        const s2 = await h.open({ location, now: () => 6 })
        try {
          const rows = await collect(s2)
          equal(rows.get('tcp://127.0.0.1:8')!.peerId, ID)
          equal(rows.get('tcp://127.0.0.1:8')!.connections.ok, 1)
          bytesEqual((await s2.getIdentity())!, new Uint8Array(64).fill(7))
        } finally { await s2.close() }
      }
    }
  ]
}
