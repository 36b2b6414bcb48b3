/**
 * coalescent's README programs (examples/seeds/coalescent-*.mjs, changed only in their import
 * lines and marked test glue) run as child processes on @hearsay/compat/coalescent's dist/, with
 * apps of this process as their peers. Each test checks what the README promises.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import coalescent from '@hearsay/compat/coalescent'
import type { CoalescentApp, CoalescentSocket, CourierMessage } from '@hearsay/compat/coalescent'
import { SeedProgram, seedsDir } from './seed-program.js'

const root = path.resolve(seedsDir, '..', '..')
const quiet = { info () {}, warn () {}, error (...args: unknown[]) { console.error(...args) } }
const cleanup: Array<() => unknown> = []

beforeAll(() => {
  if (!existsSync(path.join(root, 'packages/compat/dist/coalescent/index.js'))) execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' })
}, 180_000)

afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f() })

function program (file: string, args: string[]): SeedProgram {
  const p = new SeedProgram(file, args)
  cleanup.push(() => { p.kill() })
  return p
}

function app (seeds: string[], middleware: boolean): CoalescentApp {
  const a = coalescent({ seeds, logger: quiet })
  if (middleware) a.use(coalescent.courier()).use(coalescent.router())
  cleanup.push(async () => { await new Promise<void>((resolve) => { a.close(() => { resolve() }) }) })
  return a
}

/** Resolves with the first value `register` hands to its callback, or rejects after `ms`. */
async function first<T> (what: string, register: (done: (value: T) => void) => void, ms = 15_000): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`timed out waiting for ${what}`)) }, ms)
    register((value) => { clearTimeout(timer); resolve(value) })
  })
}

describe('coalescent README programs on @hearsay/compat/coalescent', () => {
  it('coalescent-stream.mjs: the app is a duplex stream, a through() middleware turns beep into boop, a write reaches the peer that connects', async () => {
    const child = program('coalescent-stream.mjs', ['--port', '0'])
    const [, port] = await child.line(/^node accepting connections on port (\d+)$/)
    const peer = app([`127.0.0.1:${port!}`], false)
    const read: string[] = []
    peer.on('data', (chunk: unknown) => { read.push(String(chunk)) })
    peer.write('beep beep\n')
    peer.listen(0, '127.0.0.1')

    // "Input your app receives will get piped through the middleware stack before becoming your application output"
    await child.line(/^boop boop$/)
    await child.line(/^Received message from \{ address: '127\.0\.0\.1', port: \d+, family: 'IPv4' \}$/)
    // "Connected peers get whatever you write to it": the program wrote before any peer was there
    await first('the program\'s write', (done) => { if (read.join('').includes('beep boop\n')) done(true); else peer.on('data', () => { if (read.join('').includes('beep boop\n')) done(true) }) })
    expect(read.join('')).toBe('beep boop\n')

    const exit = await child.stop()
    expect(exit, child.output).toEqual({ code: 0, signal: null })
    expect(child.lines).toContain('closed')
  }, 60_000)

  it('coalescent-app.mjs: tattletale relays to other peers, courier broadcast, router ping → pong, peer events', async () => {
    const child = program('coalescent-app.mjs', ['--port', '0'])
    const [, port] = await child.line(/^node accepting connections on port (\d+)$/)
    const seed = `127.0.0.1:${port!}`
    const a = app([seed], true)
    const c = app([seed], true)
    const beeps: unknown[] = []
    const news: CourierMessage[] = []
    a.route!('beep', (_s, m) => { beeps.push(m.data) })
    c.route!('beep', () => {})
    c.route!('news', (_s, m) => { news.push(m) })
    const pong = first<{ socket: CoalescentSocket, message: CourierMessage }>('pong', (done) => { a.route!('pong', (socket, message) => { done({ socket, message }) }) })
    const aLinked = first<CoalescentSocket>('a peerConnected', (done) => { a.once('peerConnected', done) })
    const cLinked = first<CoalescentSocket>('c peerConnected', (done) => { c.once('peerConnected', done) })
    a.listen(0, '127.0.0.1')
    c.listen(0, '127.0.0.1')
    const toB = await aLinked
    await cLinked
    // the program has both links once it checked their last handshake messages, a moment after a and c
    await child.linesMatching(/^peerConnected 127\.0\.0\.1$/, 2)

    // router: "when we get a `ping` message, send 'pong'"
    toB.send!('ping', { time: Date.now() })
    const { socket, message } = await pong
    expect(socket).toBe(toB)
    expect(message.type).toBe('pong')
    expect(typeof (message.data as { time: unknown }).time).toBe('number')

    // courier: the program greets every new peer with app.broadcast('beep', { sound: 'boop' })
    await first('beep', (done) => { if (beeps.length > 0) done(true); else a.route!('beep', (_s, m) => { beeps.push(m.data); done(true) }) })
    expect(beeps[0]).toEqual({ sound: 'boop' })

    // tattletale: a and c are linked to the program only; what a sends reaches c through it
    expect(a.connections()).toHaveLength(1)
    expect(c.connections()).toHaveLength(1)
    a.broadcast!('news', { text: 'relayed by the tattletale' })
    await first('news at c', (done) => { if (news.length > 0) done(true); else c.route!('news', (_s, m) => { news.push(m); done(true) }) })
    expect(news[0]!.data).toEqual({ text: 'relayed by the tattletale' })
    expect(news[0]!.type).toBe('news')

    // peerDisconnected on the program's side when a leaves
    await new Promise<void>((resolve) => { a.close(() => { resolve() }) })
    await child.line(/^peerDisconnected 127\.0\.0\.1$/)

    const exit = await child.stop()
    expect(exit, child.output).toEqual({ code: 0, signal: null })
    expect(child.lines.filter(l => l === 'peerConnected 127.0.0.1')).toHaveLength(2)
  }, 60_000)
})
