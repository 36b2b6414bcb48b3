/**
 * Runs the built CLI (`node apps/relay/dist/cli.js`) as a child process: ready line, real dials
 * over TCP and WebSocket from in-process nodes, graceful SIGTERM, exit codes.
 */
import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createNode } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { nextEvent } from '@hearsay/core/compliance'
import { tcp } from '@hearsay/transport-tcp'
import { webSockets } from '@hearsay/transport-ws'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const cli = path.join(root, 'apps', 'relay', 'dist', 'cli.js')
const READY_TIMEOUT = 15_000

interface ReadyLine { level: string, time: string, msg: 'relay ready', id: string, addresses: string[], http: string, data: string }

interface Running {
  child: ChildProcess
  /** Every stdout line so far (JSON log lines). */
  lines: string[]
  stderr: () => string
  ready: Promise<ReadyLine>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

const children = new Set<ChildProcess>()
const nodes = new Set<HearsayNode>()
let tmp: string

beforeAll(() => {
  // `npm test` builds first (pretest); a bare `vitest run` on a fresh checkout may not have
  if (!existsSync(cli)) execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' })
  tmp = mkdtempSync(path.join(os.tmpdir(), 'hearsay-relay-test-'))
}, 180_000)

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  children.clear()
  await Promise.all([...nodes].map(async n => { await n.stop() }))
  nodes.clear()
})

afterAll(() => { rmSync(tmp, { recursive: true, force: true }) })

/**
 * The environment without HEARSAY_* variables, so the caller's shell cannot change the test, and
 * with an in-memory store unless the test names one (the default ./data would be shared).
 */
function cleanEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARSAY_')))
  return { ...env, HEARSAY_DATA: ':memory:', ...extra }
}

function startCli (args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const lines: string[] = []
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => { resolve({ code, signal }) })
  })
  const ready = new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ready line within ${READY_TIMEOUT} ms; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`)) }, READY_TIMEOUT)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line)
      let parsed: unknown
      try { parsed = JSON.parse(line) } catch { return }
      if ((parsed as { msg?: unknown }).msg === 'relay ready') { clearTimeout(timer); resolve(parsed as ReadyLine) }
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`relay exited (${code ?? signal}) before it was ready; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`))
    })
  })
  ready.catch(() => {}) // observed by the tests that need it
  return { child, lines, stderr: () => stderr, ready, exited }
}


async function dialler (kind: 'tcp' | 'ws', networkKey?: string): Promise<HearsayNode> {
  const node = createNode({ transports: [kind === 'tcp' ? tcp() : webSockets()], overlay: false, networkKey })
  nodes.add(node)
  await node.start()
  return node
}

function addressOf (ready: ReadyLine, scheme: 'tcp' | 'ws'): string {
  const a = ready.addresses.find(x => x.startsWith(`${scheme}://`))
  if (a === undefined) throw new Error(`no ${scheme} address in ${JSON.stringify(ready.addresses)}`)
  return a
}

