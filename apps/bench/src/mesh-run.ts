/**
 * The page mesh with real processes (issue 19): the relay CLI with its defaults (`--port 0`,
 * `--max-conns-per-ip 0` because every peer comes from 127.0.0.1), K worker processes
 * (mesh-worker.ts) each hosting N `hearsay` nodes that behave like pages (no listen address but
 * `webrtc:*` through node-datachannel, a ws client to the relay, signalled over the overlay),
 * plus a few Chromium pages (e2e/pages/mesh-peer.ts, driven through `MeshPageDriver`) joining
 * through the same relay. Measures:
 *
 * - overlay components over time (every peer's active view plus the relay's, from `/status.json`);
 * - time from each peer's `start()` to its first direct WebRTC link (median, p95);
 * - once the overlay is one component and every peer has a direct link: broadcasts from
 *   different peers (Node and page), delivered to every other peer or not;
 * - the relay's links, active view and bytes, and every drop counter summed over all nodes.
 *
 * Everything waits for events (worker reports over IPC, page polls, the relay's status), each
 * wait bounded. Every child is killed when the run ends, whatever happened. Runs inside a
 * network namespace (scripts/netns.mjs): WebRTC needs a non-loopback interface.
 */
import type { ChildProcess } from 'node:child_process'
import type { MeshPeerState, MeshWorkerCommand, MeshWorkerEvent } from './mesh-worker.js'
import { exited, forkChild, quantileOf, round, spawnRelay, within } from './procs.js'
import type { RelayProcess } from './procs.js'

/** A page seen from the run, whatever drives it (Playwright in the bench and in the e2e test). */
export interface MeshPageDriver {
  start: (seed: string) => Promise<{ id?: string, error?: string }>
  state: () => Promise<{ id: string, active: string[], firstDirectMs: number | null } | null>
  takeReceived: () => Promise<string[]>
  broadcast: (bid: string) => Promise<void>
  metrics: () => Promise<Record<string, number>>
  close: () => Promise<void>
}

export interface MeshOptions {
  /** Node peers (pages stand-ins) over all workers. @default 100 */
  peers?: number
  /** Worker processes. @default 4 */
  workers?: number
  /** Chromium pages (needs `openPage`). @default 0 */
  pages?: number
  /** Opens a fresh page with the mesh-peer bundle loaded. */
  openPage?: () => Promise<MeshPageDriver>
  /** Peers started per second in the join wave (pages are spread through it). @default 50 */
  joinRate?: number
  /** Broadcasts once the overlay is one component, each from another peer. @default 20 */
  broadcasts?: number
  /** Between two broadcasts, ms. @default 100 */
  spacingMs?: number
  /** Longest wait for one component with a direct link at every peer, ms. @default 120000 */
  settleTimeoutMs?: number
  /**
   * The settle wait also waits until the relay holds at most this many links (its steady state:
   * `--step-back-above`, 16 by default). @default no wait on the relay
   */
  relayLinksAtMost?: number
  /**
   * The settle wait waits for a direct link at every peer; false: at every Chromium page only
   * (the Node peers off the relay have direct links anyway once the overlay is one component).
   * @default true
   */
  everyPeerDirect?: boolean
  /** Longest wait for every broadcast to reach every peer, after the last was sent, ms. @default 15000 */
  deliveryTimeoutMs?: number
  /** More relay CLI flags. */
  extraRelayArgs?: string[]
  /** Between two component samples, ms. @default 1000 */
  sampleEveryMs?: number
  /**
   * Measure the relay's idle traffic over a quiet window as long as the broadcast phase before
   * it (for `bytesPerPageMessageNet`); off in the CI test, which asserts no byte count. @default true
   */
  quietWindow?: boolean
  log?: (line: string) => void
}

