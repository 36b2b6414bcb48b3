/**
 * @hearsay/compat/coalescent in one process: options and bad input as coalescent documents
 * them, smartrelay on a triangle (each chunk once per app), the logger coalescent documents
 * (info/warn/error only), a write that never found a peer, socket.end().
 */
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import coalescent, { CoalescentApp } from '../src/coalescent/index.js'
import type { CoalescentSocket } from '../src/coalescent/index.js'

const apps: CoalescentApp[] = []
afterEach(async () => { await Promise.all(apps.splice(0).map(async a => await new Promise<void>((resolve) => { a.close(() => { resolve() }) }))) })

const quiet = { info () {}, warn () {}, error () {} }
function app (options: Parameters<typeof coalescent>[0] = {}): CoalescentApp {
  const a = coalescent({ logger: quiet, ...options })
  apps.push(a)
  return a
}

async function listening (a: CoalescentApp): Promise<string> {
  await new Promise<void>((resolve) => { a.listen(0, '127.0.0.1', resolve) })
  return `127.0.0.1:${a.address()!.port}`
}

async function until (what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

describe('coalescent(options)', () => {
  it('has the README defaults', () => {
    const a = coalescent()
    expect(a).toBeInstanceOf(CoalescentApp)
    expect(a.options.minPeers).toBe(3)
    expect(a.options.maxPeers).toBe(12)
    expect(a.options.seeds).toEqual([])
    expect(a.logger).toBe(console)
    expect(typeof coalescent.tattletale).toBe('function')
    expect(typeof coalescent.smartrelay).toBe('function')
    expect(typeof coalescent.courier).toBe('function')
    expect(typeof coalescent.router).toBe('function')
  })

  it('throws TypeError at the call for bad input', () => {
    expect(() => coalescent({ minPeers: -1 })).toThrow(TypeError)
    expect(() => coalescent({ minPeers: 5, maxPeers: 2 })).toThrow(/minPeers/)
    expect(() => coalescent({ seeds: '127.0.0.1:1' as never })).toThrow(/seeds/)
    expect(() => coalescent({ logger: { info () {} } as never })).toThrow(/logger/)
    expect(() => coalescent({ relayMessages: true } as never)).toThrow(/unknown option "relayMessages"/)
    const a = coalescent()
    expect(() => a.use({} as never)).toThrow(TypeError)
    expect(() => a.listen(70000)).toThrow(TypeError)
    expect(() => a.listen('80' as never)).toThrow(TypeError)
  })

  it('calls _plugin(app) at use() and _init(app, socket) per connection; a middleware that returns no stream is an error event', async () => {
    const b = app()
    const plugged: unknown[] = []
    const inits: CoalescentSocket[] = []
    const mw = Object.assign((socket: CoalescentSocket) => {
      const t = new PassThrough() as PassThrough & { _init?: (app: unknown, s: CoalescentSocket) => void }
      t._init = (appArg: unknown, s: CoalescentSocket) => { expect(appArg).toBe(b); inits.push(s) }
      expect(socket).toBeDefined()
      return t
    }, { _plugin: (appArg: unknown) => { plugged.push(appArg) } })
    b.use(mw)
    expect(plugged).toEqual([b])
    const seed = await listening(b)
    const a = app({ seeds: [seed] })
    await listening(a)
    await until('_init', () => inits.length === 1)
    expect(inits[0]!.address().address).toBe('127.0.0.1')
  })
})

describe('middleware', () => {
  it('smartrelay: on a triangle every app reads a chunk once; the relayed copies are counted as duplicates', async () => {
    const read = new Map<CoalescentApp, string[]>()
    const build = async (seeds: string[]): Promise<[CoalescentApp, string]> => {
      const x = app({ seeds })
      x.use(coalescent.smartrelay())
      read.set(x, [])
      x.on('data', (chunk: unknown) => { read.get(x)!.push(String(chunk)) })
      return [x, await listening(x)]
    }
    const [a, seedA] = await build([])
    const [b, seedB] = await build([seedA])
    const [c] = await build([seedA, seedB])
    await until('a triangle', () => a.connections().length === 2 && b.connections().length === 2 && c.connections().length === 2)
    a.write('x\n')
    const dups = (x: CoalescentApp): number => x.node!.metrics.get('drops.coalescent-smartrelay-duplicate')
    // four copies arrive at b and c (from a, and from each other's relay): two are firsts, two duplicates
    await until('both duplicates', () => dups(b) + dups(c) === 2)
    expect(read.get(b)).toEqual(['x\n'])
    expect(read.get(c)).toEqual(['x\n'])
    expect(read.get(a)).toEqual([])
  })

  it('courier: a line that is not a message is an error event (err, socket), not passed on', async () => {
    const b = app()
    b.use(coalescent.courier())
    const seed = await listening(b)
    const a = app({ seeds: [seed] })
    await listening(a)
    const errors: Array<[Error, CoalescentSocket | undefined]> = []
    b.on('error', (err: Error, socket?: CoalescentSocket) => { errors.push([err, socket]) })
    const messages: unknown[] = []
    b.on('data', (m: unknown) => { messages.push(m) })
    a.write('not json\n{"type":"ok","data":1}\n')
    await until('the message', () => messages.length === 1)
    expect(messages[0]).toEqual({ type: 'ok', data: 1, body: 1 })
    expect(errors).toHaveLength(1)
    expect(errors[0]![0].name).toBe('MalformedMessageError')
    expect(errors[0]![1]!.address().address).toBe('127.0.0.1')
  })
})

describe('the app', () => {
  it('logs through a logger with only info, warn and error', async () => {
    const lines: string[] = []
    const logger = { info: (m: string) => { lines.push(`info ${m}`) }, warn: (m: string) => { lines.push(`warn ${m}`) }, error: (m: string) => { lines.push(`error ${m}`) } }
    const b = app({ logger })
    const seed = await listening(b)
    const a = app({ seeds: [seed], logger })
    await listening(a)
    await until('a link', () => b.connections().length === 1)
    expect(lines).toContain('info node started')
  })

  it('retries a seed that is down, with backoff from about 1 s', async () => {
    const warnings: string[] = []
    const a = app({ seeds: ['127.0.0.1:1'], logger: { ...quiet, warn: (m: string) => { warnings.push(m) } } })
    await listening(a)
    await until('a retry', () => warnings.filter(w => w.includes('seed 127.0.0.1:1 unreachable')).length >= 2, 5000)
  })

  it('a write that never met a peer fails when the app closes (never a silent loss)', async () => {
    const a = coalescent({ logger: quiet })
    await listening(a)
    const errors: Error[] = []
    a.on('error', (err: Error) => { errors.push(err) })
    a.write('nobody hears this\n')
    await new Promise<void>((resolve) => { a.close(() => { resolve() }) })
    await until('the error', () => errors.length === 1)
    expect((errors[0] as Error & { code: string }).code).toBe('ERR_NOT_STARTED')
  })

  it('socket.end() closes the link: both sides see peerDisconnected', async () => {
    const b = app()
    const seed = await listening(b)
    const a = app({ seeds: [seed], minPeers: 0 })
    const gone = new Promise<CoalescentSocket>((resolve) => { b.once('peerDisconnected', resolve) })
    const linked = new Promise<CoalescentSocket>((resolve) => { a.once('peerConnected', resolve) })
    // b has the link once it checked a's last handshake message, a moment after a has it
    const linkedAtB = new Promise<CoalescentSocket>((resolve) => { b.once('peerConnected', resolve) })
    await listening(a)
    const socket = await linked
    await linkedAtB
    socket.end()
    expect((await gone).id).toBe(a.node!.id)
  })
})
