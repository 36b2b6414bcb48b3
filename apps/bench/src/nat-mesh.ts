/**
 * The mixed-NAT mesh (issue 16): `--peers` hearsay nodes (nat-mesh-peer.ts, node-datachannel),
 * each on its own network of nat-topology.ts, spread round-robin over port-restricted cone NATs
 * (MASQUERADE), symmetric NATs (MASQUERADE --random-fully) and public addresses, joining the
 * overlay through one relay (apps/relay's CLI: its STUN server, and with `turn` coturn and the
 * relay's TURN credentials). The nodes configure no ICE server: they use what the relay offers.
 *
 * Per run and TURN setting it measures
 *   - the overlay's own links after `--settle` ms: every pair of neighbours (the active views,
 *     the relay left out) by its selected candidate pair — direct (host, srflx/prflx), TURN
 *     (`relay`) — and the peers with no WebRTC neighbour at all (the overlay through the relay is
 *     all they have);
 *   - every pair of peers dialled once (a round-robin schedule, each peer in one dial at a time):
 *     the share that links directly, through TURN, or not at all (overlay only);
 *   - time from `start()` to each peer's first WebRTC link and first direct one.
 *
 *     node scripts/netns.mjs node apps/bench/dist/nat-mesh.js --peers 20 --runs 3
 *
 * (as root: namespaces, iptables, coturn and conntrack, as the NAT tests). Writes
 * results/nat-mesh.json (every run) and results/nat-mesh.md (median [min–max] over the runs).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { Child, coturnArgv, Internet, missingTools, PUBLIC_IP, TURN_PORT } from './nat-topology.js'
import type { Home, NatKind } from './nat-topology.js'
import { RELAY_CLI } from './procs.js'

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    turn: { type: 'string', default: 'both' },
    settle: { type: 'string', default: '20000' },
    'dial-timeout': { type: 'string', default: '10000' },
    'no-write': { type: 'boolean', default: false }
  }
})

const PEERS = Number(values.peers)
const RUNS = Number(values.runs)
const SETTLE_MS = Number(values.settle)
const DIAL_MS = Number(values['dial-timeout'])
const MODES = values.turn === 'both' ? [true, false] : [values.turn === 'on']
const KINDS: NatKind[] = ['cone', 'symmetric', 'public']
const RELAY_PORT = 8080
const PEER_SCRIPT = fileURLToPath(new URL('nat-mesh-peer.js', import.meta.url))

type PathKind = 'host' | 'srflx' | 'turn' | 'none'
interface Pair { local: string, remote: string }
interface PeerInfo { name: string, kind: NatKind, id: string, child: Child }
export interface MeshRun {
  turn: boolean
  run: number
  at: string
  load: number[]
  peers: Record<NatKind, number>
  /** The overlay's neighbour links after the settle time, by path. */
  neighbours: Record<PathKind, number>
  /** Peers whose active view holds no WebRTC neighbour. */
  overlayOnlyPeers: number
  /** Every pair dialled once, by path ('none': the dial failed). */
  pairs: Record<PathKind, number>
  /** The same, per pair of NAT kinds ('cone-symmetric': 'srflx 3, turn 1, none 2'). */
  pairsByKinds: Record<string, Record<PathKind, number>>
  /** ms from start() to the first WebRTC link / first direct one, median and max over the peers (null: never). */
  firstWebrtcMs: { median: number | null, max: number | null, never: number }
  firstDirectMs: { median: number | null, max: number | null, never: number }
  /** Connect time of the dials that succeeded, by path: median ms. */
  dialMs: Partial<Record<PathKind, number>>
}

function classify (pair: Pair | null | undefined): PathKind {
  if (pair === null || pair === undefined) return 'none'
  if (pair.local === 'relay' || pair.remote === 'relay') return 'turn'
  if (pair.local === 'host' && pair.remote === 'host') return 'host'
  return 'srflx'
}

