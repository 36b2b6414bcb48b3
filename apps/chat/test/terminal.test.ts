/**
 * The terminal chat (`node apps/chat/dist/terminal.js`, the built CLI) against an in-process
 * relay: two terminals and a plain node exchange lines; bad flags exit 2.
 */
import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createNode } from '@hearsay/core'
import type { HearsayNode, InboundMessage } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { startRelay } from '../../relay/src/relay.js'
import type { Relay } from '../../relay/src/relay.js'
import { CHAT_TYPE } from '../src/protocol.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const cli = path.join(root, 'apps', 'chat', 'dist', 'terminal.js')
const WAIT = 15_000

interface Terminal {
  child: ChildProcess
  lines: string[]
  /** Resolves with the first line (so far or later) that matches. */
  waitFor: (re: RegExp) => Promise<string>
  exited: Promise<number | null>
}

const children = new Set<ChildProcess>()
const nodes = new Set<HearsayNode>()
let relay: Relay | undefined

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npx', ['tsc', '-b', 'apps/chat'], { cwd: root, stdio: 'inherit' })
}, 180_000)

afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  children.clear()
  await Promise.all([...nodes].map(async n => { await n.stop() }))
  nodes.clear()
  await relay?.stop()
  relay = undefined
})

function terminal (args: string[]): Terminal {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARSAY_')))
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(child)
  const lines: string[] = []
  const waiters = new Set<{ re: RegExp, resolve: (l: string) => void }>()
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line)
    for (const w of waiters) if (w.re.test(line)) { waiters.delete(w); w.resolve(line) }
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<number | null>(resolve => child.once('close', resolve))
  const waitFor = async (re: RegExp): Promise<string> => {
    const seen = lines.find(l => re.test(l))
    if (seen !== undefined) return seen
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no line matching ${re} within ${WAIT} ms:\n${lines.join('\n')}\nstderr: ${stderr}`)) }, WAIT)
      waiters.add({ re, resolve: (l) => { clearTimeout(timer); resolve(l) } })
    })
  }
  return { child, lines, waitFor, exited }
}

describe('terminal chat', () => {
  it('two terminals and a node chat through the relay; end of input quits with 0', async () => {
    relay = await startRelay({ host: '127.0.0.1', port: 0, seeds: [], logLevel: 'warn', data: ':memory:' }, { write: () => {} })
    const ws = relay.node.addresses.find(a => a.startsWith('ws://'))!
    const alice = terminal(['--', '--seed', ws, '--nick', 'alice'])
    const bob = terminal(['--seed', ws, '--nick', 'bob'])
    await Promise.all([alice.waitFor(/^\* online/), bob.waitFor(/^\* online/)])
    const node = createNode({ transports: [webSockets()], seeds: [ws] })
    nodes.add(node)
    const heard = new Promise<InboundMessage>((resolve) => { node.route(CHAT_TYPE, resolve) })
    await node.start()
    await new Promise<void>(resolve => { if (node.peers().length > 0) resolve(); else node.once('online', () => { resolve() }) })
    // the relay must have the node in its overlay before a broadcast can reach it
    await expect.poll(() => relay!.node.overlay?.active.includes(node.id), { timeout: WAIT }).toBe(true)

    alice.child.stdin!.write('hello from alice\n')
    expect(await bob.waitFor(/hello from alice/)).toMatch(/^\[\d\d:\d\d\] <alice@[a-z2-7]{8}> hello from alice$/)
    const msg = await heard
    expect(msg.data).toMatchObject({ nick: 'alice', text: 'hello from alice' })

    node.broadcast(CHAT_TYPE, { nick: 'node', text: 'and from a node\x1b[2J', at: Date.now() })
    expect(await alice.waitFor(/and from a node/)).toMatch(/<node@[a-z2-7]{8}> and from a node \[2J$/)
    await bob.waitFor(/and from a node/)

    bob.child.stdin!.write('/peers\n')
    // the relay, and alice too once the two terminals have linked directly over WebRTC
    expect(await bob.waitFor(/^\* [12] peer\(s\): /)).toContain(ws)
    alice.child.stdin!.end()
    bob.child.stdin!.end()
    expect(await alice.exited).toBe(0)
    expect(await bob.exited).toBe(0)
  })

  it('exits 2 with the usage for a bad flag, 0 for --help', async () => {
    const bad = terminal(['--port', '1'])
    expect(await bad.exited).toBe(2)
    const help = terminal(['--help'])
    expect(await help.exited).toBe(0)
    expect(help.lines[0]).toMatch(/^Usage: pnpm chat --/)
  })
})
