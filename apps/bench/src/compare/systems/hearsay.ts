import { createNode, secureChannel } from '@hearsay/core'
import type { HearsayNode, PeerId } from '@hearsay/core'
import { countersWith } from '@hearsay/core/compliance'
import { webSockets } from '@hearsay/transport-ws'
import type { BenchSystem, SystemHandle, SystemStartOptions } from '../system.js'
import { waitFor } from '../system.js'

const TYPE = 'bench'

/**
 * The overlay's membership, which the node keeps private. The bench asks it for exactly the
 * topology's edges (a high-priority NEIGHBOR request, which the far end always accepts) instead
 * of letting HyParView pick its own, so that every system runs on the same graph. The smoke
 * test fails if this internal moves.
 */
interface MembershipInternals {
  run: (actions: unknown[]) => void
  hv: { requestNeighbor: (peer: PeerId, addrs: string[], priority: 'high' | 'low') => unknown[] }
}

function membershipOf (node: HearsayNode): MembershipInternals {
  const m = (node as unknown as { membershipService?: MembershipInternals }).membershipService
  if (m === undefined || typeof m.run !== 'function' || typeof m.hv?.requestNeighbor !== 'function') {
    throw new Error('hearsay internals changed: HearsayNode.membershipService.hv.requestNeighbor is gone (apps/bench/src/compare/systems/hearsay.ts)')
  }
  return m
}

/**
 * hearsay nodes over ws with the secure channel, broadcasting with `node.broadcast`.
 * `coalesce: false` gives the channel without batches (the before of before/after).
 */
export function hearsaySystem (mode: 'flood' | 'plumtree', coalesce = true): BenchSystem {
  return {
    id: `hearsay-${mode}${coalesce ? '' : '-uncoalesced'}`,
    label: `hearsay (${mode}${coalesce ? '' : ', coalescing off'})`,
    description: `createNode() with the ws transport, secure channel (x25519 + ed25519 handshake, secretbox per ${coalesce ? 'frame, frames of one event-loop turn batched' : 'frame: secureChannel({ coalesce: false })'}), broadcast: '${mode}', node.broadcast() / node.route(); overlay links forced to the topology`,
    start: async (opts) => await startHearsay(mode, coalesce, opts)
  }
}

async function startHearsay (mode: 'flood' | 'plumtree', coalesce: boolean, opts: SystemStartOptions): Promise<SystemHandle> {
  const { topology: topo, onDeliver } = opts
  const nodes: HearsayNode[] = []
  const stop = async (): Promise<void> => {
    await Promise.allSettled(nodes.map(async n => { await n.stop() })) }
  try {
    for (let i = 0; i < topo.nodes; i++) {
      const node = createNode({
        transports: [webSockets()],
        listen: ['ws://127.0.0.1:0'],
        broadcast: mode,
        // the active view is the topology: never fill it up from elsewhere, never evict from it
        minPeers: Math.max(1, topo.degreeMin),
        maxPeers: topo.degreeMax + 2,
        announceLimit: Math.max(6, topo.diameter),
        ...(coalesce ? {} : { channel: secureChannel({ coalesce: false }) })
      })
      nodes.push(node)
      await node.start()
      node.route(TYPE, (msg) => { onDeliver(i, msg.data as Uint8Array) })
    }
    for (const [a, b] of topo.edges) {
      const m = membershipOf(nodes[a]!)
      m.run(m.hv.requestNeighbor(nodes[b]!.id, nodes[b]!.addresses, 'high'))
    }
    const expected = topo.neighbors.map(ns => new Set(ns.map(j => nodes[j]!.id)))
    const exact = (): boolean => nodes.every((n, i) => {
      const active = n.overlay?.active ?? []
      return active.length === expected[i]!.size && active.every(id => expected[i]!.has(id))
    })
    await waitFor(exact, opts.timeoutMs, 'the hearsay overlay to match the topology')
  } catch (err) {
    await stop()
    throw err
  }
  return {
    publish: (i, payload) => { nodes[i]!.broadcast(TYPE, payload) },
    buffered: (i) => {
      let most = 0
      for (const p of nodes[i]!.peers()) most = Math.max(most, p.link.conn.bufferedAmount)
      return most
    },
    publishErrors: () => 0,
    drops: () => {
      const sum: Record<string, number> = {}
      for (const n of nodes) for (const [k, v] of Object.entries(countersWith(n))) sum[k.slice(6)] = (sum[k.slice(6)] ?? 0) + v
      return sum
    },
    stop
  }
}
