/**
 * Runs every example of docs/migration.md as a child process (`node examples/<name>.mjs`, on the
 * built dist/ as a user would) and checks its exit code and the lines it must print. `npm test`
 * builds first; a bare `vitest run` on a fresh checkout builds here.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const root = path.resolve(examples, '..')
const built = [
  'packages/core/dist/index.js',
  'packages/core/dist/node/index.js',
  'packages/transport-ws/dist/index.node.js',
  'packages/transport-tcp/dist/index.js',
  'packages/store-level/dist/index.js'
]

beforeAll(() => {
  if (built.some(f => !existsSync(path.join(root, f)))) execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' })
}, 180_000)

interface Run { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

async function runExample (name: string): Promise<Run> {
  const child = spawn(process.execPath, [`${name}.mjs`], { cwd: examples, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 60_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => { child.on('exit', (c, s) => { resolve([c, s]) }) })
  clearTimeout(timer)
  return { code, signal, stdout, stderr }
}

const expected: Record<string, string[]> = {
  coalescent: [
    'coalescent: a and c got hello from b (connection hook)',
    'coalescent: a pinged b and got its pong (courier + router)',
    'coalescent: c chat "hello, line" from a via relay, 2 hops',
    `coalescent: b '*' route got "mystery"; "spam" was dropped by a middleware`,
    `coalescent: b read "beep boop" from a's duplex stream`,
    'coalescent: events: a+b a-b',
    'coalescent: defaults: minPeers 3, maxPeers 12',
    'coalescent: overlay of 5: a broadcast reached 4 other nodes'
  ],
  peernet: [
    'peernet: defaults: peer exchange every 10000 ms (interval), purge every 60000 ms (purge), 3..12 connections (connections)',
    'peernet: fresh node bootstrapped from its database and reached the hub',
    'peernet: announce got 1 reply: [{"have":true,"by":"hub","fromHub":true}]',
    'peernet: stats of the hub address: connections ok 1, fail 0',
    'peernet: known() lists 1 address (the hub)',
    'peernet: after a restart: same id true, reconnected to the hub from the database',
    'peernet: after remove: known() lists 0 addresses',
    'peernet: an announcement id sent twice was delivered 1 time'
  ],
  smokesignal: [
    'smokesignal: defaults: minPeers 3 (minPeerNo), maxPeers 12 (maxPeerNo), ping timeout 3000 ms (pingTimeout)',
    'smokesignal: a: add inbound, online; peer b at ws://127.0.0.1:…',
    'smokesignal: b read from its peer stream: "a private word for b"',
    'smokesignal: after hangUp: remove, offline',
    'smokesignal: chat: bob read ["alice: hi all","carol: hello alice"]',
    'smokesignal: netsplit: node 3 went offline',
    'smokesignal: healed: node 3 is online again with overlay peers'
  ],
  telepathine: [
    'telepathine: a node with the wrong key: ERR_HANDSHAKE',
    `telepathine: b knows a's ["motd","status.mood","status.room"]; 'set:status.*' fired for ["status.mood=busy","status.room=kitchen"]`,
    `telepathine: c believes a: c.get('status.room') = kitchen`,
    `telepathine: expired on b: flash; b.getRemote(a, 'flash') = undefined`,
    'telepathine: b heard alice from a; c.hearOnce got room.join (alice)',
    'telepathine: a node that joined later still heard news.flash: breaking',
    'telepathine: c was declared down (peer:down)',
    'telepathine: c was heard from again after the network healed (peer:up)',
    'telepathine: every(20) ticked 3 times until cancelled, then after(20) fired'
  ],
  // docs/api.md, "Write your own service": an application service on the node's context
  presence: [
    'presence: every node sees the other two: 2, 2, 2',
    'presence: carol heard bob is away',
    'presence: alice lists: bob=away carol=here',
    'presence: built-in events listed: function; state not listed: ERR_UNSUPPORTED',
    'presence: bob stopped: alice lists carol'
  ]
}

describe('migration examples (examples/*.mjs) run and exit 0', () => {
  for (const [name, lines] of Object.entries(expected)) {
    it(`${name}.mjs`, async () => {
      const r = await runExample(name)
      const out = r.stdout.split('\n').filter(l => l.length > 0)
      expect(r.code, `exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`).toBe(0)
      for (const l of lines) expect(out).toContain(l)
      expect(out.at(-1)).toBe(`${name}: OK`)
    }, 90_000)
  }
})
