import type { Random } from '../../src/util/clock.js'
import { seededRandom } from '../../src/util/clock.js'
import type { HyParViewAction, HyParViewOptions } from '../../src/overlay/index.js'
import { HyParView } from '../../src/overlay/index.js'
import { sample } from '../../src/overlay/sample.js'

interface Link { reset: boolean }

/**
 * Runs many HyParView machines against each other, carrying out their actions synchronously
 * and in FIFO order, as a reliable in-order network with no latency would.
 */
export class HvNet {
  readonly nodes = new Map<string, HyParView>()
  readonly alive = new Set<string>()
  readonly random: Random
  readonly stats = { messages: 0, connects: 0, connectFailures: 0, disconnects: 0, noLink: 0 }
  private readonly links = new Map<string, Link>()
  private readonly queue: Array<() => void> = []

  constructor (seed: number, private readonly opts: Partial<HyParViewOptions> = {}) {
    this.random = seededRandom(seed)
  }

  static addr (id: string): string { return `mem:${id}` }

  add (id: string): HyParView {
    const hv = new HyParView({ ...this.opts, self: id, selfAddrs: [HvNet.addr(id)], random: seededRandom(this.nodes.size * 7919 + 1) })
    this.nodes.set(id, hv)
    this.alive.add(id)
    return hv
  }

  node (id: string): HyParView { return this.nodes.get(id)! }

  linked (a: string, b: string): boolean { return this.links.has(key(a, b)) }

  /** Feeds `actions` produced by `from` into the network and runs until quiet. */
  run (from: string, actions: HyParViewAction[]): void {
    this.apply(from, actions)
    this.settle()
  }

  settle (): void {
    let steps = 0
    while (this.queue.length > 0) {
      if (++steps > 5_000_000) throw new Error('network does not settle')
      this.queue.shift()!()
    }
  }

  kill (id: string): void {
    this.alive.delete(id)
    for (const [k, link] of [...this.links]) {
      const [a, b] = k.split('|') as [string, string]
      if (a !== id && b !== id) continue
      link.reset = true
      this.links.delete(k)
      const other = a === id ? b : a
      this.later(() => { if (this.alive.has(other)) this.apply(other, this.node(other).onLinkDown(id)) })
    }
  }

  tickAll (): void {
    for (const id of sample(this.random, this.alive, this.alive.size)) this.run(id, this.node(id).tick())
  }

  private later (fn: () => void): void { this.queue.push(fn) }

  private deliver (from: string, to: string, link: Link, msg: unknown): void {
    this.stats.messages++
    this.later(() => {
      if (link.reset || !this.alive.has(to)) return
      this.apply(to, this.node(to).onMessage(from, msg))
    })
  }

  private apply (from: string, actions: HyParViewAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send': {
          const link = this.links.get(key(from, a.to))
          if (link === undefined) { this.stats.noLink++; break }
          this.deliver(from, a.to, link, a.msg)
          break
        }
        case 'connect': {
          this.stats.connects++
          const peer = a.peer
          if (!this.alive.has(peer) || a.addrs[0] !== HvNet.addr(peer)) {
            this.stats.connectFailures++
            this.later(() => { if (this.alive.has(from)) this.apply(from, this.node(from).onConnectFailed(peer)) })
            break
          }
          let link = this.links.get(key(from, peer))
          const fresh = link === undefined
          if (link === undefined) {
            link = { reset: false }
            this.links.set(key(from, peer), link)
          }
          const l = link
          this.later(() => { if (!l.reset && this.alive.has(from)) this.apply(from, this.node(from).onLinkUp(peer, a.addrs, 'self')) })
          if (fresh) this.later(() => { if (!l.reset) this.apply(peer, this.node(peer).onLinkUp(from, [HvNet.addr(from)], 'remote')) })
          this.deliver(from, peer, l, a.msg)
          break
        }
        case 'disconnect': {
          const k = key(from, a.peer)
          const link = this.links.get(k)
          if (link === undefined) break
          this.stats.disconnects++
          if (a.msg !== undefined) this.deliver(from, a.peer, link, a.msg)
          this.links.delete(k)
          const peer = a.peer
          this.later(() => { if (!link.reset && this.alive.has(peer)) this.apply(peer, this.node(peer).onLinkDown(from)) })
          this.later(() => { if (!link.reset && this.alive.has(from)) this.apply(from, this.node(from).onLinkDown(peer)) })
          break
        }
        default: break
      }
    }
  }

  // ---- measurements ----

  activeSizes (): number[] { return [...this.alive].map((id) => this.node(id).activeView().size) }
  passiveSizes (): number[] { return [...this.alive].map((id) => this.node(id).passiveView().size) }

  /** Pairs (a, b) where b is in a's active view but not the other way round. */
  asymmetric (): Array<[string, string]> {
    const out: Array<[string, string]> = []
    for (const a of this.alive) {
      for (const b of this.node(a).activeView().keys()) {
        if (!this.alive.has(b) || !this.node(b).activeView().has(a)) out.push([a, b])
      }
    }
    return out
  }

  /** Size of the largest connected component of the active graph among live nodes. */
  largestComponent (): number {
    const seen = new Set<string>()
    let best = 0
    for (const start of this.alive) {
      if (seen.has(start)) continue
      let size = 0
      const stack = [start]
      seen.add(start)
      while (stack.length > 0) {
        const n = stack.pop()!
        size++
        for (const m of this.node(n).activeView().keys()) {
          if (this.alive.has(m) && !seen.has(m)) { seen.add(m); stack.push(m) }
        }
      }
      best = Math.max(best, size)
    }
    return best
  }
}

function key (a: string, b: string): string { return a < b ? `${a}|${b}` : `${b}|${a}` }
