/**
 * indexedDbStore in Node on fake-indexeddb (an in-memory IndexedDB): the compliance suite,
 * bad data, paging and failures. Chromium runs the suite on the real IndexedDB (e2e/).
 */
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, describe, expect, it } from 'vitest'
import { peerStoreCompliance } from '@hearsay/core/compliance'
import { encodeValue } from '@hearsay/core'
import { FORMAT_VERSION, indexedDbStore } from '../src/index.js'
import type { IndexedDbPeerStore } from '../src/index.js'

const ID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const utf8 = new TextEncoder()
const open: IndexedDbPeerStore[] = []
afterEach(async () => { while (open.length > 0) await open.pop()!.close() })

function store (opts: Parameters<typeof indexedDbStore>[0]): IndexedDbPeerStore {
  const s = indexedDbStore(opts)
  open.push(s)
  return s
}

async function request<T> (r: IDBRequest<T>): Promise<T> {
  return await new Promise((resolve, reject) => { r.onsuccess = () => { resolve(r.result) }; r.onerror = () => { reject(r.error) } })
}

/** Writes raw values in the store's layout, as a broken or older writer might have. */
async function writeRaw (factory: IDBFactory, name: string, entries: Array<[string, unknown]>): Promise<void> {
  const req = factory.open(name, 1)
  req.onupgradeneeded = () => { req.result.createObjectStore(name) }
  const db = await request(req)
  const tx = db.transaction(name, 'readwrite')
  for (const [key, value] of entries) tx.objectStore(name).put(value, utf8.encode(key))
  await new Promise<void>((resolve, reject) => { tx.oncomplete = () => { resolve() }; tx.onabort = () => { reject(tx.error) } })
  db.close()
}

async function addresses (s: IndexedDbPeerStore): Promise<string[]> {
  const out: string[] = []
  for await (const r of s.known()) out.push(r.address)
  return out
}

const v = (body: Uint8Array, version = FORMAT_VERSION): Uint8Array => new Uint8Array([version, ...body])

describe('indexedDbStore (fake-indexeddb): compliance', () => {
  const factory = new IDBFactory()
  let n = 0
  for (const c of peerStoreCompliance({
    open: async ({ location, now, tombstoneMs }) => {
      const s = store({ name: location, now, tombstoneMs, indexedDB: factory })
      await s.open()
      return s
    },
    location: () => `db-${n++}`,
    supports: { persistence: true }
  })) it(c.name, c.fn)
})

describe('indexedDbStore', () => {
  it('skips and counts garbage and older-format values, and keeps working', async () => {
    const factory = new IDBFactory()
    await writeRaw(factory, 'bad', [
      ['a!tcp://127.0.0.1:1', v(encodeValue([ID, 1, 0, 0, 0, null, null]))], // good
      ['a!tcp://127.0.0.1:2', new Uint8Array([0xde, 0xad])], // garbage
      ['a!tcp://127.0.0.1:3', v(encodeValue([ID, 1, 0, 0, 0, null, null]), 0)], // older format version
      ['a!tcp://127.0.0.1:4', 'a string'], // not bytes
      ['a!tcp://127.0.0.1:5', v(encodeValue([ID, 2, 0, 0, 0, null, null])).buffer], // an ArrayBuffer is bytes
      ['i!', v(new Uint8Array(10))] // identity of the wrong size
    ])
    const reasons: string[] = []
    const s = store({ name: 'bad', indexedDB: factory, onCorrupt: ({ key, reason }) => { reasons.push(`${key}: ${reason}`) } })
    expect(await addresses(s)).toEqual(['tcp://127.0.0.1:1', 'tcp://127.0.0.1:5'])
    expect((await s.getStats('tcp://127.0.0.1:5')).connections.ok).toBe(2)
    expect(s.corrupt).toBe(3)
    expect(reasons.join('\n')).toMatch(/format version 0, expected 1/)
    expect(reasons.join('\n')).toMatch(/not bytes/)
    expect(await s.getIdentity()).toBeUndefined()
    await s.setIdentity(new Uint8Array(64).fill(1))
    expect(await s.getIdentity()).toEqual(new Uint8Array(64).fill(1))
    await s.record('tcp://127.0.0.1:2', { type: 'rx', count: 3 })
    expect((await s.getStats('tcp://127.0.0.1:2')).nodes.rx).toBe(3)
  })

  it('lists more rows than one page, in key order, and honours limit across pages', async () => {
    const s = store({ name: 'many', indexedDB: new IDBFactory() })
    const all = Array.from({ length: 250 }, (_v, i) => `tcp://127.0.0.1:${10_000 + i}`)
    await s.save(all)
    await s.setIdentity(new Uint8Array(64).fill(2)) // other key prefixes are not listed
    await s.putMeta('x', new Uint8Array([1]))
    expect(await addresses(s)).toEqual(all)
    let n = 0
    for await (const _r of s.known({ limit: 120 })) n++
    expect(n).toBe(120)
  })

  it('keeps its data across close and re-open, and a deletion from elsewhere is not blocked by an open store', async () => {
    const factory = new IDBFactory()
    const a = indexedDbStore({ name: 'p', indexedDB: factory })
    await a.setIdentity(new Uint8Array(64).fill(5))
    await a.close()
    const b = store({ name: 'p', indexedDB: factory })
    expect(await b.getIdentity()).toEqual(new Uint8Array(64).fill(5))
    expect(b.name).toBe('p')
    await request(factory.deleteDatabase('p')) // resolves: the store gave way
    await expect(b.getIdentity()).rejects.toMatchObject({ code: 'ERR_STORE' })
  })

  it('fails with StoreError without IndexedDB, or on a database made by something else', async () => {
    const none = store({ name: 'x', indexedDB: undefined })
    const saved = globalThis.indexedDB
    ;(globalThis as { indexedDB?: IDBFactory }).indexedDB = undefined
    try {
      await expect(none.open()).rejects.toMatchObject({ code: 'ERR_STORE', message: expect.stringMatching(/not available/) })
    } finally { (globalThis as { indexedDB?: IDBFactory }).indexedDB = saved }

    const factory = new IDBFactory()
    const req = factory.open('other', 1)
    req.onupgradeneeded = () => { req.result.createObjectStore('something') }
    ;(await request(req)).close()
    const s = store({ name: 'other', indexedDB: factory })
    await expect(s.open()).rejects.toMatchObject({ code: 'ERR_STORE', message: expect.stringMatching(/something else/) })
    await expect(s.save(['tcp://127.0.0.1:1'])).rejects.toMatchObject({ code: 'ERR_STORE' })
  })

  it('refuses bad options with TypeError and rejects every call after close', async () => {
    expect(() => indexedDbStore({} as never)).toThrow(TypeError)
    expect(() => indexedDbStore({ name: '' })).toThrow(TypeError)
    expect(() => indexedDbStore({ name: 'x', maxBatch: 0 })).toThrow(TypeError)
    const s = indexedDbStore({ name: 'closing', indexedDB: new IDBFactory() })
    await s.save(['tcp://127.0.0.1:1'])
    await Promise.all([s.close(), s.close()])
    await expect(s.getIdentity()).rejects.toMatchObject({ code: 'ERR_STORE' })
  })
})
