import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runReadmeExample } from '../../../test-support/readme-example.js'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import * as hearsay from '../src/index.node.js'
import { createNode, DEFAULT_STORE, memoryStore, StoreLockedError } from '../src/index.node.js'
import type { HearsayNode, LevelPeerStore } from '../src/index.node.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = mkdtempSync(path.join(os.tmpdir(), 'hearsay-pkg-'))
let n = 0
const dir = (): string => path.join(root, `store-${n++}`)
const nodes: HearsayNode[] = []
const node = (opts: Parameters<typeof createNode>[0]): HearsayNode => { const x = createNode(opts); nodes.push(x); return x }
afterEach(async () => { while (nodes.length > 0) await nodes.pop()!.stop() })
afterAll(() => {
  rmSync(root, { recursive: true, force: true })
  expect(existsSync(root)).toBe(false)
})

describe('hearsay (Node entry)', () => {
  it('re-exports core and replaces createNode', () => {
    expect(typeof hearsay.memoryStore).toBe('function')
    expect(typeof hearsay.HearsayNode).toBe('function')
    expect(typeof hearsay.levelStore).toBe('function')
    expect(typeof hearsay.webSockets).toBe('function')
    expect(typeof hearsay.tcp).toBe('function')
    expect(DEFAULT_STORE).toBe('./.hearsay')
  })

  it('a store path opens LevelDB there, the node keeps its id across restarts, and stop() closes it', async () => {
    const location = dir()
    const a = node({ store: location })
    expect((a.store as LevelPeerStore).location).toBe(location)
    await a.start()
    const id = a.id
    await a.stop()
    expect(existsSync(location)).toBe(true)
    // closed by stop(): the same process can open it again (LevelDB's lock is free)
    const b = node({ store: location })
    await b.start()
    expect(b.id).toBe(id)
  })

  it('the same node stops and starts again on its LevelDB store: the lock is released between, and it keeps its id and saved peers', async () => {
    const location = dir()
    const a = node({ store: location })
    await a.start()
    const id = a.id
    await a.store.save(['tcp://127.0.0.1:9'])
    await a.stop()
    // released by stop(): another store can take the lock, and must give it back
    const other = hearsay.levelStore({ location })
    await other.open(); await other.close()
    await a.start()
    expect(a.id).toBe(id)
    const rows: string[] = []
    for await (const r of a.store.known()) rows.push(r.address)
    expect(rows).toContain('tcp://127.0.0.1:9')
  })

  it('defaults to ./.hearsay without touching the disk before start()', () => {
    const a = createNode()
    expect((a.store as LevelPeerStore).location).toBe('./.hearsay')
    expect(existsSync(path.resolve('.hearsay'))).toBe(false)
  })

  it('a second node on the same path fails to start with StoreLockedError', async () => {
    const location = dir()
    await node({ store: location }).start()
    const second = node({ store: location })
    const err = await second.start().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StoreLockedError)
    expect(err).toMatchObject({ code: 'ERR_STORE' })
  })

  it('uses a PeerStore object as is and does not close it', async () => {
    const store = memoryStore()
    const a = node({ store })
    expect(a.store).toBe(store)
    await a.start()
    await a.stop()
    expect(await store.getIdentity()).toBeInstanceOf(Uint8Array)
  })

  it('carries no application-layer service unless listed; listed ones work', async () => {
    const bare = node({ store: memoryStore() })
    expect(() => bare.state).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('stateService()') }))
    expect(() => bare.events).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }))
    const full = node({ store: memoryStore(), services: hearsay.allServices() })
    await full.start()
    full.state.set('k', 'v')
    expect(full.state.get('k')).toBe('v')
    expect(typeof full.events.say).toBe('function')
    const some = node({ store: memoryStore(), services: [hearsay.eventsService()] })
    expect(typeof some.events.hear).toBe('function')
    expect(() => some.state).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }))
  })

  it('refuses an empty store name with TypeError', () => {
    expect(() => createNode({ store: '' })).toThrow(TypeError)
  })

  it('dials over tcp and ws with the default transports', async () => {
    const a = node({ store: dir(), listen: ['tcp://127.0.0.1:0', 'ws://127.0.0.1:0'] })
    const b = node({ store: dir() })
    await a.start(); await b.start()
    const tcpAddr = a.addresses.find(x => x.startsWith('tcp://'))!
    const wsAddr = a.addresses.find(x => x.startsWith('ws://'))!
    expect((await b.dial(tcpAddr)).id).toBe(a.id)
    await b.hangUp(a.id)
    const c = node({ store: dir() })
    await c.start()
    expect((await c.dial(wsAddr)).id).toBe(a.id)
  })

  it('links between Node nodes seal their frames with native AES-256-GCM', async () => {
    const a = node({ store: memoryStore(), listen: ['tcp://127.0.0.1:0'] })
    const b = node({ store: memoryStore() })
    await a.start(); await b.start()
    const peer = await b.dial(a.addresses[0]!)
    expect((peer.link.conn as { cipherSuite?: string }).cipherSuite).toBe('aes-256-gcm')
    const got = new Promise(resolve => { a.once('message', (m) => { resolve(m.data) }) })
    peer.send('x', 'over aes')
    expect(await got).toBe('over aes')
  })

  it('the README example runs as written', async () => {
    const work = dir()
    mkdirSync(work)
    const logs = await runReadmeExample({ testDir: here, workDir: work, importFrom: 'hearsay', importTo: '../src/main.node.js' })
    expect(logs.at(-1)?.[0]).toBe('alice got greeting from bob:')
    expect(logs.at(-1)?.[1]).toEqual({ text: 'hello from bob' })
    expect(existsSync(path.join(work, 'alice-peers'))).toBe(true)
    expect(existsSync(path.join(work, 'bob-peers'))).toBe(true)
  })
})
