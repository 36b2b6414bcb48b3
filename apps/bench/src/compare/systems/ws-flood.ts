import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import type { BenchSystem, SystemHandle, SystemStartOptions } from '../system.js'
import { waitFor } from '../system.js'

/** Message ids each naive node remembers (a ring): far more than are in flight at once. */
const SEEN_CAPACITY = 1 << 16

/**
 * The floor: raw `ws` sockets on the same edges, each node forwarding every new message to
 * every neighbour but the sender, deduplicated by the payload's sequence number. No crypto, no
 * envelope, no hop limit, no liveness: what any flood costs before it does anything else.
 */
export const wsFloodSystem: BenchSystem = {
  id: 'ws-flood',
  label: 'naive ws flood',
  description: 'raw ws sockets on the same edges; forward every unseen message (id = payload seq, ring of 65,536 ids) to all neighbours but the sender; no crypto, no framing beyond ws',
  start: async (opts) => await startWsFlood(opts)
}

class FloodNode {
  readonly sockets: WebSocket[] = []
  private readonly seen = new Set<number>()
  private readonly ring = new Int32Array(SEEN_CAPACITY).fill(-1)
  private ringAt = 0

  constructor (private readonly index: number, private readonly onDeliver: (node: number, payload: Uint8Array) => void) {}

  attach (socket: WebSocket): void {
    this.sockets.push(socket)
    socket.on('error', () => {})
    socket.on('message', (data: Buffer) => { this.receive(socket, data) })
  }

  publish (payload: Uint8Array): void {
    this.remember(seqOf(payload))
    for (const s of this.sockets) s.send(payload)
  }

  private receive (from: WebSocket, data: Buffer): void {
    if (data.length < 4 || !this.remember(seqOf(data))) return
    for (const s of this.sockets) if (s !== from) s.send(data)
    this.onDeliver(this.index, data)
  }

  /** False if `id` was seen already. Bounded: the oldest id is forgotten first. */
  private remember (id: number): boolean {
    if (this.seen.has(id)) return false
    const old = this.ring[this.ringAt]!
    if (old !== -1) this.seen.delete(old)
    this.ring[this.ringAt] = id
    this.ringAt = (this.ringAt + 1) % SEEN_CAPACITY
    this.seen.add(id)
    return true
  }
}

function seqOf (b: Uint8Array): number { return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) }

async function startWsFlood (opts: SystemStartOptions): Promise<SystemHandle> {
  const { topology: topo } = opts
  const servers: WebSocketServer[] = []
  const nodes = Array.from({ length: topo.nodes }, (_, i) => new FloodNode(i, opts.onDeliver))
  const stop = async (): Promise<void> => {
    for (const n of nodes) for (const s of n.sockets) s.terminate()
    await Promise.all(servers.map(async s => { await new Promise(resolve => { s.close(resolve) }) }))
  }
  try {
    for (let i = 0; i < topo.nodes; i++) {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
      servers.push(wss)
      await new Promise(resolve => wss.once('listening', resolve))
      wss.on('connection', (s) => { nodes[i]!.attach(s) })
    }
    await Promise.all(topo.edges.map(async ([a, b]) => {
      const ws = new WebSocket(`ws://127.0.0.1:${(servers[b]!.address() as AddressInfo).port}`)
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
      nodes[a]!.attach(ws)
    }))
    await waitFor(() => nodes.every((n, i) => n.sockets.length === topo.neighbors[i]!.length), opts.timeoutMs, 'every ws edge to open')
  } catch (err) {
    await stop()
    throw err
  }
  return {
    publish: (i, payload) => { nodes[i]!.publish(payload) },
    buffered: (i) => Math.max(0, ...nodes[i]!.sockets.map(s => s.bufferedAmount)),
    publishErrors: () => 0,
    stop
  }
}
