/**
 * The `members` scenario: cluster membership (`node.members()`, `member:*` events) on the
 * simulated overlay, with every node's state options at core's defaults (gossip every 1 s to one
 * random active peer, a membership heartbeat every 2.5 s, phi threshold 8).
 *
 * Two overlays, built identically from the seed:
 * 1. **with membership** (`stateService()`, `state.members` on): after the build, an idle window
 *    measures the bytes every node sends; then, in one instant, a node is killed (A: death), a
 *    node is cut off alone by a partition (B), and a new node starts (C: join). Every gossip round
 *    the simulator counts the observers (live nodes other than A, B and C) that got
 *    `member:down` for A and B and `member:join` for C. Then the partition heals and it counts
 *    `member:up` for B. Times come from the events' own virtual timestamps.
 * 2. **without** (`state.members: false`, the state service otherwise the same): the same idle
 *    window, for the bytes membership adds.
 */
import { STATE_DEFAULTS, stateService } from '@hearsay/core'
import type { Member, MemberEvent, PeerId } from '@hearsay/core'
import type { Row, ScenarioOptions } from './scenario-types.js'
import { DEFAULT_CONFIG, peakRssBytes, round, sampleArray, Sim } from './sim.js'
import type { Mode, ScenarioName, SimNode } from './sim.js'

export interface MembersOptions extends ScenarioOptions {
  /**
   * Idle window over which bytes are measured, virtual ms. @default 10000 up to 500 nodes, 4000
   * above (at 1k nodes one virtual second of membership costs ~18 s of wall: every node takes in
   * ~400 heartbeat updates per second, 400k in the whole simulation)
   */
  idleMs?: number
  /**
   * Heal the partition and measure `member:up`; without it the death-and-join phase ends once 99 %
   * of the observers have all three events (rather than 100 %). @default true up to 500 nodes
   */
  heal?: boolean
  /** Also build the overlay without membership and measure its idle bytes. @default true */
  baseline?: boolean
  /** Give up waiting for a phase after this many virtual ms. @default 60000 */
  capMs?: number
}

/** When each observer first got one kind of event about one subject. */
class FirstSeen {
  readonly at = new Map<number, number>()
  record (observer: number, t: number): void { if (!this.at.has(observer)) this.at.set(observer, t) }
  /** Fraction of `observers` that have it. */
  fraction (observers: SimNode[]): number { return observers.length === 0 ? 1 : observers.filter(o => this.at.has(o.index)).length / observers.length }
  /** Virtual ms after `t0` by which a share `q` of `observers` had it; null if they never did. */
  timeTo (observers: SimNode[], q: number, t0: number): number | null {
    const need = Math.ceil(q * observers.length)
    const times = observers.map(o => this.at.get(o.index)).filter((x): x is number => x !== undefined).sort((a, b) => a - b)
    return times.length < need || need === 0 ? null : times[need - 1]! - t0
  }
}

interface Traffic { bytes: number, frames: number, syn: number, ack: number, delta: number }

