/**
 * One peer of the mixed-NAT mesh bench (nat-mesh.ts), run in a host namespace of nat-topology.ts:
 * a hearsay node with no listen address but `webrtc:*` (node-datachannel) and the relay as its only
 * seed, the full SDK's defaults (overlay, signalling over the overlay, ICE servers offered by the
 * relay). Driven by JSON lines on stdin; answers are JSON lines on stdout.
 *   argv[2]: JSON { seeds: string[], connectTimeout: number }
 *   { op: 'state', id } → { id, neighbours: [{ peer, pair }], firstWebrtcMs, firstDirectMs }
 *     (the overlay's active view without the relay, each with the selected candidate pair of its
 *     WebRTC link, or null if it has none; ms from start() to the first WebRTC link and to the
 *     first one whose pair is not TURN)
 *   { op: 'dial', id, to, timeout } → { id, ok, ms, pair, error, existing } (a link the overlay
 *     made already is reported as it is; a new one is hung up once measured)
 */
import { createInterface } from 'node:readline'
import { createNode, memoryStore } from '@hearsay/core'
import type { Peer } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { webRTC } from '@hearsay/transport-webrtc'

interface Pair { local: string, remote: string }
interface Candidates { candidatePair?: () => Promise<Pair | undefined> }

const options = JSON.parse(process.argv[2] ?? '{}') as { seeds: string[], connectTimeout?: number }
const out = (msg: unknown): void => { process.stdout.write(`${JSON.stringify(msg)}\n`) }
const node = createNode({
  transports: [webSockets(), webRTC({ connectTimeout: options.connectTimeout ?? 10_000 })],
  listen: ['webrtc:*'],
  seeds: options.seeds,
  store: memoryStore()
})

/** The selected candidate pair of a peer's WebRTC link (internal fields: this is a bench). */
async function pairOf (peer: Peer | undefined): Promise<Pair | null> {
  if (peer === undefined || !peer.address.startsWith('webrtc:')) return null
  const link = (peer as unknown as { link: { conn: { raw?: Candidates } & Candidates } }).link
  const conn = link.conn.raw ?? link.conn
  return await conn.candidatePair?.() ?? null
}

const turn = (p: Pair | null): boolean => p !== null && (p.local === 'relay' || p.remote === 'relay')
let startedAt = 0
let firstWebrtcMs: number | null = null
let firstDirectMs: number | null = null
node.on('peer:connect', (p) => {
  if (!p.address.startsWith('webrtc:')) return
  const at = performance.now() - startedAt
  firstWebrtcMs ??= at
  if (firstDirectMs === null) void pairOf(p).then((pair) => { if (pair !== null && !turn(pair)) firstDirectMs ??= at }, () => {})
})
node.on('error', (err) => { process.stderr.write(`error event: ${(err as Error)?.message}\n`) })
startedAt = performance.now()
await node.start()
const ready = (): boolean => node.peers().some(p => p.address.startsWith('ws:')) && node.metrics.get('ice.offers-received') > 0
await new Promise<void>((resolve) => {
  const check = (): void => { if (ready()) { clearInterval(timer); resolve() } }
  const timer = setInterval(check, 20)
  check()
})
out({ ready: true, peerId: node.id })

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { op: string, id: number, to?: string, timeout?: number }
  void (async () => {
    try {
      if (cmd.op === 'state') {
        const active = node.overlay?.active ?? []
        const neighbours = await Promise.all(active.map(async id => ({ peer: id, pair: await pairOf(node.getPeer(id)) })))
        out({ id: cmd.id, neighbours: neighbours.filter(n => !(node.getPeer(n.peer)?.address.startsWith('ws:') ?? false)), firstWebrtcMs, firstDirectMs })
      } else if (cmd.op === 'dial') {
        const to = cmd.to!
        const linked = node.getPeer(to)
        if (linked?.address.startsWith('webrtc:') === true) { out({ id: cmd.id, ok: true, existing: true, pair: await pairOf(linked) }); return }
        const started = performance.now()
        const peer = await node.dial(`webrtc:${to}`, { signal: AbortSignal.timeout(cmd.timeout ?? 15_000) })
        const ms = performance.now() - started
        const pair = await pairOf(peer)
        // hung up unless the overlay took it as a neighbour meanwhile
        if (!(node.overlay?.active ?? []).includes(to)) await node.hangUp(to)
        out({ id: cmd.id, ok: true, ms, pair })
      }
    } catch (err) {
      out({ id: cmd.id, ok: false, error: `${(err as Error)?.name}: ${(err as Error)?.message}` })
    }
  })()
})
process.stdin.on('end', () => { void node.stop().then(() => process.exit(0)) })