function median (xs: number[]): number | null {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return null
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const zero = (): Record<PathKind, number> => ({ host: 0, srflx: 0, turn: 0, none: 0 })

/** A round-robin schedule (circle method): rounds of disjoint pairs covering every pair once. */
function rounds (n: number): Array<Array<[number, number]>> {
  const ids = Array.from({ length: n % 2 === 0 ? n : n + 1 }, (_, i) => i)
  const out: Array<Array<[number, number]>> = []
  for (let r = 0; r < ids.length - 1; r++) {
    const round: Array<[number, number]> = []
    for (let i = 0; i < ids.length / 2; i++) {
      const a = ids[i]!
      const b = ids[ids.length - 1 - i]!
      if (a < n && b < n) round.push(r % 2 === 0 ? [a, b] : [b, a])
    }
    out.push(round)
    ids.splice(1, 0, ids.pop()!)
  }
  return out
}

async function runOnce (turn: boolean, run: number): Promise<MeshRun> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'hearsay-nat-mesh-'))
  const net = await Internet.create()
  try {
    const secret = 'nat-mesh-secret'
    const secretFile = path.join(tmp, 'turn-secret')
    writeFileSync(secretFile, `${secret}\n`)
    // (its log is read, as every child's: a pipe nobody reads stalls coturn once it is full)
    const coturn = turn ? new Child(net.spawn(net.pub, coturnArgv(tmp, secret)), 'coturn') : undefined
    void coturn
    const relay = new Child(net.spawn(net.pub, [
      process.execPath, RELAY_CLI, '--host', PUBLIC_IP, '--port', String(RELAY_PORT), '--data', ':memory:', '--log-level', 'warn',
      ...(turn ? ['--turn-url', `turn:${PUBLIC_IP}:${TURN_PORT}?transport=udp`, '--turn-secret-file', secretFile] : [])
    ], { env: { ...process.env, HEARSAY_DATA: '' } }), 'relay')
    await relay.next(l => l.msg === 'relay ready', 30_000, 'relay ready')
    const homes: Home[] = []
    for (let i = 0; i < PEERS; i++) homes.push(await net.addHome(`p${i}`, KINDS[i % KINDS.length]!))
    const options = JSON.stringify({ seeds: [`ws://${PUBLIC_IP}:${RELAY_PORT}`], connectTimeout: DIAL_MS })
    const peers: PeerInfo[] = await Promise.all(homes.map(async (home) => {
      const child = new Child(net.spawn(home.host, [process.execPath, PEER_SCRIPT, options]), home.name)
      const ready = await child.next(l => l.ready === true, 90_000, 'ready')
      return { name: home.name, kind: home.kind, id: String(ready.peerId), child }
    }))
    // the overlay runs on its own for the settle time (the scenario's length, not a wait for an outcome)
    await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
    const states = await Promise.all(peers.map(async p => await p.child.call({ op: 'state' }, 30_000)))
    const byId = new Map(peers.map(p => [p.id, p]))
    const neighbours = zero()
    const seen = new Set<string>()
    let overlayOnlyPeers = 0
    states.forEach((s, i) => {
      const ns = (s.neighbours as Array<{ peer: string, pair: Pair | null }>).filter(n => byId.has(n.peer))
      if (!ns.some(n => n.pair !== null)) overlayOnlyPeers++
      for (const n of ns) {
        const key = [peers[i]!.id, n.peer].sort().join(' ')
        if (seen.has(key)) continue
        seen.add(key)
        neighbours[classify(n.pair)]++
      }
    })
    const firsts = (k: 'firstWebrtcMs' | 'firstDirectMs'): MeshRun['firstWebrtcMs'] => {
      const xs = states.map(s => s[k] as number | null)
      const ok = xs.filter((x): x is number => x !== null)
      return { median: median(ok), max: ok.length > 0 ? Math.max(...ok) : null, never: xs.length - ok.length }
    }
    const pairs = zero()
    const pairsByKinds: Record<string, Record<PathKind, number>> = {}
    const dialTimes: Record<PathKind, number[]> = { host: [], srflx: [], turn: [], none: [] }
    for (const round of rounds(peers.length)) {
      await Promise.all(round.map(async ([a, b]) => {
        const from = peers[a]!
        const to = peers[b]!
        const r = await from.child.call({ op: 'dial', to: to.id, timeout: DIAL_MS + 5_000 }, DIAL_MS + 30_000)
        const kind = r.ok === true ? classify(r.pair as Pair | null) : 'none'
        pairs[kind]++
        const kinds = [from.kind, to.kind].sort().join('-')
        pairsByKinds[kinds] ??= zero()
        pairsByKinds[kinds][kind]++
        if (r.ok === true && typeof r.ms === 'number') dialTimes[kind].push(r.ms)
      }))
    }
    return {
      turn,
      run,
      at: new Date().toISOString(),
      load: loadavg(),
      peers: { cone: peers.filter(p => p.kind === 'cone').length, symmetric: peers.filter(p => p.kind === 'symmetric').length, public: peers.filter(p => p.kind === 'public').length },
      neighbours,
      overlayOnlyPeers,
      pairs,
      pairsByKinds,
      firstWebrtcMs: firsts('firstWebrtcMs'),
      firstDirectMs: firsts('firstDirectMs'),
      dialMs: Object.fromEntries(Object.entries(dialTimes).filter(([, xs]) => xs.length > 0).map(([k, xs]) => [k, Math.round(median(xs)!)]))
    }
  } finally {
    await net.close()
    rmSync(tmp, { recursive: true, force: true })
  }
}