/** Builds one overlay and measures its idle traffic per node per second (and, with membership, the rest). */
async function runOnce (o: MembersOptions, mode: Mode, membership: boolean): Promise<{ sim: Sim, idle: Traffic, m?: Record<string, unknown> }> {
  const log = o.log ?? (() => {})
  const sim = new Sim({
    ...DEFAULT_CONFIG,
    services: [stateService()],
    // membership converges during the build; one round of settling is enough for the overlay
    settleRounds: 1,
    log,
    ...o.config,
    nodeOptions: { ...o.config?.nodeOptions, state: { members: membership } },
    nodes: o.nodes,
    seed: o.seed,
    mode
  })
  log(`members (${membership ? 'with' : 'without'} membership): building ${o.nodes} nodes`)
  await sim.build()
  const snap = (): Traffic => ({ bytes: sim.counter.bytes, frames: sim.counter.frames, syn: sim.counter.get('kv.syn'), ack: sim.counter.get('kv.ack'), delta: sim.counter.get('kv.delta') })
  const idleMs = o.idleMs ?? (o.nodes <= 500 ? 10_000 : 4_000)
  const n = sim.live().length
  const c0 = snap()
  await sim.runFor(idleMs, 'idle')
  const c1 = snap()
  const per = (x: number): number => round(x / n / (idleMs / 1000), 2)
  const idle: Traffic = { bytes: per(c1.bytes - c0.bytes), frames: per(c1.frames - c0.frames), syn: per(c1.syn - c0.syn), ack: per(c1.ack - c0.ack), delta: per(c1.delta - c0.delta) }
  log(`members: idle ${idle.bytes} B / node / s (${idle.frames} frames; kv syn ${idle.syn}, ack ${idle.ack}, delta ${idle.delta})`)
  if (!membership) return { sim, idle }
  return { sim, idle, m: await measure(sim, o.capMs ?? 60_000, o.heal ?? o.nodes <= 500) }
}

