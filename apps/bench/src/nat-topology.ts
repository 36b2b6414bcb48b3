/**
 * A small internet in network namespaces, for the NAT tests
 * (packages/transport-webrtc/test/nat/nat.test.ts) and the mixed-NAT mesh bench (nat-mesh.ts): a "public" namespace (the relay and
 * coturn on 198.51.100.1, routing between the home routers), and home networks, each a router
 * namespace (its WAN on a /30 to the public namespace, iptables MASQUERADE towards it) and a host
 * namespace behind it (192.168.N.2, default route through the router). A `cone` router does plain
 * MASQUERADE (Linux conntrack: endpoint-independent mapping, address-and-port-dependent filtering,
 * a port-restricted cone); a `symmetric` one MASQUERADE --random-fully (a new random port per
 * destination). A `public` host has no router: its namespace sits on the public side with its own
 * address (a server, a peer with a public IP). Each namespace is held by a `sleep` process made with `unshare -n`; commands run
 * in it with `nsenter`. Everything is made inside the namespace the test itself runs in (the
 * unit run's, scripts/netns.mjs), so no packet leaves it; `close()` kills every process, and the
 * namespaces vanish with them.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess, SpawnOptions } from 'node:child_process'
import { createInterface } from 'node:readline'

export const PUBLIC_IP = '198.51.100.1'
/** coturn's port on PUBLIC_IP (`coturnArgv`). */
export const TURN_PORT = 3478

/**
 * coturn (`turnserver`) on PUBLIC_IP:TURN_PORT, UDP only, relaying from PUBLIC_IP, with the
 * shared-secret REST scheme the relay's `--turn-secret-file` issues credentials for; logs to
 * stdout (`Child.text`); its files in `dir`.
 */
export function coturnArgv (dir: string, secret: string): string[] {
  return [
    'turnserver', '-n', '--no-cli', '--no-tls', '--no-dtls', '--listening-ip', PUBLIC_IP, '--relay-ip', PUBLIC_IP,
    '--listening-port', String(TURN_PORT), '--min-port', '50000', '--max-port', '59999', '--realm', 'hearsay.test', '-m', '1',
    '--use-auth-secret', '--static-auth-secret', secret, '--userdb', `${dir}/turndb`,
    '--pidfile', `${dir}/turnserver.pid`, '--log-file', 'stdout', '--simple-log', '--verbose'
  ]
}

export type NatKind = 'cone' | 'symmetric' | 'public'

export interface Home { name: string, kind: NatKind, router: Namespace, host: Namespace, lanIp: string, wanIp: string }

export class Namespace {
  constructor (readonly name: string, readonly holder: ChildProcess) {}
  get pid (): number { return this.holder.pid! }
  /** Runs a command in this namespace and waits; throws with its stderr on a non-zero exit. */
  run (argv: string[]): string {
    const r = spawnSync('nsenter', ['-t', String(this.pid), '-n', '--', ...argv], { encoding: 'utf8', timeout: 10_000 })
    if (r.status !== 0) throw new Error(`${this.name}: ${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr ?? r.error?.message}`)
    return r.stdout
  }

  /** Starts a long-running command in this namespace. */
  spawn (argv: string[], options: SpawnOptions = {}): ChildProcess {
    return spawn('nsenter', ['-t', String(this.pid), '-n', '--', ...argv], { stdio: ['pipe', 'pipe', 'pipe'], ...options })
  }
}

/** What the NAT tests need on the machine: root (or a user namespace), `ip`, `iptables`, `nsenter`, `turnserver`, `conntrack`. */
export function missingTools (): string[] {
  const missing = ['ip', 'iptables', 'nsenter', 'unshare', 'turnserver', 'conntrack'].filter(cmd => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0)
  return missing
}

export class Internet {
  readonly pub: Namespace
  readonly homes: Home[] = []
  private readonly processes = new Set<ChildProcess>()
  private count = 0

  private constructor (pub: Namespace) {
    this.pub = pub
    this.pub.run(['ip', 'link', 'set', 'lo', 'up'])
    this.pub.run(['ip', 'addr', 'add', `${PUBLIC_IP}/32`, 'dev', 'lo'])
    this.pub.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    // the rest of the internet: a default route into a dummy device, where packets to anywhere
    // else vanish without an error (coturn sending to a peer's private host candidate must not
    // get ENETUNREACH or EINVAL, a blackhole's: it drops the whole allocation on it)
    this.pub.run(['sh', '-c', 'ip link add void type dummy 2>/dev/null || ip link add void type veth peer name void1 && ip link set void1 up; ip link set void up && ip route add default dev void'])
  }

  static async create (): Promise<Internet> {
    const processes = new Set<ChildProcess>()
    const internet = new Internet(await namespace('public', processes))
    for (const p of processes) internet.track(p)
    return internet
  }

