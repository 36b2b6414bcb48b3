/**
 * A signalling network for WebRTC tests: nodes on a memory network, each connected to one relay
 * node that forwards their signals, each with a WebRTC transport. WebRTC itself runs over the
 * network namespace that `scripts/netns.mjs` makes (HEARSAY_NETNS=1); outside it the WebRTC
 * tests are skipped, so that they never run over the machine's real interfaces.
 */
import { createNode, MemoryNetwork } from '@hearsay/core'
import type { HearsayNode, NodeOptions, Transport } from '@hearsay/core'
import { assert } from '@hearsay/core/compliance'
import { webRTC } from '../src/index.node.js'
import type { WebRTCInit } from '../src/index.node.js'

export const inNetns = process.env.HEARSAY_NETNS === '1'
if (!inNetns) console.warn('WebRTC tests skipped: run them in a network namespace, e.g. node scripts/netns.mjs npx vitest run packages/transport-webrtc')

export const RELAY = 'memory:relay'

export interface Member { node: HearsayNode, transport: Transport }

export class SignalNet {
  readonly network = new MemoryNetwork()
  readonly relay: HearsayNode
  private readonly nodes: HearsayNode[] = []

  constructor (relayOptions: NodeOptions = {}) {
    this.relay = createNode({ transports: [this.network.transport('relay')], listen: [RELAY], overlay: false, ...relayOptions })
    this.nodes.push(this.relay)
  }

  async start (): Promise<this> {
    await this.relay.start()
    return this
  }

  /** A started node with a WebRTC transport, connected to the relay (unless `seeds` says otherwise). */
  async member (options: NodeOptions = {}, init: WebRTCInit = {}): Promise<Member> {
    const transport = webRTC(init)
    const node = createNode({ transports: [this.network.transport(), transport], seeds: [RELAY], overlay: false, ...options })
    this.nodes.push(node)
    await node.start()
    if ((options.seeds ?? [RELAY]).includes(RELAY)) await this.connected(node)
    return { node, transport }
  }

  async connected (node: HearsayNode): Promise<void> {
    await assert.eventually(() => node.getPeer(this.relay.id) !== undefined && this.relay.getPeer(node.id) !== undefined, 10_000, 'linked to the relay')
  }

  async stop (): Promise<void> {
    await Promise.all(this.nodes.splice(0).map(async n => { await n.stop() }))
  }
}