const pct = (n: number, of: number): number => of === 0 ? 0 : 100 * n / of
const fmt = (xs: Array<number | null>, unit = '', digits = 0): string => {
  const ok = xs.filter((x): x is number => x !== null && Number.isFinite(x))
  if (ok.length === 0) return 'never'
  const f = (x: number): string => `${x.toFixed(digits)}${unit}`
  return `${f(median(ok)!)} [${f(Math.min(...ok))}–${f(Math.max(...ok))}]`
}

function markdown (rows: MeshRun[], command: string): string {
  const lines = [
    '# Mixed-NAT mesh: how peers link (issue 16)',
    '',
    `Generated by \`${command}\` (apps/bench/src/nat-mesh.ts, nat-mesh-peer.ts, nat-topology.ts).`,
    `${rows[0]?.peers.cone ?? 0} peers behind port-restricted cone NATs (MASQUERADE), ${rows[0]?.peers.symmetric ?? 0} behind symmetric NATs (MASQUERADE --random-fully) and`,
    `${rows[0]?.peers.public ?? 0} on public addresses, each on its own network, all joining through one relay (its STUN server; "TURN on": coturn and the`,
    `relay's TURN credentials). Nodes: \`@hearsay/core\` createNode, ws + WebRTC (node-datachannel), listen \`webrtc:*\` only, no ICE server of their own.`,
    `Settle time ${SETTLE_MS / 1000} s after the last peer joined; dial timeout ${DIAL_MS / 1000} s. Cells: median [min–max] over the runs.`,
    '',
    '| TURN | runs | neighbour links: direct host / srflx | TURN | peers with no WebRTC neighbour | all pairs: direct | TURN | overlay only | first WebRTC link, s (median / slowest peer) | first direct link, s (median / slowest peer) |',
    '|---|---|---|---|---|---|---|---|---|---|'
  ]
  for (const turn of [true, false]) {
    const rs = rows.filter(r => r.turn === turn)
    if (rs.length === 0) continue
    const nTot = (r: MeshRun): number => r.neighbours.host + r.neighbours.srflx + r.neighbours.turn + r.neighbours.none
    const pTot = (r: MeshRun): number => r.pairs.host + r.pairs.srflx + r.pairs.turn + r.pairs.none
    lines.push(`| ${turn ? 'on' : 'off'} | ${rs.length} | ${fmt(rs.map(r => pct(r.neighbours.host, nTot(r))), ' %')} / ${fmt(rs.map(r => pct(r.neighbours.srflx, nTot(r))), ' %')} | ${fmt(rs.map(r => pct(r.neighbours.turn, nTot(r))), ' %')} | ${fmt(rs.map(r => r.overlayOnlyPeers))} of ${rs[0]!.peers.cone + rs[0]!.peers.symmetric + rs[0]!.peers.public} | ${fmt(rs.map(r => pct(r.pairs.host + r.pairs.srflx, pTot(r))), ' %')} | ${fmt(rs.map(r => pct(r.pairs.turn, pTot(r))), ' %')} | ${fmt(rs.map(r => pct(r.pairs.none, pTot(r))), ' %')} | ${fmt(rs.map(r => r.firstWebrtcMs.median === null ? null : r.firstWebrtcMs.median / 1000), '', 1)} / ${fmt(rs.map(r => r.firstWebrtcMs.max === null ? null : r.firstWebrtcMs.max / 1000), '', 1)} | ${fmt(rs.map(r => r.firstDirectMs.median === null ? null : r.firstDirectMs.median / 1000), '', 1)} / ${fmt(rs.map(r => r.firstDirectMs.max === null ? null : r.firstDirectMs.max / 1000), '', 1)} |`)
  }
  lines.push('', '## Every pair, by the NAT kinds of its ends', '', 'Summed over the runs: direct (host + srflx/prflx) / TURN / none (overlay only).', '', '| ends | TURN on | TURN off |', '|---|---|---|')
  const kinds = [...new Set(rows.flatMap(r => Object.keys(r.pairsByKinds)))].sort()
  const sum = (turn: boolean, k: string): string => {
    const t = zero()
    for (const r of rows.filter(r => r.turn === turn)) for (const [p, n] of Object.entries(r.pairsByKinds[k] ?? {})) t[p as PathKind] += n
    return rows.some(r => r.turn === turn) ? `${t.host + t.srflx} / ${t.turn} / ${t.none}` : '—'
  }
  for (const k of kinds) lines.push(`| ${k} | ${sum(true, k)} | ${sum(false, k)} |`)
  lines.push('', '## Runs', '')
  for (const r of rows) {
    lines.push(`- TURN ${r.turn ? 'on' : 'off'}, run ${r.run} (${r.at}, load ${r.load.map(x => x.toFixed(1)).join(' ')}): neighbours ${JSON.stringify(r.neighbours)}, peers with no WebRTC neighbour ${r.overlayOnlyPeers}; pairs ${JSON.stringify(r.pairs)}; dial ms by path ${JSON.stringify(r.dialMs)}; first WebRTC ${JSON.stringify(r.firstWebrtcMs)}, first direct ${JSON.stringify(r.firstDirectMs)}`)
  }
  return `${lines.join('\n')}\n`
}

if (process.env.HEARSAY_NETNS !== '1') {
  console.error('nat-mesh: run it inside a network namespace, as root: node scripts/netns.mjs node apps/bench/dist/nat-mesh.js')
  process.exit(2)
}
const missing = missingTools()
if (missing.length > 0) {
  console.error(`nat-mesh: missing ${missing.join(', ')} (scripts/setup.mjs --browsers installs iptables, coturn and conntrack)`)
  process.exit(2)
}
const rows: MeshRun[] = []
for (let run = 1; run <= RUNS; run++) {
  for (const turn of MODES) {
    const r = await runOnce(turn, run)
    console.log(JSON.stringify(r))
    rows.push(r)
  }
}
const command = `node scripts/netns.mjs node apps/bench/dist/nat-mesh.js ${process.argv.slice(2).join(' ')}`.trim()
console.log(markdown(rows, command))
if (values['no-write'] !== true) {
  const dir = fileURLToPath(new URL('../results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'nat-mesh.json'), `${JSON.stringify({ command, rows }, null, 2)}\n`)
  writeFileSync(path.join(dir, 'nat-mesh.md'), markdown(rows, command))
}
process.exit(0)
