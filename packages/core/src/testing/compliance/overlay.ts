import type { HearsayNode, NodeEvents } from '../../node/node.js'

/**
 * Whether the running nodes among `nodes` form one overlay: one connected component of their
 * active views, taken as undirected edges. Stopped nodes are left out; none running counts as
 * connected.
 */
export function overlayConnected (nodes: HearsayNode[]): boolean {
  const alive = nodes.filter(n => n.status === 'running')
  if (alive.length === 0) return true
  const byId = new Map(alive.map(n => [n.id, n]))
  const seen = new Set([alive[0]!.id])
  const queue = [alive[0]!]
  while (queue.length > 0) {
    for (const id of queue.pop()!.overlay?.active ?? []) {
      const m = byId.get(id)
      if (m !== undefined && !seen.has(id)) { seen.add(id); queue.push(m) }
    }
  }
  return seen.size === alive.length
}

/**
 * Every node's active view, sorted, as one string: equal strings mean no view changed (tests
 * wait for it to hold still, and print it when something went wrong).
 */
export function viewsSignature (nodes: HearsayNode[]): string {
  return nodes.map(n => [...n.overlay?.active ?? []].sort().join(',')).join(';')
}

/** `node`'s non-zero counters whose name starts with `prefix`, for failure messages and reports. */
export function countersWith (node: HearsayNode, prefix = 'drops.'): Record<string, number> {
  return Object.fromEntries(Object.entries(node.metrics.snapshot()).filter(([k, v]) => k.startsWith(prefix) && v !== 0))
}

/** Resolves with the next `event` of `node` that `match` accepts, or rejects after `ms`. */
export async function nextEvent<K extends keyof NodeEvents> (node: HearsayNode, event: K, match: (p: NodeEvents[K]) => boolean = () => true, ms = 10_000): Promise<NodeEvents[K]> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no matching ${String(event)} within ${ms} ms`)) }, ms)
    const off = node.on(event, (payload) => {
      if (!match(payload)) return
      clearTimeout(timer)
      off()
      resolve(payload)
    })
  })
}
