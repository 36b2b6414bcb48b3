import { existsSync } from 'node:fs'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { Level } from 'level'
import { encodeValue } from '@hearsay/core'
import { FORMAT_VERSION, levelStore, StoreLockedError } from '../src/index.js'
import type { LevelPeerStore } from '../src/index.js'
import { tempDirs } from './helpers.js'

const ID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const ENC = { keyEncoding: 'utf8', valueEncoding: 'view' } as const
const tmp = tempDirs()
const open: Array<{ close: () => Promise<void> }> = []
afterEach(async () => { while (open.length > 0) await open.pop()!.close() })
afterAll(() => {
  tmp.cleanup()
  expect(existsSync(tmp.root)).toBe(false)
})

function store (opts: Parameters<typeof levelStore>[0]): LevelPeerStore {
  const s = levelStore(opts)
  open.push(s)
  return s
}

async function rows (s: LevelPeerStore): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>()
  for await (const r of s.known()) out.set(r.address, r)
  return out
}

/** Writes raw values under the store's keys, as a broken or older version of hearsay might have. */
async function writeRaw (location: string, entries: Array<[string, Uint8Array]>): Promise<void> {
  const db = new Level<string, Uint8Array>(location, ENC)
  await db.batch(entries.map(([key, value]) => ({ type: 'put' as const, key, value })))
  await db.close()
}

const v = (body: Uint8Array, version = FORMAT_VERSION): Uint8Array => new Uint8Array([version, ...body])

describe('levelStore: bad data on disk', () => {
  it('skips and counts garbage and older-format rows in known(), getStats and record, and keeps working', async () => {
    const location = tmp.dir()
    const good = levelStore({ location })
    await good.save([{ address: 'tcp://127.0.0.1:1', peerId: ID }])
    await good.record('tcp://127.0.0.1:1', { type: 'dial-ok' })
    await good.close()
    await writeRaw(location, [
      ['a!tcp://127.0.0.1:2', new Uint8Array([0xde, 0xad, 0xbe, 0xef])], // garbage
      ['a!tcp://127.0.0.1:3', v(encodeValue([ID, 1, 0, 0, 0, null, null]), 0)], // older format version
      ['a!tcp://127.0.0.1:4', v(encodeValue({ ok: 1 }))], // right version, wrong shape
      ['a!tcp://127.0.0.1:5', v(new Uint8Array([0xc1]))], // right version, undecodable msgpack
      ['a!tcp://127.0.0.1:6', v(encodeValue([ID, -1, 0, 0, 0, null, null]))], // negative counter
      ['a!tcp://127.0.0.1:7', new Uint8Array(0)], // empty
      ['t!tcp://127.0.0.1:8', new Uint8Array([7, 7, 7])], // garbage tombstone
      ['i!', v(new Uint8Array(10))] // identity of the wrong size
    ])
    const reasons: string[] = []
    const s = store({ location, onCorrupt: ({ key, reason }) => { reasons.push(`${key}: ${reason}`) } })
    const listed = await rows(s)
    expect([...listed.keys()]).toEqual(['tcp://127.0.0.1:1'])
    expect(s.corrupt).toBe(6)
    expect(reasons.join('\n')).toMatch(/format version 0, expected 1/)
    // a corrupt row reads as unknown and is replaced by the next write
    expect(await s.getStats('tcp://127.0.0.1:2')).toEqual({ connections: { ok: 0, fail: 0 }, nodes: { rx: 0, tx: 0 }, lastSeen: null, rtt: null })
    await s.record('tcp://127.0.0.1:2', { type: 'rx', count: 3 })
    expect((await s.getStats('tcp://127.0.0.1:2')).nodes.rx).toBe(3)
    // a garbage tombstone blocks nothing
    await s.save(['tcp://127.0.0.1:8'])
    expect((await rows(s)).has('tcp://127.0.0.1:8')).toBe(true)
    // a bad identity reads as none (the node then generates and saves a new one)
    expect(await s.getIdentity()).toBeUndefined()
    await s.setIdentity(new Uint8Array(64).fill(1))
    expect(await s.getIdentity()).toEqual(new Uint8Array(64).fill(1))
    expect(s.corrupt).toBeGreaterThanOrEqual(9)
  })

  it('a throwing onCorrupt callback changes nothing', async () => {
    const location = tmp.dir()
    await writeRaw(location, [['a!x', new Uint8Array([1, 2])]])
    const s = store({ location, onCorrupt: () => { throw new Error('boom') } })
    expect((await rows(s)).size).toBe(0)
    expect(s.corrupt).toBe(1)
  })
})

