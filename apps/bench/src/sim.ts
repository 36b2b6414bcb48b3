import { setMaxListeners } from 'node:events'
import { createNode, memoryStore, seededRandom, toBase32 } from '@hearsay/core'
import type { HearsayNode, Identity, NodeOptions, NodeService, PeerId, Random, Request } from '@hearsay/core'
import { countingTransport, FrameCounter, simChannel, SimNetwork } from './sim-network.js'
import { FreezableClock, VirtualClock } from './virtual-clock.js'

export type Mode = 'flood' | 'plumtree'
export const MODES: readonly Mode[] = ['flood', 'plumtree']
export const SCENARIOS = ['steady', 'mass-failure', 'churn', 'partition', 'failure-detector', 'kv', 'members'] as const
export type ScenarioName = typeof SCENARIOS[number]

/** Everything that shapes one simulated overlay. */
export interface SimConfig {
  nodes: number
  seed: number
  mode: Mode
  /** Nodes 0..seedNodes-1 are the bootstrap seeds. @default 4 */
  seedNodes: number
  /** Seeds each other node is configured with (distinct, drawn at random). @default 2 */
  seedsPerNode: number
  /** Nodes started per `joinEveryMs`. @default 20 */
  joinBatch: number
  /** @default 100 */
  joinEveryMs: number
  /** Node option shuffleInterval (one membership round), virtual ms. @default 10000 (core default) */
  shuffleInterval: number
  /** Node option heartbeatInterval, virtual ms. @default 1000 (core default) */
  heartbeatInterval: number
  /** Shuffle rounds run after the last join before any measurement. @default 3 */
  settleRounds: number
  /** One-way latency per pair of hosts, drawn in [min, max] ms. @default 5, 20 */
  latencyMin: number
  latencyMax: number
  /** Hop limit of every measured announce. @default 32 (the broadcasters' maxHops) */
  limit: number
  /** Virtual ms a broadcast is given to finish before it is measured. @default 3000 */
  drainMs: number
  /** Give every node its own freezable view of the clock (silent deaths). @default false */
  freezable: boolean
  /**
   * Extra `createNode` options for every node (e.g. `maxPeers`, or Plumtree tuning once core
   * exposes it). The simulator's own wiring (identity, channel, transport, clock, random, store,
   * seeds, broadcast mode, services, intervals) always wins. @default {}
   */
  nodeOptions: Partial<NodeOptions>
  /**
   * Application services every node carries. The overlay scenarios measure membership and
   * `announce`, which need none, so nodes carry none (as `hearsay/lite`'s `createNode`): with
   * `@hearsay/core`'s default (all four) each node also ran the event bus's own Plumtree with
   * its own root beacons and the state service's anti-entropy timers, 13 % more heap per node
   * (1k nodes, after the build: 107 vs 93 KB). The kv scenario adds `stateService()`.
   * @default []
   */
  services: NodeService[]
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void
}

export const DEFAULT_CONFIG: Omit<SimConfig, 'nodes' | 'seed' | 'mode'> = {
  seedNodes: 4,
  seedsPerNode: 2,
  joinBatch: 20,
  joinEveryMs: 100,
  shuffleInterval: 10_000,
  heartbeatInterval: 1_000,
  settleRounds: 3,
  latencyMin: 5,
  latencyMax: 20,
  limit: 32,
  drainMs: 3_000,
  freezable: false,
  nodeOptions: {},
  services: [],
  log: () => {}
}

export interface SimNode {
  index: number
  host: string
  address: string
  node: HearsayNode
  /** Set when the simulator gave the node a freezable clock. */
  clock: FreezableClock | undefined
  /** False once killed (network.kill + stop). */
  alive: boolean
  /** Silently dead: partitioned alone with its clock frozen, links left open. */
  dead: boolean
  isSeed: boolean
}

interface Track {
  id: string
  sentAt: number
  /** Live nodes when it was sent, the origin included. */
  live: number
  delivered: number
  maxHops: number
  lastAt: number
  hist: number[]
}

/** One broadcast, measured. */
export interface BroadcastResult {
  id: string
  /** Deliveries / (live nodes − 1). */
  deliveryRatio: number
  delivered: number
  /** Payload frames (`fl.gossip` / `pt.gossip`) sent for it by any node. */
  payloadMsgs: number
  /** payloadMsgs / delivered − 1 (Plumtree paper: m / (n − 1) − 1, n = nodes reached); null if nobody got it. */
  rmr: number | null
  /** Largest `req.hops` among the deliveries (0 if none). */
  lastHop: number
  /** Virtual ms from the announce to the last delivery. */
  lastDeliveryMs: number
  hist: number[]
}

