import { makePayload, readPayload } from './payload.js'
import type { BenchSystem, SystemHandle } from './system.js'
import type { Topology } from './topology.js'

export interface DriverConfig {
  /** Bytes per message (16-byte header included). */
  payloadBytes: number
  /** Paced phase: messages per second, all publishers together (round robin). */
  pacedRate: number
  pacedMs: number
  saturatedMs: number
  /** Saturated phase: most messages in flight (published, not yet at every node) at once. */
  window: number
  /** Publisher backpressure: a node with more bytes than this queued on a link skips its turn. */
  highWaterBytes: number
  /** Warm-up messages per node before measuring (JIT, mesh, Plumtree's tree). */
  warmupPerNode: number
  /** A message not at every node after this long is given up (counted as lost). */
  lossAfterMs: number
  /** Setup (start + connect) limit. */
  setupTimeoutMs: number
}

export interface LatencySummary { samples: number, p50Ms: number, p90Ms: number, p99Ms: number, maxMs: number }

export interface PhaseResult {
  durationMs: number
  published: number
  /** Messages received by applications (each node counts once per message; publishers excluded). */
  deliveries: number
  /** published × (nodes − 1): what full delivery would be. */
  expectedDeliveries: number
  deliveryRatio: number
  duplicates: number
  latency: LatencySummary
}

export interface SaturatedResult extends PhaseResult {
  /** Deliveries inside the measured window, per second. */
  deliveriesPerSec: number
  /** Publishes per second (messages, not deliveries). */
  messagesPerSec: number
  /** process.cpuUsage() user + system over the window, seconds per 1,000 deliveries. */
  cpuSecPer1000: number
  /** CPU seconds used per wall second during the window (≤ cores). */
  cpuUtilisation: number
}

export interface SystemRun {
  system: string
  label: string
  description: string
  nodes: number
  edges: number
  payloadBytes: number
  setupMs: number
  warmupMs: number
  paced: PhaseResult & { rate: number }
  saturated: SaturatedResult
  publishErrors: number
  /** Deliveries of messages already given up (after `lossAfterMs`) or unknown. */
  lateDeliveries: number
  rss: { afterSetupBytes: number, peakBytes: number }
  heapUsedAfterBytes: number
  /** The system's drop counters over the whole run, summed over nodes (hearsay: GRAFT misses, duplicates, …). */
  drops?: Record<string, number>
}

interface InFlight { sentAt: number, origin: number, remaining: number, got: number }

/**
 * Drives one system on one topology: warm-up, a paced phase for latency, then a saturated phase
 * for throughput and CPU. Every figure comes from the same bookkeeping for every system: the
 * payload carries a sequence number and the send time, and deliveries are what the systems'
 * applications receive.
 */