describe('levelStore: concurrency and batching', () => {
  it('loses no counts with thousands of concurrent records over many addresses, interleaved with saves and reads', async () => {
    const s = store({ location: tmp.dir(), maxBatch: 256 })
    const addrs = Array.from({ length: 50 }, (_v, i) => `ws://127.0.0.1:${3000 + i}`)
    const ops: Array<Promise<unknown>> = []
    for (let round = 0; round < 100; round++) {
      for (const a of addrs) ops.push(s.record(a, round % 2 === 0 ? { type: 'dial-ok' } : { type: 'tx', count: 2 }))
      if (round % 10 === 0) ops.push(s.save(addrs.map(address => ({ address, peerId: ID }))), s.getStats(addrs[0]!))
    }
    await Promise.all(ops)
    for (const a of addrs) {
      const st = await s.getStats(a)
      expect(st.connections.ok).toBe(50)
      expect(st.nodes.tx).toBe(100)
    }
    expect(s.corrupt).toBe(0)
  })

  it('groups records that arrive during a write into one batch', async () => {
    const location = tmp.dir()
    const db = new Level<string, Uint8Array>(location, ENC)
    open.push(db)
    let batches = 0
    const batch = db.batch.bind(db) as (...args: unknown[]) => Promise<void>
    ;(db as unknown as { batch: typeof batch }).batch = async (...args: unknown[]) => { batches++; return await batch(...args) }
    const s = store({ db })
    await Promise.all(Array.from({ length: 1000 }, async (_v, i) => await s.record(`tcp://127.0.0.1:${i % 100}`, { type: 'rx', count: 1 })))
    expect(batches).toBeLessThanOrEqual(2)
    expect((await s.getStats('tcp://127.0.0.1:5')).nodes.rx).toBe(10)
  })

  it('flush() resolves once every write called before it is written', async () => {
    const s = store({ location: tmp.dir() })
    for (let i = 0; i < 20; i++) void s.record('tcp://127.0.0.1:9', { type: 'dial-fail' })
    await s.flush()
    const raw = await s.db.get('a!tcp://127.0.0.1:9', ENC)
    expect(raw).toBeInstanceOf(Uint8Array)
    expect((await s.getStats('tcp://127.0.0.1:9')).connections.fail).toBe(20)
  })
})

describe('levelStore: options and failures', () => {
  it('works on a database passed in (a sublevel), which it does not close', async () => {
    const db = new Level<string, string>(tmp.dir())
    open.push(db)
    const sub = db.sublevel<string, string>('peers', {})
    const s = levelStore({ db: sub })
    await s.save(['tcp://127.0.0.1:1'])
    await s.setIdentity(new Uint8Array(64).fill(3))
    await s.close()
    expect(db.status).toBe('open')
    const again = store({ db: db.sublevel('peers') })
    expect((await rows(again)).has('tcp://127.0.0.1:1')).toBe(true)
    expect(await again.getIdentity()).toEqual(new Uint8Array(64).fill(3))
    // other keys of the application's database are untouched
    await db.put('app', 'value')
    expect(await db.get('app')).toBe('value')
  })

  it('rejects with StoreError when the database is locked by another store', async () => {
    const location = tmp.dir()
    const first = store({ location })
    await first.open()
    const second = levelStore({ location })
    await expect(second.open()).rejects.toMatchObject({ code: 'ERR_STORE', message: expect.stringMatching(/locked/) })
    await expect(second.open()).rejects.toBeInstanceOf(StoreLockedError)
    await expect(second.save(['tcp://127.0.0.1:1'])).rejects.toMatchObject({ code: 'ERR_STORE' })
    await expect(rows(second)).rejects.toMatchObject({ code: 'ERR_STORE' })
    await second.close()
    await first.save(['tcp://127.0.0.1:1'])
  })

  it('touches no disk until it is used', async () => {
    const location = tmp.dir()
    const s = levelStore({ location })
    expect(s.location).toBe(location)
    await new Promise(resolve => setTimeout(resolve, 0))
    expect(existsSync(location)).toBe(false)
    await s.close()
    expect(existsSync(location)).toBe(false)
    const t = store({ location })
    await t.getIdentity()
    expect(existsSync(location)).toBe(true)
  })

  it('refuses bad options and arguments with TypeError', async () => {
    expect(() => levelStore({} as never)).toThrow(TypeError)
    expect(() => levelStore({ location: '' })).toThrow(TypeError)
    expect(() => levelStore({ location: tmp.dir(), maxBatch: 0 })).toThrow(TypeError)
    expect(() => levelStore({ location: tmp.dir(), tombstoneMs: -1 })).toThrow(TypeError)
    const s = store({ location: tmp.dir() })
    await expect(s.save('tcp://x' as never)).rejects.toBeInstanceOf(TypeError)
    await expect(s.remove([''])).rejects.toBeInstanceOf(TypeError)
    await expect(s.putMeta('', new Uint8Array(1))).rejects.toBeInstanceOf(TypeError)
    await expect(s.putMeta('k', 'v' as never)).rejects.toBeInstanceOf(TypeError)
    await expect(s.record('x'.repeat(3000), { type: 'dial-fail' })).rejects.toBeInstanceOf(TypeError)
  })

  it('close() is idempotent and every later call rejects with StoreError', async () => {
    const s = levelStore({ location: tmp.dir() })
    await s.save(['tcp://127.0.0.1:1'])
    await Promise.all([s.close(), s.close()])
    await s.close()
    expect(s.db.status).toBe('closed')
    for (const call of [() => s.record('tcp://127.0.0.1:1', { type: 'dial-fail' }), () => s.getIdentity(), () => s.putMeta('k', new Uint8Array(1)), () => s.remove(['a'])]) {
      await expect(call()).rejects.toMatchObject({ code: 'ERR_STORE' })
    }
  })
})
