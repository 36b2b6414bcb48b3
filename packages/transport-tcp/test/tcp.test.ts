import * as net from 'node:net'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import * as nodeCrypto from 'node:crypto'
import type { CipherSuite, Connection, Listener, Transport } from '@hearsay/core'
import { aes256Gcm, generateIdentity, secureChannel, systemClock, systemRandom, webCryptoAes256Gcm, xsalsa20Poly1305 } from '@hearsay/core'
import { tcp } from '../src/index.js'
import { tcp as browserTcp } from '../src/index.browser.js'
import { encodeFrame, writeFrameHeader } from '../src/frame-decoder.js'

interface Collected { frames: Uint8Array[], closes: Array<Error | undefined>, closed: Promise<Error | undefined> }

function collect (c: Connection): Collected {
  let onClosed: (r: Error | undefined) => void = () => {}
  const got: Collected = { frames: [], closes: [], closed: new Promise(resolve => { onClosed = resolve }) }
  c.setHandlers({
    onMessage: f => got.frames.push(f),
    onClose: r => { got.closes.push(r); onClosed(r) }
  })
  return got
}

/** Resolves when `check()` holds, re-checking on every event-loop turn. */
async function until (check: () => boolean, what: string, ms = 5000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setImmediate(resolve))
  }
}

/** A raw server on 127.0.0.1 that records its sockets. */
async function rawServer (onSocket: (s: net.Socket) => void = () => {}): Promise<{ server: net.Server, port: number, sockets: net.Socket[] }> {
  const sockets: net.Socket[] = []
  const server = net.createServer(s => { s.on('error', () => {}); sockets.push(s); onSocket(s) })
  server.listen({ host: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  return { server, port: (server.address() as net.AddressInfo).port, sockets }
}

async function rawConnect (port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port })
  s.on('error', () => {})
  await once(s, 'connect')
  return s
}

function portOf (address: string): number {
  return Number(/:(\d+)$/.exec(address)![1])
}

/** Open transports, servers and sockets, released after each test. */
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

function transport (init?: Parameters<typeof tcp>[0]): Transport {
  const t = tcp(init)
  cleanups.push(async () => { await t.close() })
  return t
}

async function listenWith (t: Transport, maxFrameBytes?: number): Promise<{ listener: Listener, accepted: Connection[], next: () => Promise<Connection> }> {
  const accepted: Connection[] = []
  const listener = await t.listen('tcp://127.0.0.1:0', c => { accepted.push(c) }, maxFrameBytes === undefined ? {} : { maxFrameBytes })
  let cursor = 0
  /** The next inbound connection not yet returned, in accept order. */
  const next = async (): Promise<Connection> => {
    const i = cursor++
    await until(() => accepted.length > i, 'an inbound connection')
    return accepted[i]!
  }
  return { listener, accepted, next }
}

function codeOf (err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code
}