describe('hearsay-relay CLI', () => {
  it('starts on port 0, accepts TCP and WebSocket peers, and stops cleanly on SIGTERM', async () => {
    const relay = startCli(['--port', '0'])
    const ready = await relay.ready
    expect(ready).toMatchObject({ level: 'info', msg: 'relay ready' })
    expect(ready.id).toMatch(/^[a-z2-7]{52}$/)
    expect(ready.addresses).toHaveLength(2)
    const wsAddr = addressOf(ready, 'ws')
    const tcpAddr = addressOf(ready, 'tcp')
    expect(wsAddr).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    expect(tcpAddr).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    // every stdout line is a JSON log line
    for (const line of relay.lines) expect(() => JSON.parse(line), line).not.toThrow()

    const overTcp = await dialler('tcp')
    const overWs = await dialler('ws')
    const [tcpPeer, wsPeer] = await Promise.all([overTcp.dial(tcpAddr), overWs.dial(wsAddr)])
    expect(tcpPeer.id).toBe(ready.id)
    expect(wsPeer.id).toBe(ready.id)
    // the links carry traffic both ways
    expect(await overTcp.ping(tcpPeer)).toBeGreaterThanOrEqual(0)
    expect(await overWs.ping(wsPeer)).toBeGreaterThanOrEqual(0)

    const disconnects = Promise.all([nextEvent(overTcp, 'peer:disconnect'), nextEvent(overWs, 'peer:disconnect')])
    relay.child.kill('SIGTERM')
    expect(await relay.exited).toEqual({ code: 0, signal: null })
    const [fromTcp, fromWs] = await disconnects
    expect(fromTcp.peer.id).toBe(ready.id)
    expect(fromWs.peer.id).toBe(ready.id)
    expect(relay.lines.some(l => l.includes('"relay stopping"') && l.includes('"SIGTERM"'))).toBe(true)
    expect(relay.stderr()).toBe('')
  })

  it('serves HTTP on the ws port, keeps its identity in --data, and releases the store on SIGTERM', async () => {
    const data = path.join(tmp, 'data')
    const first = startCli(['--port', '0', '--data', data])
    const ready = await first.ready
    expect(ready.data).toBe(data)
    expect(ready.http).toBe(addressOf(ready, 'ws').replace(/^ws:/, 'http:'))
    const health = await fetch(`${ready.http}/healthz`)
    expect(await health.json()).toMatchObject({ status: 'ok', id: ready.id })
    expect(await (await fetch(`${ready.http}/metrics`)).text()).toContain('hearsay_handshake_failures_total 0')
    first.child.kill('SIGTERM')
    expect(await first.exited).toEqual({ code: 0, signal: null })
    // the same directory again: the store was closed (its lock released) and holds the identity
    const second = startCli(['--port', '0'], { HEARSAY_DATA: data })
    expect((await second.ready).id).toBe(ready.id)
    second.child.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  })

  it('SIGINT stops it with exit code 0 too', async () => {
    const relay = startCli(['--port', '0', '--log-level', 'warn'])
    const ready = await relay.ready
    // the ready line is printed whatever the log level
    expect(ready.msg).toBe('relay ready')
    relay.child.kill('SIGINT')
    expect(await relay.exited).toEqual({ code: 0, signal: null })
    expect(relay.lines).toHaveLength(1)
  })

  it('uses the trimmed contents of --network-key-file as the network key', async () => {
    const keyFile = path.join(tmp, 'network-key')
    writeFileSync(keyFile, '  correct horse battery staple\n\n')
    const relay = startCli(['--network-key-file', keyFile], { HEARSAY_PORT: '0' })
    const ready = await relay.ready
    const member = await dialler('tcp', 'correct horse battery staple')
    expect((await member.dial(addressOf(ready, 'tcp'))).id).toBe(ready.id)
    const stranger = await dialler('tcp')
    await expect(stranger.dial(addressOf(ready, 'tcp'), { timeout: 5_000 })).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_(HANDSHAKE|CONNECTION_CLOSED)$/)
    })
    relay.child.kill('SIGTERM')
    expect((await relay.exited).code).toBe(0)
  })

  it('exits 2 with the usage on stderr for a bad flag or variable', async () => {
    for (const [args, env] of [[['--bogus'], {}], [['--port', 'x'], {}], [[], { HEARSAY_LOG_LEVEL: 'loud' }]] as const) {
      const relay = startCli([...args], env)
      expect(await relay.exited, JSON.stringify(args)).toEqual({ code: 2, signal: null })
      expect(relay.stderr()).toMatch(/^hearsay-relay: .+\n\nUsage: hearsay-relay/)
      expect(relay.lines).toEqual([])
    }
  })

  it('--help prints the usage on stdout and exits 0', async () => {
    const relay = startCli(['--help'])
    expect(await relay.exited).toEqual({ code: 0, signal: null })
    expect(relay.lines[0]).toBe('Usage: hearsay-relay [options]')
  })

  it('exits 1 with an error log line when it cannot start', async () => {
    const relay = startCli(['--port', '0', '--network-key-file', path.join(tmp, 'missing')])
    expect(await relay.exited).toEqual({ code: 1, signal: null })
    const last = JSON.parse(relay.lines.at(-1) ?? '{}') as { level?: string, msg?: string, err?: { message?: string } }
    expect(last).toMatchObject({ level: 'error', msg: 'relay failed to start' })
    expect(last.err?.message).toContain('network key file')
  })
})