/** Death (kill), cut-off (partition) and join in one instant, then the heal. */
async function measure (sim: Sim, capMs: number, heal: boolean): Promise<Record<string, unknown>> {
  const log = sim.cfg.log
  const round1 = STATE_DEFAULTS.gossipInterval
  const known = sim.live().map(sn => sn.node.members().filter(m => m.alive).length - 1)
  const convergedAtStart = round(known.reduce((a, b) => a + b, 0) / (known.length * (known.length - 1)), 6)
  log(`members: after the build each node knows ${(convergedAtStart * 100).toFixed(3)} % of the others as alive`)

  const first = new Map<string, FirstSeen>()
  const seen = (event: MemberEvent, id: PeerId): FirstSeen => {
    const k = `${event}|${id}`
    let f = first.get(k)
    if (f === undefined) { f = new FirstSeen(); first.set(k, f) }
    return f
  }
  let subjects = new Set<PeerId>()
  let observing = new Set<SimNode>()
  let newcomer: SimNode | undefined
  // down events for live members: by the observers (false positives), by the newcomer (which learns everyone at once)
  let falseDowns = 0
  let newcomerDowns = 0
  let repeats = 0
  const counts = new Map<string, number>()
  const watch = (sn: SimNode): void => {
    for (const event of ['member:join', 'member:down', 'member:up'] as const) {
      sn.node.on(event, (m: Member) => {
        seen(event, m.id).record(sn.index, sim.now)
        if (event === 'member:down' && !subjects.has(m.id)) {
          if (observing.has(sn)) falseDowns++
          else if (sn === newcomer) newcomerDowns++
        }
        // once per transition: a second down (or up) of the same subject at one observer, in this measurement, is a repeat
        const k = `${sn.index}|${event}|${m.id}`
        const c = (counts.get(k) ?? 0) + 1
        counts.set(k, c)
        if (c > 1 && event !== 'member:join') repeats++
      })
    }
  }
  for (const sn of sim.live()) watch(sn)

  const pool = sim.live().filter(sn => !sn.isSeed)
  const [a, b] = sampleArray(sim.rng, pool, 2) as [SimNode, SimNode]
  const c = sim.addNode()
  watch(c)
  newcomer = c
  subjects = new Set([a.node.id, b.node.id])
  const observers = sim.live().filter(sn => sn !== a && sn !== b && sn !== c)
  observing = new Set(observers)
  const t0 = sim.now
  sim.kill(a)
  sim.network.partition([b.host], sim.nodes.filter(sn => sn !== b).map(sn => sn.host))
  sim.startAt(c, t0)
  let t = t0
  const curve: Array<{ s: number, join: number, downKill: number, downCut: number }> = []
  while (t - t0 < capMs) {
    t += round1
    await sim.runUntil(t, 'members: death and join')
    const pt = { s: (t - t0) / 1000, join: round(seen('member:join', c.node.id).fraction(observers), 4), downKill: round(seen('member:down', a.node.id).fraction(observers), 4), downCut: round(seen('member:down', b.node.id).fraction(observers), 4) }
    curve.push(pt)
    const enough = heal ? 1 : 0.99
    if (pt.join >= enough && pt.downKill >= enough && pt.downCut >= enough) break
  }
  await sim.settleStops()
  const healAt = sim.now
  let reconnectAt: number | undefined
  b.node.once('peer:connect', () => { reconnectAt ??= sim.now })
  if (heal) sim.network.heal()
  const upCurve: Array<{ s: number, up: number }> = []
  t = healAt
  while (heal && t - healAt < capMs) {
    t += round1
    await sim.runUntil(t, 'members: return')
    const up = round(seen('member:up', b.node.id).fraction(observers), 4)
    upCurve.push({ s: (t - healAt) / 1000, up })
    if (up === 1) break
  }
  const secs = (ms: number | null): number | null => ms === null ? null : round(ms / 1000, 3)
  const rounds = (ms: number | null): number | null => ms === null ? null : Math.ceil(ms / round1)
  const join99 = seen('member:join', c.node.id).timeTo(observers, 0.99, t0)
  const down99 = seen('member:down', a.node.id).timeTo(observers, 0.99, t0)
  const cut99 = seen('member:down', b.node.id).timeTo(observers, 0.99, t0)
  const up99 = seen('member:up', b.node.id).timeTo(observers, 0.99, healAt)
  const drops: Record<string, number> = {}
  for (const sn of sim.nodes) {
    for (const [k, v] of Object.entries(sn.node.metrics.snapshot())) if (k.startsWith('drops.member-')) drops[k.slice(6)] = (drops[k.slice(6)] ?? 0) + v
  }
  const m = {
    observers: observers.length,
    convergedAtStart,
    gossipIntervalMs: round1,
    memberHeartbeatIntervalMs: STATE_DEFAULTS.memberHeartbeatInterval,
    memberPhiThreshold: STATE_DEFAULTS.memberPhiThreshold,
    joinSecondsTo99: secs(join99),
    joinRoundsTo99: rounds(join99),
    joinSecondsTo100: secs(seen('member:join', c.node.id).timeTo(observers, 1, t0)),
    deathSecondsTo99: secs(down99),
    deathRoundsTo99: rounds(down99),
    deathSecondsTo100: secs(seen('member:down', a.node.id).timeTo(observers, 1, t0)),
    cutSecondsTo99: secs(cut99),
    cutRoundsTo99: rounds(cut99),
    upSecondsTo99: secs(up99),
    upRoundsTo99: rounds(up99),
    upSecondsTo100: secs(seen('member:up', b.node.id).timeTo(observers, 1, healAt)),
    reconnectSeconds: reconnectAt === undefined ? null : secs(reconnectAt - healAt),
    falseDowns,
    newcomerDowns,
    repeatedTransitions: repeats,
    memberDrops: drops,
    curve,
    upCurve
  }
  log(`members: join 99 % after ${String(m.joinSecondsTo99)} s, death 99 % after ${String(m.deathSecondsTo99)} s, cut-off 99 % after ${String(m.cutSecondsTo99)} s, up 99 % ${String(m.upSecondsTo99)} s after the heal (reconnected after ${String(m.reconnectSeconds)} s); false downs ${falseDowns}, repeats ${repeats}`)
  return m
}

