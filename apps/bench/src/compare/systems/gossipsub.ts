import type { BenchSystem, SystemHandle, SystemStartOptions } from '../system.js'
import { waitFor } from '../system.js'

const TOPIC = 'bench'

/** The slice of a libp2p node with gossipsub this file uses (loaded lazily: bench-only devDependencies). */
interface PubSubNode {
  getMultiaddrs: () => Array<{ toString: () => string }>
  dial: (addr: unknown) => Promise<unknown>
  stop: () => Promise<void>
  services: {
    pubsub: {
      subscribe: (topic: string) => void
      publish: (topic: string, data: Uint8Array) => Promise<unknown>
      getSubscribers: (topic: string) => unknown[]
      getMeshPeers: (topic: string) => unknown[]
      addEventListener: (type: 'message', fn: (evt: { detail: { topic: string, data: Uint8Array } }) => void) => void
    }
  }
}

/**
 * js-libp2p 2.x with @chainsafe/libp2p-gossipsub 14 over @libp2p/websockets, noise and yamux,
 * as its docs configure it; gossipsub's defaults (D 6, Dlo 4, Dhi 12, floodPublish) except the
 * signature policy. With 4–6 neighbours every link is a mesh link, so it floods the same graph.
 */
export function gossipsubSystem (signed: boolean): BenchSystem {
  return {
    id: signed ? 'gossipsub-signed' : 'gossipsub',
    label: signed ? 'js-libp2p gossipsub (signed)' : 'js-libp2p gossipsub (unsigned)',
    description: `libp2p 2 + gossipsub 14 over websockets/noise/yamux (+ identify); globalSignaturePolicy ${signed ? "'StrictSign' (the default: every message signed and verified, ed25519)" : "'StrictNoSign' (no per-message signature: what hearsay does, which authenticates links instead)"}; other gossipsub options default`,
    start: async (opts) => await startGossipsub(signed, opts)
  }
}

/**
 * js-libp2p 2.x declares Node ≥ 20, but its current transitive dependencies (it-queue, mortice,
 * race-event, it-byte-stream, …) call `Promise.withResolvers`, which arrived in Node 22. On
 * Node 20 the bench installs this three-line equivalent before loading libp2p; nothing of
 * hearsay's runs in that process.
 */
function polyfillWithResolvers (): void {
  const P = Promise as unknown as { withResolvers?: () => unknown }
  if (typeof P.withResolvers === 'function') return
  P.withResolvers = function withResolvers<T> () {
    let resolve!: (v: T) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

async function startGossipsub (signed: boolean, opts: SystemStartOptions): Promise<SystemHandle> {
  polyfillWithResolvers()
  const { createLibp2p } = await import('libp2p')
  const { webSockets } = await import('@libp2p/websockets')
  const { noise } = await import('@chainsafe/libp2p-noise')
  const { yamux } = await import('@chainsafe/libp2p-yamux')
  const { identify } = await import('@libp2p/identify')
  const { gossipsub } = await import('@chainsafe/libp2p-gossipsub')
  const { topology: topo, onDeliver } = opts
  const nodes: PubSubNode[] = []
  let errors = 0
  const stop = async (): Promise<void> => { await Promise.allSettled(nodes.map(async n => { await n.stop() })) }
  try {
    for (let i = 0; i < topo.nodes; i++) {
      const node = await createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
        transports: [webSockets()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionGater: { denyDialMultiaddr: async () => false },
        // setup only: a loaded machine must not fail a handshake on libp2p's 2–5 s defaults, and
        // every node dials from 127.0.0.1, which the default inbound rate limit (5 connections
        // per second per host) would refuse
        connectionManager: { dialTimeout: opts.timeoutMs, inboundUpgradeTimeout: opts.timeoutMs, inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 100 },
        services: {
          identify: identify(),
          pubsub: gossipsub({
            globalSignaturePolicy: signed ? 'StrictSign' : 'StrictNoSign',
            emitSelf: false,
            allowPublishToZeroTopicPeers: true
          })
        }
      }) as unknown as PubSubNode
      nodes.push(node)
      node.services.pubsub.subscribe(TOPIC)
      node.services.pubsub.addEventListener('message', (evt) => {
        if (evt.detail.topic === TOPIC) onDeliver(i, evt.detail.data)
      })
    }
    for (const [a, b] of topo.edges) await nodes[a]!.dial(nodes[b]!.getMultiaddrs()[0])
    // a publish only reaches peers whose subscription arrived, and forwarding needs the mesh
    const degree = (i: number): number => topo.neighbors[i]!.length
    await waitFor(() => nodes.every((n, i) => n.services.pubsub.getSubscribers(TOPIC).length === degree(i) &&
      n.services.pubsub.getMeshPeers(TOPIC).length >= Math.min(degree(i), 4)), opts.timeoutMs, 'the gossipsub mesh to form')
  } catch (err) {
    await stop()
    throw err
  }
  return {
    publish: (i, payload) => { nodes[i]!.services.pubsub.publish(TOPIC, payload).catch(() => { errors++ }) },
    // libp2p streams queue without a limit the caller can read: the driver's window bounds it
    buffered: () => 0,
    publishErrors: () => errors,
    stop
  }
}