/** Many broadcasts, summarised. */
export interface BroadcastSummary {
  broadcasts: number
  /** Mean delivery ratio. */
  deliveryRatio: number
  minDeliveryRatio: number
  /** Fraction of broadcasts that reached every live node. */
  fullDeliveryFraction: number
  /** Mean RMR over the broadcasts that reached someone (null if none did). */
  rmr: number | null
  /** Largest last-delivery hop over the broadcasts. */
  lastDeliveryHop: number
  meanLastHop: number
  /** Mean virtual ms from announce to last delivery. */
  lastDeliveryMs: number
  /** Deliveries by hop count (index = hops), summed over the broadcasts. */
  hopHistogram: number[]
}

export function summarize (results: BroadcastResult[]): BroadcastSummary {
  const n = results.length
  const rmrs = results.map(r => r.rmr).filter((x): x is number => x !== null)
  const hist: number[] = []
  for (const r of results) r.hist.forEach((c, h) => { hist[h] = (hist[h] ?? 0) + c })
  for (let h = 0; h < hist.length; h++) hist[h] ??= 0
  return {
    broadcasts: n,
    deliveryRatio: n === 0 ? 0 : round(mean(results.map(r => r.deliveryRatio)), 6),
    minDeliveryRatio: n === 0 ? 0 : round(Math.min(...results.map(r => r.deliveryRatio)), 6),
    fullDeliveryFraction: n === 0 ? 0 : round(results.filter(r => r.deliveryRatio >= 1).length / n, 6),
    rmr: rmrs.length === 0 ? null : round(mean(rmrs), 4),
    lastDeliveryHop: n === 0 ? 0 : Math.max(...results.map(r => r.lastHop)),
    meanLastHop: n === 0 ? 0 : round(mean(results.map(r => r.lastHop)), 3),
    lastDeliveryMs: n === 0 ? 0 : round(mean(results.map(r => r.lastDeliveryMs)), 1),
    hopHistogram: hist
  }
}

/**
 * One simulated overlay: `nodes` real core nodes (`createNode`, plain channel, memory
 * transport) on one virtual clock, joined through a few seeds, plus the bookkeeping that
 * measures broadcasts. Everything random is drawn from generators seeded by `seed`.
 */
export class Sim {
  readonly cfg: SimConfig
  readonly clock = new VirtualClock()
  readonly network: SimNetwork
  readonly counter = new FrameCounter()
  /** Plain channel with the pass-through codec, shared by every node (it keeps no state). */
  private readonly channel = simChannel()
  readonly nodes: SimNode[] = []
  readonly byId = new Map<PeerId, SimNode>()
  /** Scenario choices (origins, victims, halves). */
  readonly rng: Random
  private readonly idRng: Random
  private readonly seedRng: Random
  private readonly tracks = new Map<string, Track>()
  private readonly stops: Array<Promise<void>> = []
  private readonly wallStart = performance.now()
  private lastLog = 0
  startFailures = 0
  announceFailures = 0

  constructor (cfg: SimConfig) {
    this.cfg = cfg
    this.network = new SimNetwork({ clock: this.clock, random: seededRandom(cfg.seed ^ 0x6a09e667), seed: cfg.seed, latencyMin: cfg.latencyMin, latencyMax: cfg.latencyMax })
    this.rng = seededRandom(cfg.seed ^ 0x3c6ef372)
    this.idRng = seededRandom(Math.imul(cfg.seed, 7919) ^ 0x510e527f)
    this.seedRng = seededRandom(cfg.seed ^ 0x1f83d9ab)
    this.clock.onError = (err) => { if (this.clock.errors <= 5) cfg.log(`timer callback threw: ${String((err as Error)?.stack ?? err)}`) }
  }

  get now (): number { return this.clock.now() }
  get wallSeconds (): number { return (performance.now() - this.wallStart) / 1000 }
  get eventsPerSecond (): number { return Math.round(this.clock.eventsRun / Math.max(1e-9, this.wallSeconds)) }

  /** Nodes that are running and not silently dead. */
  live (): SimNode[] { return this.nodes.filter(n => n.alive && !n.dead) }