/** The `members` runner: one row per seed, with and without membership. */
export async function members (o: MembersOptions): Promise<Row[]> {
  const mode: Mode = o.modes?.[0] ?? 'plumtree'
  const withM = await runOnce(o, mode, true)
  const sim = withM.sim
  const row: Row = {
    scenario: 'members' as ScenarioName,
    nodes: sim.cfg.nodes,
    mode,
    seed: sim.cfg.seed,
    hopLimit: sim.cfg.limit,
    shuffleInterval: sim.cfg.shuffleInterval,
    heartbeatInterval: sim.cfg.heartbeatInterval,
    services: sim.cfg.services.map(x => x.name),
    deliveryRatio: 1,
    rmr: null,
    lastDeliveryHop: 0,
    virtualSeconds: round(sim.now / 1000, 3),
    eventsPerSecond: sim.eventsPerSecond,
    peakRssBytes: 0,
    wallSeconds: round(sim.wallSeconds, 2),
    ...withM.m,
    bytesPerNodePerSecondWith: withM.idle.bytes,
    framesPerNodePerSecondWith: withM.idle.frames,
    kvFramesPerNodePerSecondWith: withM.idle,
    timerErrors: sim.clock.errors
  }
  if (o.baseline === false) {
    row.peakRssBytes = peakRssBytes()
    return [row]
  }
  const without = await runOnce(o, mode, false)
  row.bytesPerNodePerSecondWithout = without.idle.bytes
  row.framesPerNodePerSecondWithout = without.idle.frames
  row.kvFramesPerNodePerSecondWithout = without.idle
  row.membershipBytesPerNodePerSecond = round(withM.idle.bytes - without.idle.bytes, 2)
  row.membershipBytesPerMemberPerNodePerSecond = round((withM.idle.bytes - without.idle.bytes) / Math.max(1, sim.cfg.nodes - 1), 3)
  row.wallSecondsWithout = round(without.sim.wallSeconds, 2)
  row.peakRssBytes = peakRssBytes()
  row.timerErrors = sim.clock.errors + without.sim.clock.errors
  return [row]
}

/** Markdown table of members rows, then the median and range over seeds per node count. */
export function membersMarkdown (rows: Row[]): string {
  const f = (x: unknown, d = 2): string => typeof x === 'number' ? x.toFixed(d) : x === null || x === undefined ? '–' : String(x)
  const head = ['nodes', 'seed', 'join → 99 % (s / rounds)', 'join → 100 % s', 'death → 99 % (s / rounds)', 'death → 100 % s', 'cut off → 99 % s', 'up after heal → 99 % s (reconnect s)', 'false downs', 'repeats', 'bytes / node / s with', 'without', 'membership B / node / s', 'per member', 'wall s']
  const body = rows.map(r => [String(r.nodes), String(r.seed), `${f(r.joinSecondsTo99, 1)} / ${f(r.joinRoundsTo99, 0)}`, f(r.joinSecondsTo100, 1),
    `${f(r.deathSecondsTo99, 1)} / ${f(r.deathRoundsTo99, 0)}`, f(r.deathSecondsTo100, 1), f(r.cutSecondsTo99, 1),
    `${f(r.upSecondsTo99, 1)} (${f(r.reconnectSeconds, 1)})`, f(r.falseDowns, 0), f(r.repeatedTransitions, 0),
    f(r.bytesPerNodePerSecondWith, 0), f(r.bytesPerNodePerSecondWithout, 0), f(r.membershipBytesPerNodePerSecond, 0), f(r.membershipBytesPerMemberPerNodePerSecond, 1),
    f(typeof r.wallSeconds === 'number' && typeof r.wallSecondsWithout === 'number' ? r.wallSeconds + r.wallSecondsWithout : null, 0)])
  const fields = [['joinSecondsTo99', 1], ['joinRoundsTo99', 0], ['deathSecondsTo99', 1], ['deathRoundsTo99', 0], ['upSecondsTo99', 1], ['bytesPerNodePerSecondWith', 0], ['membershipBytesPerNodePerSecond', 0]] as const
  const summary: string[][] = []
  for (const nodes of [...new Set(rows.map(r => r.nodes))]) {
    const rs = rows.filter(r => r.nodes === nodes)
    summary.push([String(nodes), String(rs.length), ...fields.map(([k, d]) => {
      const xs = rs.map(r => r[k]).filter((x): x is number => typeof x === 'number').sort((p, q) => p - q)
      return xs.length === 0 ? '–' : `${f(xs[Math.floor((xs.length - 1) / 2)], d)} [${f(xs[0], d)}..${f(xs[xs.length - 1], d)}]`
    })])
  }
  const table = (h: string[], b: string[][]): string => [`| ${h.join(' | ')} |`, `| ${h.map(() => '---').join(' | ')} |`, ...b.map(x => `| ${x.join(' | ')} |`)].join('\n') + '\n'
  return '# members\n\nGenerated by `pnpm bench:sim -- --scenario members --nodes <N> --seed <s>` (up to 500 nodes) and `node --heap-growing-percent=30 apps/bench/dist/members-1k.js <s>` (1k); see apps/bench/src/scenario-members.ts. ' +
    `One gossip round = ${STATE_DEFAULTS.gossipInterval} ms, membership heartbeat every ${STATE_DEFAULTS.memberHeartbeatInterval} ms, phi threshold ${STATE_DEFAULTS.memberPhiThreshold}. ` +
    'Times are virtual seconds from the event (kill, partition, start; heal for up) until 99 % / 100 % of the observers (live nodes other than the three subjects) had the member event. ' +
    'Bytes: every frame every node sent over an idle window (10 s; 2 s in the 1k rows, from `apps/bench/dist/members-1k.js`, which builds no baseline overlay), with membership and without (`state.members: false`), per node per second.\n\n' +
    '## Median [min..max] over seeds\n\n' + table(['nodes', 'seeds', 'join → 99 % s', 'rounds', 'death → 99 % s', 'rounds', 'up → 99 % s', 'bytes / node / s with', 'membership B / node / s'], summary) +
    '\n## Rows\n\n' + table(head, body)
}

