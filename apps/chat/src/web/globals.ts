/**
 * What the chat page puts on `window` for the devtools console and the e2e tests. A file of its
 * own so that tests can take the declaration without the page's code.
 */
import type { HearsayNode } from 'hearsay'

export interface HearsayChatHandle {
  node: HearsayNode
  /** Addresses in the node's peer store (with the peer id proven there, if any). */
  knownPeers: () => Promise<Array<{ address: string, peerId: string | null }>>
}

declare global {
  interface Window { hearsayChat?: HearsayChatHandle }
}
