/**
 * What the relay reports about itself: the JSON of `GET /status.json` (drawn by the status page),
 * the gauges of `GET /metrics` and the body of `GET /healthz`. Pure functions of a node-like
 * view, so tests can feed them plain objects.
 */
import type { PeerId } from '@hearsay/core'
import type { Gauge } from './prometheus.js'

/** The parts of a `HearsayNode` the reports read. */
export interface NodeView {
  readonly id: PeerId
  readonly status: string
  readonly addresses: string[]
  readonly clock: { now: () => number }
  readonly metrics: { snapshot: () => Record<string, number>, get: (name: string) => number }
  peers: () => Array<{ id: PeerId, address: string, direction: 'inbound' | 'outbound', connectedAt: number }>
  readonly overlay: { active: PeerId[], passive: PeerId[] } | undefined
}

/** Most peers and passive-view entries listed in one status report; the rest are only counted. */
export const MAX_LISTED = 500

export interface StatusPeer {
  id: PeerId
  address: string
  direction: 'inbound' | 'outbound'
  /** In HyParView's active view (an overlay neighbour); false for a plain link. */
  active: boolean
  /** Seconds since it connected. */
  connectedFor: number
}

export interface StatusReport {
  id: PeerId
  status: string
  addresses: string[]
  /** ISO 8601 time the relay started. */
  startedAt: string
  uptimeSeconds: number
  /** Connected peers, active-view members first, then by id; at most `MAX_LISTED`. */
  peers: StatusPeer[]
  /** Known but not connected: the passive view (ids), at most `MAX_LISTED`. */
  passive: PeerId[]
  /** How many were left out of `peers` and `passive`. */
  omitted: { peers: number, passive: number }
  /** Whether the overlay (HyParView) runs on this node. */
  overlay: boolean
  counters: {
    messagesIn: number
    messagesOut: number
    bytesIn: number
    bytesOut: number
    handshakeFailures: number
    /** Sum of every `drops.*` counter. */
    drops: number
  }
}

/** The status report. `started.at`: wall-clock ms since the epoch when the relay started; `started.clock`: the node clock then. */
export function statusReport (node: NodeView, started: { at: number, clock: number }): StatusReport {
  const now = node.clock.now()
  const active = new Set(node.overlay?.active ?? [])
  const connected = node.peers()
  const peers = connected
    .map((p): StatusPeer => ({
      id: p.id,
      address: p.address,
      direction: p.direction,
      active: active.has(p.id),
      connectedFor: round(Math.max(0, now - p.connectedAt) / 1000)
    }))
    .sort((a, b) => a.active !== b.active ? (a.active ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  const connectedIds = new Set(connected.map(p => p.id))
  const passive = (node.overlay?.passive ?? []).filter(id => !connectedIds.has(id)).sort()
  const snapshot = node.metrics.snapshot()
  let drops = 0
  for (const [name, value] of Object.entries(snapshot)) if (name.startsWith('drops.')) drops += value
  return {
    id: node.id,
    status: node.status,
    addresses: node.addresses,
    startedAt: new Date(started.at).toISOString(),
    uptimeSeconds: round(Math.max(0, now - started.clock) / 1000),
    peers: peers.slice(0, MAX_LISTED),
    passive: passive.slice(0, MAX_LISTED),
    omitted: { peers: Math.max(0, peers.length - MAX_LISTED), passive: Math.max(0, passive.length - MAX_LISTED) },
    overlay: node.overlay !== undefined,
    counters: {
      messagesIn: node.metrics.get('messages.in'),
      messagesOut: node.metrics.get('messages.out'),
      bytesIn: node.metrics.get('bytes.in'),
      bytesOut: node.metrics.get('bytes.out'),
      handshakeFailures: node.metrics.get('handshake.failures'),
      drops
    }
  }
}

/** The gauges `/metrics` adds to the node's counters. */
export function statusGauges (node: NodeView, started: { clock: number }): Gauge[] {
  return [
    { name: 'peers', help: 'Peers connected right now (overlay neighbours and plain links).', value: node.peers().length },
    { name: 'overlay_active_peers', help: "Peers in HyParView's active view.", value: node.overlay?.active.length ?? 0 },
    { name: 'overlay_passive_peers', help: "Peers in HyParView's passive view (known, not connected).", value: node.overlay?.passive.length ?? 0 },
    { name: 'uptime_seconds', help: 'Seconds since the relay started.', value: round(Math.max(0, node.clock.now() - started.clock) / 1000) },
    { name: 'info', help: 'The relay: its peer id as a label; always 1.', value: 1, labels: { id: node.id } }
  ]
}

export interface Health {
  status: 'ok' | 'stopping'
  id: PeerId
  peers: number
  uptimeSeconds: number
}

export function health (node: NodeView, started: { clock: number }, stopping: boolean): Health {
  return {
    status: stopping || node.status !== 'running' ? 'stopping' : 'ok',
    id: node.id,
    peers: node.peers().length,
    uptimeSeconds: round(Math.max(0, node.clock.now() - started.clock) / 1000)
  }
}

function round (n: number): number { return Math.round(n * 10) / 10 }