/** SVG: share of observers with the event per virtual second, one line per (seed, event). */
export function membersPlot (rows: Row[]): string {
  const W = 640; const H = 360; const L = 50; const B = 40
  const series: Array<{ label: string, color: string, pts: Array<[number, number]> }> = []
  for (const r of rows) {
    const curve = (r.curve as Array<{ s: number, join: number, downKill: number }> | undefined) ?? []
    const up = (r.upCurve as Array<{ s: number, up: number }> | undefined) ?? []
    series.push({ label: `join, ${r.nodes} n, seed ${r.seed}`, color: '#2ca02c', pts: curve.map(p => [p.s, p.join]) })
    series.push({ label: `death, ${r.nodes} n, seed ${r.seed}`, color: '#d62728', pts: curve.map(p => [p.s, p.downKill]) })
    series.push({ label: `up after heal, ${r.nodes} n, seed ${r.seed}`, color: '#1f77b4', pts: up.map(p => [p.s, p.up]) })
  }
  const maxS = Math.max(1, ...series.flatMap(s => s.pts.map(p => p[0])))
  const x = (s: number): number => L + (W - L - 10) * s / maxS
  const y = (v: number): number => H - B - (H - B - 10) * v
  const lines = series.map((s, i) => `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${s.pts.map(([a, v]) => `${x(a).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>` +
    (i < 3 ? `<text x="${W - 200}" y="${20 + 16 * i}" fill="${s.color}" font-size="12">${s.label.split(',')[0]!}</text>` : '')).join('\n')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<line x1="${L}" y1="${H - B}" x2="${W - 10}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="10" x2="${L}" y2="${H - B}" stroke="black"/>
<line x1="${L}" y1="${y(0.99)}" x2="${W - 10}" y2="${y(0.99)}" stroke="#999" stroke-dasharray="4 3"/><text x="${L + 4}" y="${y(0.99) - 4}" font-size="11" fill="#666">99 %</text>
<text x="${(W + L) / 2}" y="${H - 6}" font-size="12" text-anchor="middle">virtual seconds after the event (the heal, for up)</text>
<text x="14" y="${(H - B) / 2}" font-size="12" transform="rotate(-90 14 ${(H - B) / 2})" text-anchor="middle">observers with the member event</text>
${lines}
</svg>
`
}