  /** Creates node `nodes.length` (not started). */
  addNode (): SimNode {
    const i = this.nodes.length
    const cfg = this.cfg
    const host = `n${i}`
    const address = `memory:${host}`
    const isSeed = i < cfg.seedNodes
    let seeds: string[]
    if (isSeed) seeds = i === 0 ? [] : ['memory:n0']
    else {
      const pool = Array.from({ length: Math.min(cfg.seedNodes, this.nodes.length) }, (_, k) => k)
      seeds = sampleArray(this.seedRng, pool, cfg.seedsPerNode).map(k => `memory:n${k}`)
    }
    const publicKey = this.idRng.bytes(32)
    const identity: Identity = { id: toBase32(publicKey), publicKey, secretKey: new Uint8Array(64) }
    const clock = cfg.freezable ? new FreezableClock(this.clock) : undefined
    const node = createNode({
      // the measured announces take no replies (onRequest only counts), so no node needs their
      // reverse paths: 10,000 kept for 60 s were ~70 B per node per broadcast in flight
      announceRoutes: 1,
      ...cfg.nodeOptions,
      identity,
      channel: this.channel,
      transports: [countingTransport(this.network.transport(host), this.counter)],
      listen: [address],
      seeds,
      clock: clock ?? this.clock,
      random: seededRandom(cfg.seed + i),
      store: memoryStore({ now: () => this.clock.now() }),
      broadcast: cfg.mode,
      services: cfg.services,
      shuffleInterval: cfg.shuffleInterval,
      heartbeatInterval: cfg.heartbeatInterval
    })
    // a node with more than 10 dials or announces in flight adds more than 10 abort listeners to
    // its lifetime signal, and Node warns about a possible leak; they are removed, so silence it
    setMaxListeners(0, node.signal)
    const sn: SimNode = { index: i, host, address, node, clock, alive: true, dead: false, isSeed }
    node.on('request', (req) => { this.onRequest(sn, req) })
    this.nodes.push(sn)
    this.byId.set(identity.id, sn)
    return sn
  }

  /** Starts `sn` at virtual time `at` (now if in the past). */
  startAt (sn: SimNode, at: number): void {
    this.clock.setTimeout(() => {
      sn.node.start().catch((err: unknown) => {
        this.startFailures++
        if (this.startFailures <= 5) this.cfg.log(`node ${sn.host} failed to start: ${String(err)}`)
      })
    }, at - this.now)
  }

  /** Starts every node in join batches, then lets membership settle. */
  async build (): Promise<void> {
    const cfg = this.cfg
    const step = cfg.joinEveryMs / cfg.joinBatch
    let last = 0
    for (let i = 0; i < cfg.nodes; i++) {
      const sn = this.addNode()
      const at = i < cfg.seedNodes ? i : cfg.seedNodes + Math.floor((i - cfg.seedNodes) * step)
      this.startAt(sn, at)
      last = at
    }
    await this.runUntil(last, 'join')
    await this.runUntil(last + cfg.settleRounds * cfg.shuffleInterval, 'settle')
    const v = this.viewStats()
    const c = this.connectivity()
    cfg.log(`built ${cfg.nodes} nodes (${cfg.mode}) at t=${(this.now / 1000).toFixed(1)} s: active view mean ${v.mean.toFixed(2)} [${v.min}..${v.max}], ${c.components} component(s), ${this.wallSeconds.toFixed(1)} s wall`)
  }

  /** Runs the clock to `t` in chunks, logging progress at most every 2 s of wall time. */
  async runUntil (t: number, label = 'run'): Promise<void> {
    const chunk = 1000
    while (this.now < t) {
      await this.clock.runUntil(Math.min(t, this.now + chunk))
      const wall = performance.now()
      if (wall - this.lastLog > 2000) {
        this.lastLog = wall
        this.cfg.log(`  [${this.cfg.mode} ${label}] t=${(this.now / 1000).toFixed(1)} s, ${this.clock.eventsRun} events (${this.eventsPerSecond}/s), ${this.counter.frames} frames, rss ${mb(process.memoryUsage.rss())} MB`)
      }
    }
  }

  async runFor (ms: number, label?: string): Promise<void> { await this.runUntil(this.now + ms, label) }

  /** Kills a node: its host vanishes from the network (links break at once) and the node stops. */
  kill (sn: SimNode): void {
    if (!sn.alive) return
    sn.alive = false
    this.network.kill(sn.host)
    this.stops.push(sn.node.stop().catch(() => {}))
  }

