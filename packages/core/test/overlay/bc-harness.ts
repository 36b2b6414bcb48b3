import type { Random } from '../../src/util/clock.js'
import type { BroadcastResult, Broadcaster } from '../../src/overlay/index.js'

/**
 * A static graph of broadcasters with synchronous FIFO delivery and a fake clock advanced in
 * fixed steps, calling every node's `tick` at each step.
 */
export class BcNet<M extends { t: string }> {
  readonly nodes = new Map<string, Broadcaster<M>>()
  readonly edges = new Set<string>()
  now = 0
  /** Messages sent since the last `resetCounts`, by type. */
  sent: Record<string, number> = {}
  readonly delivered = new Map<string, Map<string, number>>()
  /** Most hops a delivery of each message travelled. */
  readonly maxHops = new Map<string, number>()
  private readonly queue: Array<() => void> = []

  constructor (ids: string[], make: (id: string) => Broadcaster<M>, readonly stepMs = 50) {
    for (const id of ids) this.nodes.set(id, make(id))
  }

  node (id: string): Broadcaster<M> { return this.nodes.get(id)! }

  connect (a: string, b: string): void {
    if (a === b || this.edges.has(key(a, b))) return
    this.edges.add(key(a, b))
    this.node(a).neighborUp(b)
    this.node(b).neighborUp(a)
  }

  cut (a: string, b: string): void {
    this.edges.delete(key(a, b))
    this.node(a).neighborDown(b)
    this.node(b).neighborDown(a)
  }

  neighbors (a: string): string[] {
    return [...this.nodes.keys()].filter((b) => this.edges.has(key(a, b)))
  }

  resetCounts (): void { this.sent = {} }

  total (): number { return Object.values(this.sent).reduce((a, b) => a + b, 0) }

  /** Broadcasts from `origin`, then runs the clock until no node has timed work left. */
  broadcast (origin: string, id: string, limit = 32): void {
    this.apply(origin, this.node(origin).broadcast(id, { from: origin, id }, limit, this.now))
    this.settle()
    this.runClock()
  }

  /** Broadcasts from `origin` and delivers everything that follows at once, without moving the clock. */
  send (origin: string, id: string, limit = 32): void {
    this.apply(origin, this.node(origin).broadcast(id, { from: origin, id }, limit, this.now))
    this.settle()
  }

  /** Advances the clock by `ms` in steps, ticking every node, for broadcasters that always have timed work. */
  runFor (ms: number): void {
    for (const end = this.now + ms; this.now < end;) {
      this.now += this.stepMs
      for (const [id, n] of this.nodes) this.apply(id, n.tick(this.now))
      this.settle()
    }
  }

  runClock (maxSteps = 400): void {
    for (let i = 0; i < maxSteps; i++) {
      const busy = [...this.nodes.values()].some((n) => 'nextTickAt' in n && (n as { nextTickAt: () => number | undefined }).nextTickAt() !== undefined)
      if (!busy) return
      this.now += this.stepMs
      for (const [id, n] of this.nodes) this.apply(id, n.tick(this.now))
      this.settle()
    }
    throw new Error('clock does not settle')
  }

  /** Shortest hop counts from `from` to every node over the current edges. */
  distances (from: string): Map<string, number> {
    const dist = new Map([[from, 0]])
    const queue = [from]
    for (let i = 0; i < queue.length; i++) {
      const a = queue[i]!
      for (const b of this.neighbors(a)) if (!dist.has(b)) { dist.set(b, dist.get(a)! + 1); queue.push(b) }
    }
    return dist
  }

  reached (id: string): number { return (this.delivered.get(id)?.size ?? 0) }

  isConnected (): boolean {
    const ids = [...this.nodes.keys()]
    const seen = new Set([ids[0]!])
    const stack = [ids[0]!]
    while (stack.length > 0) {
      const a = stack.pop()!
      for (const b of this.neighbors(a)) if (!seen.has(b)) { seen.add(b); stack.push(b) }
    }
    return seen.size === ids.length
  }

  private settle (): void {
    let steps = 0
    while (this.queue.length > 0) {
      if (++steps > 10_000_000) throw new Error('network does not settle')
      this.queue.shift()!()
    }
  }

  private apply (from: string, r: BroadcastResult<M>): void {
    if (r.deliver !== undefined) {
      let d = this.delivered.get(r.deliver.id)
      if (d === undefined) this.delivered.set(r.deliver.id, d = new Map())
      d.set(from, (d.get(from) ?? 0) + 1)
      this.maxHops.set(r.deliver.id, Math.max(this.maxHops.get(r.deliver.id) ?? 0, r.deliver.hops))
    }
    for (const a of r.actions) {
      if (!this.edges.has(key(from, a.to))) continue
      this.sent[a.msg.t] = (this.sent[a.msg.t] ?? 0) + 1
      const k = key(from, a.to)
      this.queue.push(() => {
        if (this.edges.has(k)) this.apply(a.to, this.node(a.to).onMessage(from, a.msg, this.now))
      })
    }
  }
}

/** A ring plus `chords` random extra edges per node: connected, degree ≈ 2 + 2 × chords. */
export function ringWithChords<M extends { t: string }> (net: BcNet<M>, random: Random, chords: number): void {
  const ids = [...net.nodes.keys()]
  for (let i = 0; i < ids.length; i++) net.connect(ids[i]!, ids[(i + 1) % ids.length]!)
  for (const a of ids) {
    for (let c = 0; c < chords; c++) net.connect(a, ids[Math.floor(random.float() * ids.length)]!)
  }
}

function key (a: string, b: string): string { return a < b ? `${a}|${b}` : `${b}|${a}` }
