import { seededRandom } from '@hearsay/core'

/**
 * The graph every system of the comparison connects: the same nodes and exactly the same
 * edges, so that deliveries/s measure the protocol stack and not a luckier overlay.
 */
export interface Topology {
  nodes: number
  seed: number
  /** Undirected edges `[a, b]` with `a < b`; node `a` dials node `b`. */
  edges: Array<[number, number]>
  /** Neighbours of each node, ascending. */
  neighbors: number[][]
  degreeMin: number
  degreeMax: number
  degreeMean: number
  /** Longest shortest path, in hops. */
  diameter: number
}

export interface TopologyOptions {
  /** @default 4 */
  minDegree?: number
  /** @default 6 */
  maxDegree?: number
}

/**
 * A connected random graph whose degrees lie in [minDegree, maxDegree] (clamped to n − 1),
 * from a seed: a random ring first (so it is connected), then random chords between nodes
 * below their target degree (each node draws a target in the range).
 */
export function randomTopology (nodes: number, seed: number, opts: TopologyOptions = {}): Topology {
  if (!Number.isInteger(nodes) || nodes < 2) throw new TypeError('nodes must be an integer ≥ 2')
  const hi = Math.min(opts.maxDegree ?? 6, nodes - 1)
  const lo = Math.min(opts.minDegree ?? 4, hi)
  const rnd = seededRandom(seed)
  const int = (n: number): number => Math.floor(rnd.float() * n)
  const adj = Array.from({ length: nodes }, () => new Set<number>())
  const link = (a: number, b: number): void => { adj[a]!.add(b); adj[b]!.add(a) }
  const order = Array.from({ length: nodes }, (_, i) => i)
  for (let i = nodes - 1; i > 0; i--) { const j = int(i + 1); [order[i], order[j]] = [order[j]!, order[i]!] }
  if (nodes === 2) link(0, 1)
  else for (let i = 0; i < nodes; i++) link(order[i]!, order[(i + 1) % nodes]!)
  const target = Array.from({ length: nodes }, () => lo + int(hi - lo + 1))
  // chords: first to lift every node to the lower bound, then towards each node's own target
  const passes: Array<(i: number) => number> = [() => lo, (i) => target[i]!]
  for (const goal of passes) {
    for (let attempt = 0; attempt < nodes * nodes * 4; attempt++) {
      const want = order.filter(i => adj[i]!.size < goal(i))
      if (want.length === 0) break
      const a = want[int(want.length)]!
      const pool = order.filter(b => b !== a && !adj[a]!.has(b) && adj[b]!.size < hi)
      if (pool.length === 0) continue
      link(a, pool[int(pool.length)]!)
    }
  }
  const neighbors = adj.map(s => [...s].sort((x, y) => x - y))
  const edges: Array<[number, number]> = []
  for (let a = 0; a < nodes; a++) for (const b of neighbors[a]!) if (a < b) edges.push([a, b])
  const degrees = neighbors.map(n => n.length)
  return {
    nodes,
    seed,
    edges,
    neighbors,
    degreeMin: Math.min(...degrees),
    degreeMax: Math.max(...degrees),
    degreeMean: degrees.reduce((x, y) => x + y, 0) / nodes,
    diameter: diameterOf(neighbors)
  }
}

function diameterOf (neighbors: number[][]): number {
  let worst = 0
  for (let s = 0; s < neighbors.length; s++) {
    const dist = new Array<number>(neighbors.length).fill(-1)
    dist[s] = 0
    const queue = [s]
    for (let q = 0; q < queue.length; q++) {
      const u = queue[q]!
      for (const v of neighbors[u]!) if (dist[v] === -1) { dist[v] = dist[u]! + 1; queue.push(v) }
    }
    for (const d of dist) worst = Math.max(worst, d === -1 ? Infinity : d)
  }
  return worst
}