  async settleStops (): Promise<void> {
    await Promise.all(this.stops.splice(0))
  }

  /** Sends a measured announce from `origin` now; the id must be unique in this sim. */
  broadcast (origin: SimNode, id: string, data: unknown = null): void {
    const live = this.live().length
    this.tracks.set(id, { id, sentAt: this.now, live, delivered: 0, maxHops: 0, lastAt: this.now, hist: [] })
    try {
      origin.node.announce({ type: 'bench', id, data, limit: this.cfg.limit, timeout: 1000 })
    } catch (err) {
      this.announceFailures++
      if (this.announceFailures <= 5) this.cfg.log(`announce from ${origin.host} failed: ${String(err)}`)
    }
  }

  /** Measures a broadcast (call after it had time to finish) and forgets it. */
  finish (id: string): BroadcastResult {
    const t = this.tracks.get(id)
    if (t === undefined) throw new Error(`unknown broadcast ${id}`)
    this.tracks.delete(id)
    const payloadMsgs = this.counter.take(id)
    const hist: number[] = []
    for (let h = 0; h < t.hist.length; h++) hist[h] = t.hist[h] ?? 0
    return {
      id,
      deliveryRatio: t.live <= 1 ? 1 : round(t.delivered / (t.live - 1), 6),
      delivered: t.delivered,
      payloadMsgs,
      rmr: t.delivered === 0 ? null : round(payloadMsgs / t.delivered - 1, 4),
      lastHop: t.maxHops,
      lastDeliveryMs: t.lastAt - t.sentAt,
      hist
    }
  }

  /** A random live node whose start finished. */
  randomLive (pool: SimNode[] = this.live()): SimNode {
    const running = pool.filter(n => n.node.status === 'running')
    const sn = running[Math.floor(this.rng.float() * running.length)]
    if (sn === undefined) throw new Error('no live node')
    return sn
  }

  /** Sizes of the live nodes' active views. */
  viewStats (): { mean: number, min: number, max: number } {
    const sizes = this.live().map(n => n.node.overlay?.active.length ?? 0)
    return { mean: mean(sizes), min: Math.min(...sizes), max: Math.max(...sizes) }
  }

  /**
   * Connected components of the live nodes' active views, taken as undirected edges (a link
   * either end lists). `largest` is the size of the biggest component.
   */
  connectivity (pool: SimNode[] = this.live()): { components: number, largest: number, connected: boolean } {
    const members = new Set(pool)
    const adj = new Map<SimNode, SimNode[]>()
    for (const n of pool) adj.set(n, [])
    for (const n of pool) {
      for (const id of n.node.overlay?.active ?? []) {
        const m = this.byId.get(id)
        if (m === undefined || !members.has(m)) continue
        adj.get(n)!.push(m)
        adj.get(m)!.push(n)
      }
    }
    const seen = new Set<SimNode>()
    let components = 0
    let largest = 0
    for (const start of pool) {
      if (seen.has(start)) continue
      components++
      let size = 0
      const stack = [start]
      seen.add(start)
      while (stack.length > 0) {
        const n = stack.pop()!
        size++
        for (const m of adj.get(n)!) if (!seen.has(m)) { seen.add(m); stack.push(m) }
      }
      largest = Math.max(largest, size)
    }
    return { components, largest, connected: components <= 1 }
  }

  private onRequest (sn: SimNode, req: Request): void {
    const t = this.tracks.get(req.id)
    if (t === undefined || sn.dead) return
    t.delivered++
    if (req.hops > t.maxHops) t.maxHops = req.hops
    t.lastAt = this.now
    t.hist[req.hops] = (t.hist[req.hops] ?? 0) + 1
  }
}

// ---- small helpers ----

export function mean (xs: number[]): number { return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length }
export function round (x: number, digits: number): number { const f = 10 ** digits; return Math.round(x * f) / f }
export function mb (bytes: number): number { return Math.round(bytes / 1048576) }
export function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** Up to `k` distinct elements in random order (partial Fisher–Yates on a copy). */
export function sampleArray<T> (random: Random, items: readonly T[], k: number): T[] {
  const a = [...items]
  const n = Math.min(k, a.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random.float() * (a.length - i))
    const t = a[i]!
    a[i] = a[j]!
    a[j] = t
  }
  a.length = n
  return a
}

export function peakRssBytes (): number { return process.resourceUsage().maxRSS * 1024 }
