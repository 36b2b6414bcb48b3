/**
 * @hearsay/compat/peernet in one process, on LevelDB databases (level): bad input and the
 * options with no hearsay equivalent (warned once), connect/disconnect/connections, an
 * announcement whose reply is an object with every field, save/remove/known, getStats.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { Level } from 'level'
import wsock from 'websocket-stream'
import { afterEach, describe, expect, it } from 'vitest'
import peernet, { transport } from '@hearsay/compat/peernet'
import type { Peernet, PeernetRequest, PeernetRow } from '@hearsay/compat/peernet'

const cleanup: Array<() => unknown> = []
afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f() })

function db (): Level<string, Uint8Array> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearsay-peernet-compat-'))
  const d = new Level<string, Uint8Array>(dir)
  cleanup.push(async () => { await d.close(); rmSync(dir, { recursive: true, force: true }) })
  return d
}

function instance (opts: Parameters<typeof peernet>[1] = { transport }): Peernet {
  const pn = peernet(db(), opts)
  cleanup.push(async () => { await pn.close() })
  return pn
}

/** A peernet attached to its own HTTP server, as the README wires it; resolves with its ws:// address. */
async function served (pn: Peernet): Promise<string> {
  const server = http.createServer((_req, res) => { res.end('...\n') })
  // websocket-stream's types leave out the stream its handler gets
  const createServer = wsock.createServer as unknown as (o: { server: http.Server }, handler: (stream: NodeJS.ReadWriteStream) => void) => unknown
  createServer({ server }, (stream) => { stream.pipe(pn.createStream()).pipe(stream) })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  cleanup.push(async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) })
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}`
}

async function rows (r: NodeJS.ReadableStream): Promise<PeernetRow[]> {
  const out: PeernetRow[] = []
  for await (const row of r) out.push(row as unknown as PeernetRow)
  return out
}

describe('peernet(db, opts)', () => {
  it('throws TypeError (or TooLargeError for sizes) at the call for bad input', () => {
    expect(() => peernet({} as never)).toThrow(/level database/)
    const d = db()
    expect(() => peernet(d, { interval: 0 })).toThrow(TypeError)
    expect(() => peernet(d, { connections: 0 })).toThrow(TypeError)
    expect(() => peernet(d, { listen: [] } as never)).toThrow(/unknown option "listen"/)
    const pn = instance()
    expect(() => pn.save('ws://x:1' as never)).toThrow(TypeError)
    expect(() => pn.getStats(5 as never, () => {})).toThrow(TypeError)
    expect(() => pn.announce({ id: 5 as never })).toThrow(TypeError)
    expect(() => pn.announce({ type: 'x'.repeat(65) })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => pn.announce({ data: Buffer.alloc(1025) })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }))
    expect(() => pn.announce({ hops: 3, limit: 2 })).toThrow(TypeError)
  })

  it('warns once for wrtc, a foreign transport and bootstrap: false', async () => {
    const codes: string[] = []
    const onWarning = (w: Error & { code?: string }): void => { if (w.code !== undefined) codes.push(w.code) }
    process.on('warning', onWarning)
    cleanup.push(() => { process.off('warning', onWarning) })
    instance({ wrtc: {}, transport: { createStream () {} }, bootstrap: false })
    instance({ wrtc: {} })
    await new Promise(resolve => setImmediate(resolve))
    expect(codes.sort()).toEqual(['HEARSAY_PEERNET_BOOTSTRAP', 'HEARSAY_PEERNET_TRANSPORT', 'HEARSAY_PEERNET_WRTC'])
  })

  it('connect, connections, announce with an object reply, getStats, disconnect, save/remove/known', async () => {
    const hub = instance()
    const hubAddress = await served(hub)
    hub.on('request', (req: PeernetRequest) => {
      expect(req.type).toBe('find')
      expect(req.data!.toString()).toBe('song.mp3')
      expect(req.hops).toBe(1)
      req.reply({ type: 'found', data: Buffer.from('at the hub'), limit: 4 })
    })
    const pn = instance()
    await new Promise<void>((resolve, reject) => { pn.connect(hubAddress, (err) => { if (err !== null) reject(err); else resolve() }) })
    expect(pn.connections()).toEqual([hubAddress])

    const got = await rows(pn.announce({ id: 'q-1', type: 'find', data: 'song.mp3', limit: 3 }).take(1))
    expect(got).toHaveLength(1)
    expect(got[0]!.id).toBe('q-1')
    expect(got[0]!.type).toBe('found')
    expect(got[0]!.data).toEqual(Buffer.from('at the hub'))
    expect(got[0]!.limit).toBe(4)
    expect(got[0]!.hops).toBe(1)

    const stats = await new Promise<unknown>((resolve, reject) => { pn.getStats(hubAddress, (err, s) => { if (err !== null) reject(err); else resolve(s) }) })
    expect(stats).toEqual({ connections: { ok: 1, fail: 0 }, nodes: { rx: expect.any(Number), tx: expect.any(Number) } })

    expect(await pn.disconnect(hubAddress)).toBe(true)
    expect(pn.connections()).toEqual([])

    await pn.save(['ws://127.0.0.1:9', 'tcp://127.0.0.1:9'])
    await pn.remove(['tcp://127.0.0.1:9'])
    const known = (await rows(pn.known())).map(r => (r as unknown as { address: string }).address).sort()
    expect(known).toEqual([hubAddress, 'ws://127.0.0.1:9'].sort())
  })
})