export async function runSystem (system: BenchSystem, topo: Topology, cfg: DriverConfig): Promise<SystemRun> {
  const n = topo.nodes
  if (n > 31) throw new TypeError('the driver tracks deliveries in a 31-bit mask: at most 31 nodes')
  const inflight = new Map<number, InFlight>()
  let seq = 0
  let deliveries = 0
  let duplicates = 0
  let late = 0
  let latencies: number[] | undefined
  const onDeliver = (node: number, payload: Uint8Array): void => {
    const h = readPayload(payload)
    const m = h === undefined ? undefined : inflight.get(h.seq)
    if (m === undefined || h === undefined) { late++; return }
    const bit = 1 << node
    if ((m.got & bit) !== 0 || node === m.origin) { duplicates++; return }
    m.got |= bit
    deliveries++
    latencies?.push(performance.now() - h.sentAt)
    if (--m.remaining === 0) inflight.delete(h.seq)
  }
  let rssPeak = process.memoryUsage.rss()
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage.rss()) }, 100)
  const t0 = performance.now()
  let handle: SystemHandle | undefined
  try {
    handle = await system.start({ topology: topo, onDeliver, timeoutMs: cfg.setupTimeoutMs })
    const sys = handle
    const setupMs = performance.now() - t0
    const rssAfterSetup = process.memoryUsage.rss()
    let publishFailures = 0
    const publish = (origin: number): void => {
      const s = seq++
      const now = performance.now()
      inflight.set(s, { sentAt: now, origin, remaining: n - 1, got: 0 })
      try { sys.publish(origin, makePayload(cfg.payloadBytes, s, origin, now)) } catch { publishFailures++; inflight.delete(s) }
    }
    const expire = (): void => {
      const cutoff = performance.now() - cfg.lossAfterMs
      for (const [k, m] of inflight) {
        if (m.sentAt > cutoff) break
        inflight.delete(k)
      }
    }
    const settle = async (timeoutMs: number): Promise<void> => {
      const until = performance.now() + timeoutMs
      while (inflight.size > 0 && performance.now() < until) await sleep(5)
      expire()
    }

    // warm-up: every node publishes, until a round arrives everywhere (meshes form, JIT warms)
    const tw = performance.now()
    for (let r = 0; r < cfg.warmupPerNode; r++) {
      for (let i = 0; i < n; i++) publish(i)
      await settle(cfg.lossAfterMs)
      await sleep(10)
    }
    const warmupMs = performance.now() - tw

    // paced: fixed rate, round-robin publishers, latency of every delivery
    const phase = (): { d0: number, dup0: number, s0: number } => ({ d0: deliveries, dup0: duplicates, s0: seq })
    const summarize = (p: { d0: number, dup0: number, s0: number }, durationMs: number): PhaseResult => {
      const published = seq - p.s0
      const expected = published * (n - 1)
      return {
        durationMs,
        published,
        deliveries: deliveries - p.d0,
        expectedDeliveries: expected,
        deliveryRatio: expected === 0 ? 0 : (deliveries - p.d0) / expected,
        duplicates: duplicates - p.dup0,
        latency: summary(latencies ?? [])
      }
    }
    let p = phase()
    latencies = []
    const interval = 1000 / cfg.pacedRate
    const tp = performance.now()
    for (let k = 0; performance.now() - tp < cfg.pacedMs; k++) {
      const due = tp + k * interval
      const wait = due - performance.now()
      if (wait > 0) await sleep(wait)
      publish(k % n)
    }
    const pacedMs = performance.now() - tp
    await settle(cfg.lossAfterMs)
    const paced = { ...summarize(p, pacedMs), rate: cfg.pacedRate }

    // saturated: keep `window` messages in flight, publishers in turn, for saturatedMs
    p = phase()
    latencies = []
    let next = 0
    const cpu0 = process.cpuUsage()
    const ts = performance.now()
    let inWindow = 0
    while (performance.now() - ts < cfg.saturatedMs) {
      expire()
      for (let tries = 0; inflight.size < cfg.window && tries < 4 * n; tries++) {
        const i = next
        next = (next + 1) % n
        if (sys.buffered(i) > cfg.highWaterBytes) continue
        publish(i)
      }
      await new Promise(resolve => setImmediate(resolve))
      inWindow = deliveries - p.d0
    }
    const satMs = performance.now() - ts
    const cpu = process.cpuUsage(cpu0)
    const cpuSec = (cpu.user + cpu.system) / 1e6
    await settle(cfg.lossAfterMs)
    const sat = summarize(p, satMs)
    const saturated: SaturatedResult = {
      ...sat,
      deliveriesPerSec: inWindow / (satMs / 1000),
      messagesPerSec: sat.published / (satMs / 1000),
      cpuSecPer1000: inWindow === 0 ? NaN : cpuSec / inWindow * 1000,
      cpuUtilisation: cpuSec / (satMs / 1000)
    }
    const heapUsedAfterBytes = process.memoryUsage().heapUsed
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss())
    return {
      system: system.id,
      label: system.label,
      description: system.description,
      nodes: n,
      edges: topo.edges.length,
      payloadBytes: cfg.payloadBytes,
      setupMs,
      warmupMs,
      paced,
      saturated,
      publishErrors: publishFailures + sys.publishErrors(),
      lateDeliveries: late,
      rss: { afterSetupBytes: rssAfterSetup, peakBytes: rssPeak },
      heapUsedAfterBytes,
      ...(sys.drops !== undefined ? { drops: sys.drops() } : {})
    }
  } finally {
    clearInterval(sampler)
    await handle?.stop()
  }
}

export function summary (xs: number[]): LatencySummary {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number): number => s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!
  return { samples: s.length, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: s.length === 0 ? NaN : s[s.length - 1]! }
}

async function sleep (ms: number): Promise<void> { await new Promise(resolve => setTimeout(resolve, ms)) }
