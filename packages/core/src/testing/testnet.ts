import { MemoryNetwork } from '../link/memory-transport.js'
import type { MemoryNetworkOptions } from '../link/memory-transport.js'
import { createNode } from '../node/node.js'
import type { HearsayNode } from '../node/node.js'
import type { NodeOptions } from '../node/options.js'
import { nextEvent } from './compliance/overlay.js'

export interface TestnetOptions extends MemoryNetworkOptions {
  /** An existing network to join. @default a new MemoryNetwork */
  network?: MemoryNetwork
  /** How the nodes are linked at start. `star`: all dial node 0. @default 'star' */
  topology?: 'star' | 'chain' | 'full' | 'none'
  /** Extra options per node (index i). */
  node?: (i: number) => NodeOptions
}

declare global {
  // ES2024's well-known symbol, as lib esnext.disposable and @types/node declare it: declared here
  // too, so that these declarations compile with lib ES2022 (a browser app without @types/node)
  interface SymbolConstructor { readonly asyncDispose: unique symbol }
}

export interface Testnet {
  network: MemoryNetwork
  nodes: HearsayNode[]
  /** Stops every node; safe to call twice. */
  stop: () => Promise<void>
  [Symbol.asyncDispose]: () => Promise<void>
}

/**
 * `n` started nodes on one in-memory network, linked by `topology`, in one line; `stop()` (or
 * `await using`) tears everything down. Node i listens on `memory:node-i`.
 */
export async function createTestnet (n: number, opts: TestnetOptions = {}): Promise<Testnet> {
  const network = opts.network ?? new MemoryNetwork(opts)
  const nodes: HearsayNode[] = []
  const stop = async (): Promise<void> => { await Promise.all(nodes.map(async node => { await node.stop() })) }
  try {
    for (let i = 0; i < n; i++) {
      const extra = opts.node?.(i) ?? {}
      const node = createNode({
        clock: network.clock,
        listen: [`memory:node-${i}`],
        ...extra,
        transports: [network.transport(`node-${i}`), ...(extra.transports ?? [])]
      })
      nodes.push(node)
      await node.start()
    }
    const topology = opts.topology ?? 'star'
    const dials: Array<Promise<unknown>> = []
    // linked once both sides have the peer: the dialler is done when it sent the last handshake
    // message, the listener a moment later, when it has checked it
    const link = (i: number, j: number): void => {
      const listener = nodes[j]!
      const seen = nextEvent(listener, 'peer:connect', (p) => p.id === nodes[i]!.id)
      dials.push(Promise.all([nodes[i]!.dial(`memory:node-${j}`, { neighbor: false }), seen]))
    }
    for (let i = 1; i < n; i++) {
      if (topology === 'star') link(i, 0)
      else if (topology === 'chain') link(i, i - 1)
      else if (topology === 'full') for (let j = 0; j < i; j++) link(i, j)
    }
    await Promise.all(dials)
  } catch (err) {
    await stop()
    throw err
  }
  return { network, nodes, stop, [Symbol.asyncDispose]: stop }
}
