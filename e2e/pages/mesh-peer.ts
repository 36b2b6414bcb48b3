/**
 * A page of the mesh run (apps/bench/src/mesh-run.ts; e2e/tests/mesh.spec.ts): a node from the
 * main `hearsay` browser entry (ws client + WebRTC, listening on `webrtc:*`, every service), a
 * memory store so that several pages of one origin do not share IndexedDB, joining through one
 * relay. The same measurements as the Node peers of apps/bench/src/mesh-worker.ts, read
 * through `window.__mesh`.
 */
import { createNode, memoryStore } from 'hearsay'
import type { HearsayNode } from 'hearsay'

export interface MeshPageState {
  id: string
  active: string[]
  firstDirectMs: number | null
}

export interface MeshPage {
  /** Starts the node against `seed` (ws://…); resolves with its id or an error message. */
  start: (seed: string) => Promise<{ id?: string, error?: string }>
  state: () => MeshPageState | null
  /** Broadcast ids received so far (drained: each call returns the new ones). */
  takeReceived: () => string[]
  broadcast: (bid: string) => void
  /** The node's counters plus `overlay.<reason>` for HyParView's drops. */
  metrics: () => Record<string, number>
  stop: () => Promise<void>
}

declare global {
  interface Window { __mesh?: MeshPage }
}

const TYPE = 'mesh'
let node: HearsayNode | undefined
let startedAt = 0
let firstDirectMs: number | null = null
let received: string[] = []

window.__mesh = {
  start: async (seed) => {
    const n = createNode({ store: memoryStore(), seeds: [seed] })
    node = n
    n.on('peer:connect', (p) => { if (firstDirectMs === null && p.address.startsWith('webrtc:')) firstDirectMs = performance.now() - startedAt })
    n.route(TYPE, (msg) => { received.push((msg.data as { bid: string }).bid) })
    startedAt = performance.now()
    try {
      await n.start()
      return { id: n.id }
    } catch (err) {
      return { error: String(err) }
    }
  },
  state: () => node === undefined || node.status !== 'running' ? null : { id: node.id, active: [...(node.overlay?.active ?? [])], firstDirectMs },
  takeReceived: () => { const r = received; received = []; return r },
  broadcast: (bid) => { node!.broadcast(TYPE, { bid }) },
  metrics: () => {
    const out: Record<string, number> = { ...node?.metrics.snapshot() }
    for (const [k, v] of Object.entries(node?.overlay?.drops ?? {})) out[`overlay.${k}`] = v
    return out
  },
  stop: async () => { await node?.stop(); node = undefined }
}