describe('tcp transport', () => {
  it('has the documented shape and reports the real port of a port-0 listener', async () => {
    const t = transport()
    expect(t.name).toBe('tcp')
    expect(t.protocols).toEqual(['tcp'])
    expect(t.supports.listen).toBe(true)
    const { listener, next } = await listenWith(t)
    expect(listener.addresses).toHaveLength(1)
    expect(listener.addresses[0]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect(portOf(listener.addresses[0]!)).toBeGreaterThan(0)
    const a = await t.dial(listener.addresses[0]!)
    const b = await next()
    expect(a.remoteAddress).toBe(listener.addresses[0])
    expect(b.remoteAddress).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    // a bare host:port defaults to tcp
    const c = await t.dial(`127.0.0.1:${portOf(listener.addresses[0]!)}`)
    expect(c.remoteAddress).toBe(listener.addresses[0])
    await next()
  })

  it('rejects bad addresses with InvalidAddressError and bad options with TypeError', async () => {
    const t = transport()
    for (const address of ['', 'ws://127.0.0.1:1', 'memory:x', 'tcp://127.0.0.1', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:1/path', 'tcp://127.0.0.1:99999']) {
      await expect(t.dial(address), address).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
    }
    for (const address of ['ws://127.0.0.1:0', 'tcp://127.0.0.1', 'tcp://127.0.0.1:0/x']) {
      await expect(t.listen(address, () => {}), address).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
    }
    expect(() => tcp({ maxFrameBytes: -1 })).toThrow(TypeError)
    expect(() => tcp({ maxFrameBytes: 2 ** 32 })).toThrow(TypeError)
    expect(() => tcp({ keepAlive: -5 })).toThrow(TypeError)
    expect(() => tcp({ noDelay: 'yes' as unknown as boolean })).toThrow(TypeError)
    await expect(t.dial('tcp://127.0.0.1:1', { maxFrameBytes: -1 })).rejects.toThrow(TypeError)
  })

  it('listening on a port in use rejects with InvalidAddressError', async () => {
    const t = transport()
    const { listener } = await listenWith(t)
    await expect(t.listen(listener.addresses[0]!, () => {})).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
  })

  it('a dial failure is a DialError carrying the socket error as its cause', async () => {
    const t = transport()
    const { server, port } = await rawServer()
    await new Promise<void>(resolve => server.close(() => resolve()))
    const err = await t.dial(`tcp://127.0.0.1:${port}`).catch((e: unknown) => e)
    expect(codeOf(err)).toBe('ERR_DIAL_FAILED')
    expect(codeOf((err as Error).cause)).toBe('ECONNREFUSED')
  })

  it('aborting a dial in flight rejects with AbortError and destroys the half-open socket', async () => {
    const t = transport()
    const raw = await rawServer()
    cleanups.push(() => { raw.server.close() })
    const ac = new AbortController()
    const dialing = t.dial(`tcp://127.0.0.1:${raw.port}`, { signal: ac.signal })
    // after net.connect has issued the connect (its own nextTick) but before 'connect' fires
    process.nextTick(() => ac.abort())
    await expect(dialing).rejects.toMatchObject({ code: 'ERR_ABORTED' })
    // accepts are FIFO: once a later probe is accepted, an aborted dial that reached the
    // server has been accepted too, and it must be closed from our side
    const probe = await rawConnect(raw.port)
    cleanups.push(() => { probe.destroy() })
    await until(() => raw.sockets.length >= 1 && raw.sockets[raw.sockets.length - 1]!.remotePort === probe.localPort, 'the probe to be accepted')
    const aborted = raw.sockets.slice(0, -1)
    expect(aborted.length).toBeLessThanOrEqual(1)
    await Promise.all(aborted.map(async s => { if (!s.closed) { s.resume(); await once(s, 'close') } }))
  })

  it('transport.close() fails a pending dial with DialError', async () => {
    const t = transport()
    const raw = await rawServer()
    cleanups.push(() => { raw.server.close() })
    const dialing = t.dial(`tcp://127.0.0.1:${raw.port}`)
    const closing = t.close()
    await expect(dialing).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
    await closing
  })

  it('a peer reset does not crash the process and the listener keeps accepting', async () => {
    const t = transport()
    const { listener, next } = await listenWith(t)
    const port = portOf(listener.addresses[0]!)

    const raw = await rawConnect(port)
    const victim = collect(await next())
    raw.resetAndDestroy()
    const reason = await victim.closed
    expect(codeOf(reason)).toBe('ERR_CONNECTION_CLOSED')
    expect(codeOf((reason as Error).cause)).toBe('ECONNRESET')
    expect(victim.closes).toHaveLength(1)

    // still accepting, and frames flow on the new connection
    const a = await t.dial(listener.addresses[0]!)
    const b = await next()
    const gb = collect(b)
    const ga = collect(a)
    a.send(new Uint8Array([1, 2, 3]))
    await until(() => gb.frames.length === 1, 'a frame after the reset')
    b.send(new Uint8Array([4]))
    await until(() => ga.frames.length === 1, 'the reply')
    expect([...gb.frames[0]!]).toEqual([1, 2, 3])
  })

  it('a reset of a dialled connection by its server closes it with an error and nothing crashes', async () => {
    const t = transport()
    const raw = await rawServer(s => { s.resetAndDestroy() })
    cleanups.push(() => { raw.server.close() })
    const conn = await t.dial(`tcp://127.0.0.1:${raw.port}`).catch(() => undefined)
    // the reset may come before or after 'connect'; either way it is handled
    if (conn !== undefined) {
      const got = collect(conn)
      const reason = await got.closed
      expect(codeOf(reason)).toBe('ERR_CONNECTION_CLOSED')
      expect(() => conn.send(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ERR_CONNECTION_CLOSED' }))
    }
  })

  it('a raw header declaring 2^31 bytes closes the connection with ERR_TOO_LARGE without allocating it', async () => {
    const t = transport()
    const { listener, next } = await listenWith(t)
    const raw = await rawConnect(portOf(listener.addresses[0]!))
    cleanups.push(() => { raw.destroy() })
    const got = collect(await next())
    const before = process.memoryUsage().arrayBuffers
    const header = new Uint8Array(4)
    writeFrameHeader(header, 0, 2 ** 31)
    raw.write(header)
    raw.write(new Uint8Array(1000))
    const rawClosed = once(raw, 'close')
    raw.resume()
    const reason = await got.closed
    expect(codeOf(reason)).toBe('ERR_TOO_LARGE')
    expect(got.frames).toHaveLength(0)
    // the server dropped the socket
    await rawClosed
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024)
  })

  it('frames before an oversized header are delivered, then the connection closes (dialer side)', async () => {
    const t = transport()
    const raw = await rawServer(s => {
      const header = new Uint8Array(4)
      writeFrameHeader(header, 0, 0xffff_ffff)
      s.write(Buffer.concat([encodeFrame(new Uint8Array([5, 6])), header]))
    })
    cleanups.push(() => { raw.server.close() })
    const conn = await t.dial(`tcp://127.0.0.1:${raw.port}`, { maxFrameBytes: 1024 })
    const got = collect(conn)
    const reason = await got.closed
    expect(codeOf(reason)).toBe('ERR_TOO_LARGE')
    expect(got.frames.map(f => [...f])).toEqual([[5, 6]])
  })

  it('a stream that ends inside a frame closes with ERR_INVALID_FRAME', async () => {
    const t = transport()
    const { listener, next } = await listenWith(t)
    const raw = await rawConnect(portOf(listener.addresses[0]!))
    cleanups.push(() => { raw.destroy() })
    const got = collect(await next())
    const header = new Uint8Array(4)
    writeFrameHeader(header, 0, 10)
    raw.end(Buffer.concat([encodeFrame(new Uint8Array([1])), header, new Uint8Array(3)]))
    const reason = await got.closed
    expect(codeOf(reason)).toBe('ERR_INVALID_FRAME')
    expect(got.frames).toHaveLength(1)
  })

  it('a clean FIN from the peer closes without a reason', async () => {
    const t = transport()
    const { listener, next } = await listenWith(t)
    const raw = await rawConnect(portOf(listener.addresses[0]!))
    cleanups.push(() => { raw.destroy() })
    const got = collect(await next())
    raw.end(encodeFrame(new Uint8Array([42])))
    expect(await got.closed).toBeUndefined()
    expect(got.frames.map(f => [...f])).toEqual([[42]])
  })

  it('large frames (corked writes) and many small ones arrive intact; send copies small frames', async () => {
    const t = transport({ maxFrameBytes: 4 * 1024 * 1024 })
    const { listener, next } = await listenWith(t)
    const a = await t.dial(listener.addresses[0]!)
    const gb = collect(await next())
    collect(a)
    const big = Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7) & 0xff)
    const small = new Uint8Array([1, 2, 3])
    a.send(big)
    a.send(small)
    small[0] = 99 // the caller may reuse a small frame's buffer at once
    for (let i = 0; i < 1000; i++) a.send(new Uint8Array([i & 0xff, i >> 8]))
    // loopback kernel buffers often take all of it at once, so the queue may already be empty
    expect(a.bufferedAmount).toBeGreaterThanOrEqual(0)
    await a.drained()
    await until(() => gb.frames.length === 1002, 'all frames', 10_000)
    expect(gb.frames[0]!.length).toBe(big.length)
    expect(gb.frames[0]!.every((x, i) => x === ((i * 7) & 0xff))).toBe(true)
    expect([...gb.frames[1]!]).toEqual([1, 2, 3])
    for (let i = 0; i < 1000; i++) expect([...gb.frames[i + 2]!]).toEqual([i & 0xff, i >> 8])
  })

  it('secure links read their frames in place (transient): batches and frames that span reads arrive intact with every suite', async () => {
    const suites: CipherSuite[] = [aes256Gcm(nodeCrypto), webCryptoAes256Gcm(), xsalsa20Poly1305]
    for (const suite of suites) {
      const t = transport()
      const { listener, next } = await listenWith(t)
      const common = { clock: systemClock, random: systemRandom, timeoutMs: 5000, maxFrameBytes: 256 * 1024 }
      const channel = secureChannel({ cipherSuites: [suite] })
      const [a, b] = await Promise.all([
        t.dial(listener.addresses[0]!).then(async c => await channel.upgrade(c, { ...common, role: 'initiator', identity: generateIdentity(systemRandom) })),
        next().then(async c => await channel.upgrade(c, { ...common, role: 'responder', identity: generateIdentity(systemRandom) }))
      ])
      const got: Uint8Array[] = []
      b.conn.setHandlers({ onMessage: f => { got.push(f) }, onClose: () => {} })
      a.conn.setHandlers({ onMessage: () => {}, onClose: () => {} })
      // each frame names itself in its bytes: 1 KiB ones coalesce into 64 KiB batches, 100 KiB
      // ones go alone; both span the socket's reads
      const frame = (i: number): Uint8Array => new Uint8Array(i % 50 === 0 ? 100_000 : 1000).fill(i & 0xff)
      for (let turn = 0; turn < 4; turn++) {
        for (let i = turn * 200; i < (turn + 1) * 200; i++) a.conn.send(frame(i))
        await new Promise(resolve => setImmediate(resolve))
      }
      await until(() => got.length === 800, `${suite.name}: every frame`, 10_000)
      got.forEach((f, i) => { expect(f.length === frame(i).length && f.every(x => x === (i & 0xff)), `${suite.name} frame ${i}`).toBe(true) })
      a.conn.close(); b.conn.close()
    }
  })

  it('under real backpressure bufferedAmount grows, drained() waits (and honours abort), and close() flushes', async () => {
    const t = transport({ maxFrameBytes: 1024 * 1024 })
    const received: Buffer[] = []
    let ended = false
    const raw = await rawServer(s => {
      s.pause() // the peer does not read: kernel buffers fill, then the socket queue grows
      s.on('data', (b: Buffer) => received.push(b))
      s.on('end', () => { ended = true })
    })
    cleanups.push(() => { raw.server.close() })
    const a = await t.dial(`tcp://127.0.0.1:${raw.port}`)
    const got = collect(a)
    await until(() => raw.sockets.length === 1, 'accept')
    const frame = new Uint8Array(1024 * 1024).fill(7)
    const frames = 48
    for (let i = 0; i < frames; i++) a.send(frame)
    expect(a.bufferedAmount).toBeGreaterThan(8 * 1024 * 1024)

    const ac = new AbortController()
    const aborted = a.drained({ signal: ac.signal })
    let drainedResolved = false
    const drained = a.drained().then(() => { drainedResolved = true })
    await new Promise(resolve => setImmediate(resolve))
    expect(drainedResolved).toBe(false)
    ac.abort()
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_ABORTED' })

    raw.sockets[0]!.resume()
    await drained
    expect(a.bufferedAmount).toBe(0)

    // a graceful close with data queued delivers all of it before the FIN
    for (let i = 0; i < 8; i++) a.send(frame)
    a.close()
    expect(got.closes).toEqual([undefined])
    await until(() => ended, 'the FIN', 10_000)
    const total = received.reduce((n, b) => n + b.length, 0)
    expect(total).toBe((frames + 8) * (4 + frame.length))
  })

  it('send of a non-Uint8Array throws TypeError; an onMessage that throws closes the connection with that error', async () => {
    const t = transport()
    const { listener, next } = await listenWith(t)
    const a = await t.dial(listener.addresses[0]!)
    collect(a)
    const b = await next()
    expect(() => a.send('abc' as unknown as Uint8Array)).toThrow(TypeError)
    const boom = new Error('consumer failed')
    let reason: Error | undefined
    const closed = new Promise<void>(resolve => {
      b.setHandlers({ onMessage: () => { throw boom }, onClose: r => { reason = r; resolve() } })
    })
    a.send(new Uint8Array([1]))
    await closed
    expect(reason).toBe(boom)
  })

  it('an onConnection callback that throws closes that connection and nothing crashes', async () => {
    const t = transport()
    const listener = await t.listen('tcp://127.0.0.1:0', () => { throw new Error('boom') })
    const a = await t.dial(listener.addresses[0]!)
    const got = collect(a)
    await got.closed
    expect(a.closed).toBe(true)
  })

  it('transport.close() closes every connection and leaves no sockets, servers or timers behind', async () => {
    const count = (): Record<string, number> => {
      const out: Record<string, number> = {}
      for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1
      return out
    }
    const before = count()
    const t = tcp()
    const { listener, next } = await listenWith(t)
    const a = await t.dial(listener.addresses[0]!)
    const ga = collect(a)
    const gb = collect(await next())
    // a graceful close in progress (grace timer armed) when the transport closes
    const c = await t.dial(listener.addresses[0]!)
    await next()
    c.close()
    await t.close()
    await t.close() // idempotent
    expect(ga.closes).toEqual([undefined])
    expect(gb.closes).toEqual([undefined])
    const after = count()
    for (const kind of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) {
      expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(before[kind] ?? 0)
    }
    await expect(t.dial(listener.addresses[0]!)).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
  })
})

describe('browser entry', () => {
  it('tcp() cannot dial or listen in a browser', async () => {
    const t = browserTcp()
    expect(t.name).toBe('tcp')
    expect(t.protocols).toEqual(['tcp'])
    expect(t.supports.listen).toBe(false)
    await expect(t.dial('tcp://127.0.0.1:1')).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' })
    await expect(t.listen('tcp://127.0.0.1:0', () => {})).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' })
    await t.close()
  })

  it('package.json maps the browser condition to the browser entry (with its own types), with source first', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, Record<string, unknown>> }
    const root = pkg.exports['.']!
    expect(Object.keys(root)[0]).toBe('source')
    expect(root.source).toEqual({ browser: './src/index.browser.ts', default: './src/index.ts' })
    expect(root.browser).toEqual({ types: './dist/index.browser.d.ts', default: './dist/index.browser.js' })
    expect(root.node).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' })
    // runtimes without the node condition get the browser entry (it says why it cannot dial)
    expect(root.default).toEqual({ types: './dist/index.browser.d.ts', default: './dist/index.browser.js' })
  })
})
