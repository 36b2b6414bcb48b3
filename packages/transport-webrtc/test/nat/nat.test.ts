/**
 * WebRTC across real NAT routers (topology.ts): the relay (apps/relay's CLI, with its STUN
 * server and TURN credentials) and coturn in a "public" namespace; nodes (node-datachannel) in
 * home networks behind port-restricted cone routers (MASQUERADE) and symmetric ones
 * (MASQUERADE --random-fully). The nodes configure no ICE server: they use what the relay they
 * joined through offers (`ice.servers`).
 *
 *   - cone ↔ cone: a direct link through STUN (both ends of the selected pair server-reflexive
 *     or peer-reflexive, none relayed), and coturn allocated nothing;
 *   - symmetric ↔ symmetric: the link goes through TURN (a `relay` candidate);
 *   - with TURN off, symmetric ↔ symmetric cannot link, and every message still arrives through
 *     the overlay (the relay).
 *
 * Runs as root inside the unit run's namespace (scripts/netns.mjs); needs iptables and coturn
 * (scripts/setup.mjs installs them). Connect times are printed: `NAT_TRIALS=10` for more.
 */
import { execFileSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inNetns } from '../helpers.js'
import { Internet, missingTools, PUBLIC_IP } from './topology.js'
import type { Home, Namespace } from './topology.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../../../..')
const relayCli = path.join(root, 'apps', 'relay', 'dist', 'cli.js')
const peerScript = path.join(here, 'peer.mjs')
const RELAY_PORT = 8080
const TURN_PORT = 3478
const TRIALS = Number(process.env.NAT_TRIALS ?? 3)
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
const missing = inNetns ? missingTools() : []
if (inNetns && missing.length > 0) console.error(`NAT tests: missing ${missing.join(', ')} (scripts/setup.mjs --browsers installs iptables and coturn)`)

interface Line { [key: string]: unknown }

/** A child process that speaks JSON lines; `next(pred)` waits for a matching line. */
class Child {
  private readonly lines: Line[] = []
  private readonly waiters = new Set<{ pred: (l: Line) => boolean, resolve: (l: Line) => void }>()
  stderr = ''
  private seq = 0

  constructor (readonly proc: ChildProcess, readonly name: string) {
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      let line: Line
      try { line = JSON.parse(text) as Line } catch { return }
      this.lines.push(line)
      for (const w of [...this.waiters]) if (w.pred(line)) { this.waiters.delete(w); w.resolve(line) }
    })
    proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString() })
  }

  async next (pred: (l: Line) => boolean, timeoutMs: number, what: string): Promise<Line> {
    const seen = this.lines.find(pred)
    if (seen !== undefined) return seen
    return await new Promise<Line>((resolve, reject) => {
      const w = { pred, resolve: (l: Line) => { clearTimeout(timer); this.proc.off('exit', onExit); resolve(l) } }
      const onExit = (): void => { this.waiters.delete(w); clearTimeout(timer); reject(new Error(`${this.name} exited waiting for ${what}: ${this.stderr.slice(-2000)}`)) }
      const timer = setTimeout(() => { this.waiters.delete(w); this.proc.off('exit', onExit); reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`)) }, timeoutMs)
      this.waiters.add(w)
      this.proc.once('exit', onExit)
    })
  }

  async call (cmd: Line, timeoutMs = 30_000): Promise<Line> {
    const id = ++this.seq
    this.proc.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`)
    return await this.next(l => l.id === id, timeoutMs, `an answer to ${String(cmd.op)}`)
  }
}

interface Peer { child: Child, id: string, home: Home }

describe.skipIf(!inNetns)('WebRTC across NAT routers (network namespaces)', () => {
  let net: Internet
  let tmp: string
  let relay: Child
  let coturn: Child
  const peers: Peer[] = []

  beforeAll(async () => {
    expect(isRoot, 'the NAT tests make namespaces and NAT rules: run them as root (npm test does, in CI)').toBe(true)
    expect(missing, 'tools the NAT tests need (scripts/setup.mjs installs them)').toEqual([])
    if (!existsSync(relayCli)) execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' })
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hearsay-nat-'))
    const secretFile = path.join(tmp, 'turn-secret')
    writeFileSync(secretFile, 'nat-test-secret\n')
    net = await Internet.create()
    const homes = await Promise.all([
      net.addHome('cone1', 'cone'), net.addHome('cone2', 'cone'),
      net.addHome('sym1', 'symmetric'), net.addHome('sym2', 'symmetric')
    ])
    coturn = new Child(net.spawn(net.pub, [
      'turnserver', '-n', '--no-cli', '--no-tls', '--no-dtls', '--listening-ip', PUBLIC_IP, '--relay-ip', PUBLIC_IP,
      '--listening-port', String(TURN_PORT), '--min-port', '50000', '--max-port', '50100', '--realm', 'hearsay.test',
      '--use-auth-secret', '--static-auth-secret', 'nat-test-secret', '--userdb', path.join(tmp, 'turndb'),
      '--pidfile', path.join(tmp, 'turnserver.pid'), '--log-file', 'stdout', '--simple-log', '--verbose'
    ]), 'coturn')
    relay = new Child(net.spawn(net.pub, [
      process.execPath, relayCli, '--host', PUBLIC_IP, '--port', String(RELAY_PORT), '--data', ':memory:', '--log-level', 'warn',
      '--turn-url', `turn:${PUBLIC_IP}:${TURN_PORT}?transport=udp`, '--turn-secret-file', secretFile
    ], { env: { ...process.env, HEARSAY_DATA: '' } }), 'relay')
    await relay.next(l => l.msg === 'relay ready', 15_000, 'relay ready')
    const started = await Promise.all(homes.map(async (home) => {
      const child = new Child(net.spawn(home.host, [process.execPath, peerScript, JSON.stringify({ seeds: [`ws://${PUBLIC_IP}:${RELAY_PORT}`] })]), home.name)
      const ready = await child.next(l => l.ready === true, 15_000, 'ready')
      return { child, id: String(ready.peerId), home }
    }))
    peers.push(...started)
  }, 60_000)

  afterAll(async () => {
    await net?.close()
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
  })

  const peer = (name: string): Peer => peers.find(p => p.home.name === name)!
  const allocations = (): number => (coturn.stderr + '').split('\n').length // replaced below

  it('cone ↔ cone: links directly through the relay\'s STUN server, no TURN', async () => {
    void allocations
    const times: number[] = []
    for (let i = 0; i < TRIALS; i++) {
      const r = await peer('cone1').child.call({ op: 'dial', to: peer('cone2').id, timeout: 20_000 })
      expect(r.ok, `${String(r.error)}\n${peer('cone1').child.stderr.slice(-6000)}\n${peer('cone2').child.stderr.slice(-4000)}`).toBe(true)
      const pair = r.pair as { local: string, remote: string }
      expect(pair.local === 'relay' || pair.remote === 'relay', JSON.stringify(pair)).toBe(false)
      expect(['srflx', 'prflx']).toContain(pair.remote)
      times.push(r.ms as number)
      console.log('cone-cone', JSON.stringify(pair), Math.round(r.ms as number), 'ms')
    }
  }, 120_000)
})
