import { setMaxListeners } from 'node:events'
import { createNode, memoryStore, plainChannel, seededRandom, toBase32 } from '@hearsay/core'
import type { Identity, NodeOptions, PeerId, Random } from '@hearsay/core'
import { countingTransport, FrameCounter } from './sim-network.js'
import { SimWebRTC, SIM_RTC_DEFAULTS } from './sim-webrtc.js'
import type { RtcStats } from './sim-webrtc.js'
import { DEFAULT_CONFIG, sampleArray, Sim } from './sim.js'
import type { Mode, SimNode } from './sim.js'

/**
 * Pages and relays on the simulator: relays are the only listeners (memory addresses); pages
 * listen on `webrtc:*` only, so their one address is `webrtc:<peerId>`, and every link between
 * two pages is a simulated WebRTC dial signalled through the overlay by core's own
 * SignalService (sim-webrtc.ts). Nodes are unmodified `createNode()`s, as in `Sim.addNode`.
 */
export interface PagesConfig {
  pages: number
  relays: number
  seed: number
  mode: Mode
  /** The relays' `maxPeers` (apps/relay's RELAY_MAX_PEERS). @default 64 */
  relayMaxPeers: number
  /** The relays' `stepBackAbove`: the page links a relay settles at (0 = off, every relay link kept). @default 16 */
  relayStepBack: number
  /** The relays' `maxForwardJoins`: walk-end dials a newcomer gets (apps/relay's RELAY_MAX_FORWARD_JOINS). @default 6 */
  relayForwardJoins: number
  /** Relays each page has as seeds (drawn at random per page). @default all of them */
  seedsPerPage: number
  /** Pages started per virtual second during the join wave. @default 100 */
  joinRate: number
  gatherMs: number
  connectMs: number
  candidates: number
  /** Extra createNode options for every node (pages and relays); the wiring always wins. */
  nodeOptions: Partial<NodeOptions>
  log: (line: string) => void
}

export const PAGES_DEFAULTS = { relayMaxPeers: 64, relayStepBack: 16, relayForwardJoins: 6, joinRate: 100, ...pick(SIM_RTC_DEFAULTS, 'gatherMs', 'connectMs', 'candidates') }

export interface PageInfo {
  sn: SimNode
  rtc: SimWebRTC | undefined
  /** Virtual ms when its start() was called, and when its first direct (WebRTC) link came up. */
  startedAt: number
  firstDirectAt: number | undefined
}

export interface Reception { nodes: Set<SimNode>, maxHops: number, lastAt: number }

/** A Sim whose nodes are relays n0…n(R−1) and pages after them. */
export class PagesSim {
  readonly sim: Sim
  readonly cfg: PagesConfig
  readonly relays: SimNode[] = []
  readonly pages = new Map<SimNode, PageInfo>()
  /** Frames each relay sent, apart from the global counter. */
  readonly relayCounters = new Map<SimNode, FrameCounter>()
  /** The measured broadcasts: who delivered each, its largest hop count and last delivery time. */
  readonly received = new Map<string, Reception>()
  /**
   * Dial targets at the moment of the dial: a page that shares a neighbour with the dialler
   * (one forwarder can carry the signals: core's SignalService forwards one hop), or not.
   */
  readonly dialTargets = { oneHop: 0, farther: 0, unknown: 0 }
  private readonly idRng: Random
  private readonly seedRng: Random

  constructor (cfg: PagesConfig) {
    this.cfg = cfg
    this.sim = new Sim({ ...DEFAULT_CONFIG, nodes: cfg.relays + cfg.pages, seed: cfg.seed, mode: cfg.mode, log: cfg.log, nodeOptions: cfg.nodeOptions })
    this.idRng = seededRandom(Math.imul(cfg.seed, 7919) ^ 0x510e527f)
    this.seedRng = seededRandom(cfg.seed ^ 0x1f83d9ab)
  }

  get now (): number { return this.sim.now }

  livePages (): PageInfo[] { return [...this.pages.values()].filter(p => p.sn.alive) }
  liveRelays (): SimNode[] { return this.relays.filter(r => r.alive) }

  addRelay (): SimNode {
    const i = this.sim.nodes.length
    const seeds = this.relays.length === 0 ? [] : [this.relays[0]!.address]
    const counter = new FrameCounter()
    const host = `n${i}`
    const transport = countingTransport(countingTransport(this.sim.network.transport(host), this.sim.counter), counter)
    const sn = this.#add(host, [transport], [`memory:${host}`], seeds, { maxPeers: this.cfg.relayMaxPeers, stepBackAbove: this.cfg.relayStepBack, maxForwardJoins: this.cfg.relayForwardJoins }, true)
    this.relays.push(sn)
    this.relayCounters.set(sn, counter)
    return sn
  }