export interface MeshResult {
  peers: number
  workers: number
  pages: number
  /** From the first start() to the last peer started, ms. */
  waveMs: number
  /** [ms since the first start(), components, peers started, links the relay holds]. */
  components: Array<[number, number, number, number]>
  /** From the first start() to one component (every peer started), ms; null if never. */
  oneComponentMs: number | null
  /** From the last start() to one component, ms; null if never. */
  oneComponentAfterWaveMs: number | null
  /** From the first start() to the end of the settle wait (one component, direct links per `everyPeerDirect`, the relay at `relayLinksAtMost`), ms; null on timeout. */
  settledMs: number | null
  /** From start() to the first webrtc: link, ms. */
  firstDirect: { median: number, p95: number, max: number, missing: number, pagesWithout: number }
  broadcasts: {
    sent: number
    fromPages: number
    /** Receipts / (sent × (peers − 1)). */
    delivery: number
    /** Broadcasts that reached every other peer. */
    complete: number
    /** The fewest peers one broadcast reached. */
    minReached: number
    /** From the first send to the last receipt, ms. */
    ms: number
  }
  relay: {
    /** Links the relay held after the broadcasts. */
    links: number
    /** Of those, in its active view. */
    active: number
    /** Relay bytes (in + out) during the broadcast phase per page-message delivered. */
    bytesPerPageMessage: number
    /** The same over a quiet window as long as the broadcast phase, subtracted. */
    bytesPerPageMessageNet: number
  }
  /** The peers outside the largest component at the end of the settle wait: active view size (-1: no state yet), ever a direct link, in the relay's active view. */
  stragglers: Array<{ key: string, active: number, direct: boolean, onRelay: boolean }>
  /** Peers that missed broadcasts: how many, and their active views as last seen (`(one-sided)`: that neighbour does not list them). */
  missed: Array<{ key: string, broadcasts: number, active: string[] }>
  /** Every `drops.*` and HyParView drop over all peers and the relay, plus dial and signal counters. */
  counters: Record<string, number>
  pass: { oneComponent: boolean, delivery: boolean, firstDirect: boolean, settled: boolean }
}

interface Worker { proc: ChildProcess, base: number, count: number }

interface RelayStatus { peers: Array<{ id: string, active: boolean }>, counters: { bytesIn: number, bytesOut: number } }

/** Per-address caps of the relay lifted: every peer of the run comes from 127.0.0.1. */
export const MESH_RELAY_ARGS = ['--port', '0', '--data', ':memory:', '--max-conns-per-ip', '0', '--max-pending-handshakes-per-ip', '0']

/** Components of the undirected graph of active views, largest first. */
export function componentsOf (nodes: Iterable<string>, edges: Iterable<[string, string]>): string[][] {
  const parent = new Map<string, string>()
  for (const n of nodes) parent.set(n, n)
  const find = (x: string): string => {
    let r = x
    while (parent.get(r) !== r) r = parent.get(r)!
    let c = x
    while (parent.get(c) !== r) { const next = parent.get(c)!; parent.set(c, r); c = next }
    return r
  }
  for (const [a, b] of edges) {
    if (!parent.has(a) || !parent.has(b)) continue
    const ra = find(a)
    const rb = find(b)
    if (ra !== rb) parent.set(ra, rb)
  }
  const groups = new Map<string, string[]>()
  for (const k of parent.keys()) {
    const r = find(k)
    let g = groups.get(r)
    if (g === undefined) groups.set(r, g = [])
    g.push(k)
  }
  return [...groups.values()].sort((a, b) => b.length - a.length)
}

const COUNTER_PREFIXES = ['drops.', 'overlay.', 'dials.', 'rtc.', 'handshake.', 'diag.', 'refused.', 'throttle.', 'links.', 'bans.']

function addCounters (into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) {
    if (v === 0 || !COUNTER_PREFIXES.some(p => k.startsWith(p))) continue
    into[k] = (into[k] ?? 0) + v
  }
}