  /** A home network behind a router of `kind` (a public host: `addPublicHost`); its host is the namespace nodes run in. */
  async addHome (name: string, kind: NatKind): Promise<Home> {
    if (kind === 'public') return await this.addPublicHost(name)
    const n = ++this.count
    const router = await namespace(`${name}-router`, this.processes)
    const host = await namespace(`${name}-host`, this.processes)
    const lanIp = `192.168.${n}.2`
    const wanIp = this.#uplink(n, router, 'wan')
    // LAN: a veth between the router and the host
    router.run(['ip', 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(host.pid)])
    router.run(['ip', 'addr', 'add', `192.168.${n}.1/24`, 'dev', 'lan'])
    router.run(['ip', 'link', 'set', 'lan', 'up'])
    host.run(['ip', 'link', 'set', 'lo', 'up'])
    host.run(['ip', 'addr', 'add', `${lanIp}/24`, 'dev', 'eth0'])
    host.run(['ip', 'link', 'set', 'eth0', 'up'])
    host.run(['ip', 'route', 'add', 'default', 'via', `192.168.${n}.1`])
    router.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    router.run(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE', ...(kind === 'symmetric' ? ['--random-fully'] : [])])
    // a router forwards what its hosts send and the replies conntrack expects, nothing unsolicited
    router.run(['iptables', '-A', 'FORWARD', '-i', 'lan', '-o', 'wan', '-j', 'ACCEPT'])
    router.run(['iptables', '-A', 'FORWARD', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'])
    router.run(['iptables', '-P', 'FORWARD', 'DROP'])
    // and answers nothing on its WAN side itself: a check that reaches the router before its
    // host's own packet went out would otherwise be tracked as a flow to the router, and the
    // host's mapping would get another port (a cone NAT acting symmetric)
    router.run(['iptables', '-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'])
    router.run(['iptables', '-A', 'INPUT', '-i', 'wan', '-j', 'DROP'])
    const home: Home = { name, kind, router, host, lanIp, wanIp }
    this.homes.push(home)
    return home
  }

  /**
   * A host with a public address and no NAT (its `router` is the host itself: there is no
   * conntrack to flush): a veth from the public namespace, the host on 203.0.113.(4N+2)/30.
   */
  async addPublicHost (name: string): Promise<Home> {
    const n = ++this.count
    const host = await namespace(`${name}-host`, this.processes)
    const wanIp = this.#uplink(n, host, 'eth0')
    const home: Home = { name, kind: 'public', router: host, host, lanIp: wanIp, wanIp }
    this.homes.push(home)
    return home
  }

  /**
   * Network N's WAN: a veth between the public namespace (`wan<N>`, 203.0.113.(4N+1)/30) and
   * `ns` (`dev`, 203.0.113.(4N+2)/30, the default route through the public side); `ns`'s
   * loopback up. Returns `ns`'s public address.
   */
  #uplink (n: number, ns: Namespace, dev: string): string {
    const pubSide = `203.0.113.${4 * n + 1}`
    const wanIp = `203.0.113.${4 * n + 2}`
    this.pub.run(['ip', 'link', 'add', `wan${n}`, 'type', 'veth', 'peer', 'name', dev, 'netns', String(ns.pid)])
    this.pub.run(['ip', 'addr', 'add', `${pubSide}/30`, 'dev', `wan${n}`])
    this.pub.run(['ip', 'link', 'set', `wan${n}`, 'up'])
    ns.run(['ip', 'link', 'set', 'lo', 'up'])
    ns.run(['ip', 'addr', 'add', `${wanIp}/30`, 'dev', dev])
    ns.run(['ip', 'link', 'set', dev, 'up'])
    ns.run(['ip', 'route', 'add', 'default', 'via', pubSide])
    return wanIp
  }

  /** Starts a process in `ns` that `close()` kills. */
  spawn (ns: Namespace, argv: string[], options: SpawnOptions = {}): ChildProcess {
    const child = ns.spawn(argv, options)
    this.processes.add(child)
    child.once('exit', () => { this.processes.delete(child) })
    return child
  }

  /** Kills every process (nodes, relay, coturn, then the namespace holders): the namespaces go with them. */
  async close (): Promise<void> {
    const all = [...this.processes]
    await Promise.all(all.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
      child.kill('SIGKILL')
      await exited
    }))
  }

  private track (child: ChildProcess): void {
    this.processes.add(child)
    child.once('exit', () => { this.processes.delete(child) })
  }
}

/**
 * A new network namespace, held by a `sleep` made with `unshare -n` (which needs CAP_SYS_ADMIN:
 * the tests run as root in scripts/netns.mjs's namespace); resolves once the holder runs in it.
 */
async function namespace (name: string, processes: Set<ChildProcess>): Promise<Namespace> {
  const holder = spawn('unshare', ['-n', '--', 'sh', '-c', 'echo ready; exec sleep 600'], { stdio: ['ignore', 'pipe', 'pipe'] })
  processes.add(holder)
  holder.once('exit', () => { processes.delete(holder) })
  let stderr = ''
  holder.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`namespace ${name} was not made within 5 s`)) }, 5_000)
    holder.stdout!.once('data', () => { clearTimeout(timer); resolve() })
    holder.once('exit', (code) => { clearTimeout(timer); reject(new Error(`unshare -n for ${name} exited with ${code}: ${stderr}`)) })
  })
  return new Namespace(name, holder)
}

export interface Line { [key: string]: unknown }

/** A child process that speaks JSON lines (a node of the NAT tests, the relay); `next(pred)` waits for a matching line. */
export class Child {
  /** Every JSON line so far. */
  readonly lines: Line[] = []
  private readonly waiters = new Set<{ pred: (l: Line) => boolean, resolve: (l: Line) => void }>()
  stderr = ''
  /** Lines that are not JSON (coturn's log). */
  readonly text: string[] = []
  private seq = 0

  constructor (readonly proc: ChildProcess, readonly name: string) {
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      let line: Line
      try { line = JSON.parse(text) as Line } catch { this.text.push(text); return }
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