  addPage (): PageInfo {
    const i = this.sim.nodes.length
    const host = `n${i}`
    const pool = this.liveRelays()
    const seeds = sampleArray(this.seedRng, pool, this.cfg.seedsPerPage).map(r => r.address)
    const rtc = new SimWebRTC({
      ...SIM_RTC_DEFAULTS,
      network: this.sim.network,
      host,
      clock: this.sim.clock,
      random: seededRandom(this.cfg.seed * 31 + i),
      gatherMs: this.cfg.gatherMs,
      connectMs: this.cfg.connectMs,
      candidates: this.cfg.candidates,
      onDial: (remote) => { this.#classifyDial(host, remote) }
    })
    const transports = [countingTransport(this.sim.network.transport(host), this.sim.counter), countingTransport(rtc, this.sim.counter)]
    const sn = this.#add(host, transports, ['webrtc:*'], seeds, {}, false)
    const info: PageInfo = { sn, rtc, startedAt: Infinity, firstDirectAt: undefined }
    sn.node.on('peer:connect', (peer) => {
      if (info.firstDirectAt === undefined && peer.address?.startsWith('webrtc:') === true) info.firstDirectAt = this.now
    })
    this.pages.set(sn, info)
    return info
  }

  startPage (info: PageInfo, at: number): void {
    this.sim.clock.setTimeout(() => { info.startedAt = this.now }, at - this.now)
    this.sim.startAt(info.sn, at)
  }

  #classifyDial (host: string, remote: PeerId): void {
    const self = this.sim.nodes[Number(host.slice(1))]
    const target = this.sim.byId.get(remote)
    if (self === undefined || target === undefined) { this.dialTargets.unknown++; return }
    const theirs = new Set(target.node.overlay?.active ?? [])
    const mine = self.node.peers().map(p => p.id)
    if (mine.some(id => theirs.has(id))) this.dialTargets.oneHop++
    else this.dialTargets.farther++
  }

  /** Every page's WebRTC session counters, summed. */
  rtcStats (): RtcStats {
    const sum: RtcStats = { dials: 0, opened: 0, failed: {}, failedAt: {}, timeouts: {}, inFailed: {}, accepted: 0, refused: 0 }
    for (const p of this.pages.values()) {
      const s = p.rtc?.stats
      if (s === undefined) continue
      sum.dials += s.dials
      sum.opened += s.opened
      sum.accepted += s.accepted
      sum.refused += s.refused
      for (const [k, v] of Object.entries(s.failed)) sum.failed[k] = (sum.failed[k] ?? 0) + v
      for (const [k, v] of Object.entries(s.timeouts)) sum.timeouts[k] = (sum.timeouts[k] ?? 0) + v
      for (const [k, v] of Object.entries(s.failedAt)) sum.failedAt[k] = (sum.failedAt[k] ?? 0) + v
      for (const [k, v] of Object.entries(s.inFailed)) sum.inFailed[k] = (sum.inFailed[k] ?? 0) + v
    }
    return sum
  }

  /** A node metric summed over every node ever built (stopped ones keep their counters). */
  metricSum (filter: (name: string) => boolean): Record<string, number> {
    const out: Record<string, number> = {}
    for (const sn of this.sim.nodes) {
      for (const [k, v] of Object.entries(sn.node.metrics.snapshot())) if (filter(k)) out[k] = (out[k] ?? 0) + v
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a < b ? -1 : 1))
  }

  #add (host: string, transports: NodeOptions['transports'], listen: string[], seeds: string[], extra: Partial<NodeOptions>, isSeed: boolean): SimNode {
    const sim = this.sim
    const i = sim.nodes.length
    const publicKey = this.idRng.bytes(32)
    const identity: Identity = { id: toBase32(publicKey), publicKey, secretKey: new Uint8Array(64) }
    const node = createNode({
      announceRoutes: 1,
      ...this.cfg.nodeOptions,
      ...extra,
      identity,
      channel: plainChannel(),
      transports,
      listen,
      seeds,
      clock: sim.clock,
      random: seededRandom(this.cfg.seed + i),
      store: memoryStore({ now: () => sim.clock.now() }),
      broadcast: this.cfg.mode,
      services: []
    })
    setMaxListeners(0, node.signal)
    const sn: SimNode = { index: i, host, address: `memory:${host}`, node, clock: undefined, alive: true, dead: false, isSeed }
    node.on('request', (req) => {
      const got = this.received.get(req.id)
      if (got === undefined) return
      got.nodes.add(sn)
      if (req.hops > got.maxHops) got.maxHops = req.hops
      got.lastAt = sim.now
    })
    sim.nodes.push(sn)
    sim.byId.set(identity.id as PeerId, sn)
    return sn
  }
}

function pick<T extends object, K extends keyof T> (o: T, ...keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>
  for (const k of keys) out[k] = o[k]
  return out
}