export async function runMesh (opts: MeshOptions = {}): Promise<MeshResult> {
  const peerCount = opts.peers ?? 100
  const workerCount = Math.max(1, Math.min(opts.workers ?? 4, peerCount))
  const pageCount = opts.pages ?? 0
  if (pageCount > 0 && opts.openPage === undefined) throw new TypeError('pages need openPage')
  const joinRate = opts.joinRate ?? 50
  const broadcastCount = opts.broadcasts ?? 20
  const spacingMs = opts.spacingMs ?? 100
  const settleTimeoutMs = opts.settleTimeoutMs ?? 120_000
  const deliveryTimeoutMs = opts.deliveryTimeoutMs ?? 15_000
  const sampleEveryMs = opts.sampleEveryMs ?? 1000
  const log = opts.log ?? (() => {})
  const total = peerCount + pageCount

  let relay: RelayProcess | undefined
  const workers: Worker[] = []
  const pages: MeshPageDriver[] = []
  const timers = new Set<ReturnType<typeof setTimeout>>()
  try {
    relay = await spawnRelay([...MESH_RELAY_ARGS, ...(opts.extraRelayArgs ?? [])])
    const r = relay
    log(`relay ${r.ws} (${r.id.slice(0, 8)})`)
    const relayStatus = async (): Promise<RelayStatus> => {
      const res = await fetch(`${r.http}/status.json`, { signal: AbortSignal.timeout(10_000) })
      return await res.json() as RelayStatus
    }

    // global peer index g: Node peers 0…peerCount-1 over the workers, pages after them; the
    // join wave starts peer k of the wave order at k / joinRate s, pages spread evenly through it
    const order: Array<{ kind: 'node', g: number } | { kind: 'page', p: number }> = []
    for (let g = 0; g < peerCount; g++) order.push({ kind: 'node', g })
    for (let p = 0; p < pageCount; p++) order.splice(Math.round((p + 1) * order.length / (pageCount + 1)), 0, { kind: 'page', p })
    const startAt = new Map<string, number>()
    order.forEach((o, k) => { startAt.set(o.kind === 'node' ? `n${o.g}` : `p${o.p}`, Math.round(k * 1000 / joinRate)) })
    const waveMs = Math.round((order.length - 1) * 1000 / joinRate)

    // state of every peer, by key (n<g> / p<p>)
    const ids = new Map<string, string>()
    const state = new Map<string, { active: string[], firstDirectMs: number | null }>()
    const receivedBy = new Map<string, Set<string>>() // bid → ids that got it
    let changed: () => void = () => {}
    const errors: string[] = []

    const readies: Array<Promise<void>> = []
    const per = Math.ceil(peerCount / workerCount)
    for (let w = 0; w < workerCount; w++) {
      const base = w * per
      const count = Math.min(per, peerCount - base)
      if (count <= 0) break
      const proc = forkChild('mesh-worker.js', [r.ws])
      const worker: Worker = { proc, base, count }
      workers.push(worker)
      readies.push(new Promise<void>((resolve, reject) => {
        proc.on('message', (e: MeshWorkerEvent) => { if (e.ev === 'ready') resolve() })
        proc.once('exit', (code) => { reject(new Error(`worker ${w} exited (${code}) before it was ready`)) })
      }))
      proc.on('message', (e: MeshWorkerEvent) => {
        if (e.ev === 'peer') ids.set(`n${base + e.i}`, e.id)
        else if (e.ev === 'state') for (const s of e.nodes) { ids.set(`n${base + s.i}`, s.id); state.set(`n${base + s.i}`, s) }
        else if (e.ev === 'received') for (const [i, bid] of e.bids) got(bid, `n${base + i}`)
        else if (e.ev === 'error') { errors.push(e.message); log(`worker ${w}: ${e.message}`) }
        changed()
      })
    }
    /** One Node peer's status, links and counters, as JSON for the log. */
    const inspect = async (key: string): Promise<string> => {
      const g = Number(key.slice(1))
      const w = workers.find(y => g >= y.base && g < y.base + y.count)
      if (w === undefined) return 'no such peer'
      const answer = new Promise<MeshWorkerEvent>((resolve) => {
        const on = (e: MeshWorkerEvent): void => { if (e.ev === 'inspect' && e.i === g - w.base) { w.proc.off('message', on); resolve(e) } }
        w.proc.on('message', on)
      })
      w.proc.send({ cmd: 'inspect', i: g - w.base } satisfies MeshWorkerCommand)
      return await within(answer, 10_000, 'a worker to inspect a node').then(e => JSON.stringify(e), (err: unknown) => String(err))
    }
    const got = (bid: string, key: string): void => {
      let s = receivedBy.get(bid)
      if (s === undefined) receivedBy.set(bid, s = new Set())
      s.add(key)
    }

    await within(Promise.all(readies), 60_000, 'the workers to load')
    // pages are opened before the wave too (a page load is not part of the join)
    for (let p = 0; p < pageCount; p++) pages.push(await opts.openPage!())

    const t0 = performance.now()
    const since = (): number => Math.round(performance.now() - t0)
    for (const w of workers) {
      const at: number[] = []
      for (let i = 0; i < w.count; i++) at.push(startAt.get(`n${w.base + i}`)!)
      w.proc.send({ cmd: 'start', at } satisfies MeshWorkerCommand)
    }
    // pages start on their turn in the wave
    const pageStarts: Array<Promise<void>> = []
    for (let p = 0; p < pageCount; p++) {
      const page = pages[p]!
      const delay = Math.max(0, startAt.get(`p${p}`)! - since())
      pageStarts.push(new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t)
          page.start(r.ws).then((s) => {
            if (s.id !== undefined) ids.set(`p${p}`, s.id)
            else errors.push(`page ${p} did not start: ${s.error ?? '?'}`)
          }, (err: unknown) => { errors.push(`page ${p}: ${String(err)}`) }).finally(resolve)
        }, delay)
        timers.add(t)
      }))
    }

    let relayActive: string[] = []
    let relayLinks = 0
    const pollPages = async (): Promise<void> => {
      await Promise.all(pages.map(async (page, p) => {
        const s = await page.state()
        if (s !== null) { ids.set(`p${p}`, s.id); state.set(`p${p}`, s) }
        for (const bid of await page.takeReceived()) got(bid, `p${p}`)
      }))
    }
    const groups = (): string[][] => {
      const nodes = [r.id, ...ids.values()]
      const edges: Array<[string, string]> = relayActive.map(id => [r.id, id])
      for (const [key, s] of state) { const id = ids.get(key); if (id !== undefined) for (const a of s.active) edges.push([id, a]) }
      return componentsOf(nodes, edges)
    }
    // the peers outside the largest component, as the run ends its settle wait
    const stragglersOf = (gs: string[][]): MeshResult['stragglers'] => {
      const keyOf = new Map([...ids].map(([k, id]) => [id, k]))
      return gs.slice(1).flat().map((id) => {
        const key = keyOf.get(id) ?? (id === r.id ? 'relay' : id)
        const s = state.get(key)
        return { key, active: s?.active.length ?? -1, direct: s?.firstDirectMs != null, onRelay: relayActive.includes(id) }
      })
    }
    let stragglers: MeshResult['stragglers'] = []
    // views of every node by id (the relay's too), for one-sided entries: a lists b, b not a
    const viewsById = (): Map<string, Set<string>> => {
      const m = new Map<string, Set<string>>([[r.id, new Set(relayActive)]])
      for (const [key, s] of state) { const id = ids.get(key); if (id !== undefined) m.set(id, new Set(s.active)) }
      return m
    }
    const oneSided = (): Array<[string, string]> => {
      const out: Array<[string, string]> = []
      const views = viewsById()
      for (const [a, v] of views) for (const b of v) if (views.get(b)?.has(a) === false) out.push([a, b])
      return out
    }
    const mustBeDirect = (k: string): boolean => (opts.everyPeerDirect ?? true) || k.startsWith('p')
    const firstDirectAll = (): boolean => ids.size === total && [...ids.keys()].every(k => !mustBeDirect(k) || state.get(k)?.firstDirectMs != null)

    // settle: sample every sampleEveryMs (pages and the relay are polled, workers push) until
    // every peer started, the overlay is one component, every peer has a direct link and the
    // relay holds at most relayLinksAtMost links
    const series: Array<[number, number, number, number]> = []
    let oneComponentMs: number | null = null
    let settledMs: number | null = null
    const settleDeadline = performance.now() + settleTimeoutMs
    const relayCap = opts.relayLinksAtMost ?? Number.POSITIVE_INFINITY
    for (;;) {
      await pollPages()
      const status = await relayStatus()
      relayActive = status.peers.filter(p => p.active).map(p => p.id)
      relayLinks = status.peers.length
      const gs = groups()
      const c = gs.length
      stragglers = stragglersOf(gs)
      series.push([since(), c, ids.size, relayLinks])
      const lopsided = oneSided().length
      log(`t=${(since() / 1000).toFixed(1)} s: ${ids.size}/${total} started, ${c} component(s), ${[...state.values()].filter(s => s.firstDirectMs !== null).length} with a direct link, relay links ${relayLinks} (active ${relayActive.length}), ${lopsided} one-sided view entries${c > 1 && stragglers.length <= 8 ? `; outside the largest: ${stragglers.map(x => `${x.key} (active ${x.active}${x.direct ? ', direct' : ''}${x.onRelay ? ', on the relay' : ''})`).join(', ')}` : ''}`)
      if (c === 1 && ids.size === total && oneComponentMs === null) oneComponentMs = since()
      if (c === 1 && ids.size === total && firstDirectAll() && relayLinks <= relayCap) { settledMs = since(); break }
      if (performance.now() > settleDeadline) { log(`settle timeout; outside the largest component: ${JSON.stringify(stragglers)}`); break }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { timers.delete(t); changed = () => {}; resolve() }, sampleEveryMs)
        timers.add(t)
      })
    }
    await Promise.all(pageStarts)
    // a Node peer still outside the largest component: its own counters, for the log
    for (const x of stragglers.filter(x => x.key.startsWith('n')).slice(0, 3)) log(`${x.key}: ${await inspect(x.key)}`)

    // a quiet window as long as the broadcast phase will be, for the relay's idle traffic
    const phaseMs = broadcastCount * spacingMs
    let quietBytesPerMs = 0
    if (opts.quietWindow ?? true) {
      const quiet0 = await relayStatus()
      const quietStart = performance.now()
      await new Promise<void>((resolve) => { const t = setTimeout(() => { timers.delete(t); resolve() }, Math.max(1000, phaseMs)); timers.add(t) })
      const quiet1 = await relayStatus()
      quietBytesPerMs = ((quiet1.counters.bytesIn + quiet1.counters.bytesOut) - (quiet0.counters.bytesIn + quiet0.counters.bytesOut)) / (performance.now() - quietStart)
    }

    // broadcasts: from peers spread over the workers, every fourth from a page when there are pages
    const senders: string[] = []
    const nodeKeys = [...Array(peerCount).keys()].map(g => `n${g}`)
    for (let k = 0; k < broadcastCount; k++) {
      if (pageCount > 0 && k % 4 === 1) senders.push(`p${Math.floor(k / 4) % pageCount}`)
      else senders.push(nodeKeys[Math.floor((k * 7919) % peerCount)]!)
    }
    const b0 = await relayStatus()
    const bStart = performance.now()
    const bids: string[] = []
    for (let k = 0; k < broadcastCount; k++) {
      const key = senders[k]!
      const bid = `b${k}-${key}`
      bids.push(bid)
      got(bid, key) // the sender has it
      if (key.startsWith('p')) await pages[Number(key.slice(1))]!.broadcast(bid)
      else {
        const g = Number(key.slice(1))
        const w = workers.find(x => g >= x.base && g < x.base + x.count)!
        w.proc.send({ cmd: 'broadcast', i: g - w.base, bid } satisfies MeshWorkerCommand)
      }
      if (k < broadcastCount - 1) await new Promise<void>((resolve) => { const t = setTimeout(() => { timers.delete(t); resolve() }, spacingMs); timers.add(t) })
    }
    const allDelivered = (): boolean => bids.every(b => (receivedBy.get(b)?.size ?? 0) >= total)
    const deliveryDeadline = performance.now() + deliveryTimeoutMs
    let lastReceipt = performance.now()
    let seen = 0
    while (!allDelivered() && performance.now() < deliveryDeadline) {
      // workers push their receipts; pages are polled
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { timers.delete(t); changed = () => {}; resolve() }, 200)
        timers.add(t)
        changed = () => { if (allDelivered()) { clearTimeout(t); timers.delete(t); changed = () => {}; resolve() } }
      })
      await pollPages()
      const n = bids.reduce((a, b) => a + (receivedBy.get(b)?.size ?? 0), 0)
      if (n > seen) { seen = n; lastReceipt = performance.now() }
    }
    await pollPages()
    const bMs = Math.round(lastReceipt - bStart)
    const b1 = await relayStatus()
    relayActive = b1.peers.filter(p => p.active).map(p => p.id)
    const reached = bids.map(b => receivedBy.get(b)?.size ?? 0)
    // who missed what, with their views as the run saw them last
    const keyOfId = new Map([...ids].map(([k, id]) => [id, k]))
    const missed: MeshResult['missed'] = []
    for (const key of ids.keys()) {
      const n = bids.filter(b => receivedBy.get(b)?.has(key) !== true).length
      if (n === 0) continue
      const views = viewsById()
      const id = ids.get(key)!
      const active = [...(views.get(id) ?? [])].map(a => `${keyOfId.get(a) ?? (a === r.id ? 'relay' : a.slice(0, 8))}${views.get(a)?.has(id) === false ? '(one-sided)' : ''}`)
      missed.push({ key, broadcasts: n, active })
    }
    for (const x of missed.filter(x => x.key.startsWith('n')).slice(0, 3)) log(`${x.key}: ${await inspect(x.key)}`)
    if (missed.length > 0) log(`missed: ${JSON.stringify(missed.slice(0, 30))}; one-sided view entries ${JSON.stringify(oneSided().map(([a, b]) => [keyOfId.get(a) ?? 'relay', keyOfId.get(b) ?? 'relay']).slice(0, 30))}`)
    const receipts = reached.reduce((a, b) => a + b - 1, 0)
    const bytes = (b1.counters.bytesIn + b1.counters.bytesOut) - (b0.counters.bytesIn + b0.counters.bytesOut)
    const bPhase = performance.now() - bStart
    const pageMessages = Math.max(1, receipts)

    // counters: workers, pages, relay
    const counters: Record<string, number> = {}
    const sums = await Promise.all(workers.map(async (w) => {
      const answer = new Promise<Record<string, number>>((resolve) => {
        const on = (e: MeshWorkerEvent): void => { if (e.ev === 'metrics') { w.proc.off('message', on); resolve(e.sum) } }
        w.proc.on('message', on)
      })
      w.proc.send({ cmd: 'metrics' } satisfies MeshWorkerCommand)
      return await within(answer, 10_000, 'worker metrics')
    }))
    for (const s of sums) addCounters(counters, s)
    for (const page of pages) addCounters(counters, await page.metrics())
    const relayCounters = await r.metrics()
    addCounters(counters, relayCounters)
    if (process.env.MESH_DIAG === '1') {
      // the relay's own admission and handshake counters (the sums above mix them with the peers')
      for (const [k, v] of Object.entries(relayCounters)) if (v !== 0 && /^(handshake|refused|connections|links|peers|throttle)[._]/.test(k)) counters[`diag.relay ${k}`] = v
      // the relay's event-loop delay since it started (relay-probe.ts) and its CPU time
      const m = await relay.memory()
      counters['diag.relay loop delay p99 ms'] = Math.round(m.loopDelayMs?.p99 ?? -1)
      counters['diag.relay loop delay max ms'] = Math.round(m.loopDelayMs?.max ?? -1)
      counters['diag.relay cpu s'] = Math.round((m.cpu.user + m.cpu.system) / 1e5) / 10
    }
    if (errors.length > 0) counters.errors = errors.length

    const firsts = [...state.values()].map(s => s.firstDirectMs).filter((x): x is number => x !== null).sort((a, b) => a - b)
    const oneComponentAfterWaveMs = oneComponentMs === null ? null : Math.max(0, oneComponentMs - waveMs)
    const result: MeshResult = {
      peers: peerCount,
      workers: workers.length,
      pages: pageCount,
      waveMs,
      components: series,
      oneComponentMs,
      oneComponentAfterWaveMs,
      settledMs,
      firstDirect: { median: round(quantileOf(firsts, 0.5), 0), p95: round(quantileOf(firsts, 0.95), 0), max: round(firsts.at(-1) ?? Number.NaN, 0), missing: total - firsts.length, pagesWithout: pages.filter((_, p) => state.get(`p${p}`)?.firstDirectMs == null).length },
      broadcasts: {
        sent: bids.length,
        fromPages: senders.filter(s => s.startsWith('p')).length,
        delivery: round(receipts / (bids.length * (total - 1)), 4),
        complete: reached.filter(n => n >= total).length,
        minReached: Math.min(...reached) - 1,
        ms: bMs
      },
      relay: {
        links: b1.peers.length,
        active: b1.peers.filter(p => p.active).length,
        bytesPerPageMessage: round(bytes / pageMessages, 1),
        bytesPerPageMessageNet: round((bytes - quietBytesPerMs * bPhase) / pageMessages, 1)
      },
      stragglers,
      missed,
      counters,
      pass: { oneComponent: oneComponentMs !== null, delivery: receipts === bids.length * (total - 1), firstDirect: firsts.length === total, settled: settledMs !== null }
    }
    if (errors.length > 0) log(`errors: ${errors.slice(0, 5).join('; ')}`)
    return result
  } finally {
    for (const t of timers) clearTimeout(t)
    await Promise.all(pages.map(async p => { await p.close().catch(() => {}) }))
    await Promise.all(workers.map(async (w) => {
      if (w.proc.connected) w.proc.send({ cmd: 'stop' } satisfies MeshWorkerCommand)
      await within(exited(w.proc), 15_000, 'a worker to stop').catch(() => { w.proc.kill('SIGKILL') })
    }))
    await relay?.stop()
  }
}

export type { MeshPeerState }
