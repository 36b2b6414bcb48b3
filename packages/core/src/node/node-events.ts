import type { PeerId } from '../wire/identity.js'
import type { ConnectOptions } from '../link/context.js'
import type { Request } from '../overlay/announce.js'
import type { InboundMessage } from '../services/app-messages.js'
import type { ServiceEvents } from '../services/context.js'

/** Every event of a node: those its layers and services emit (`ServiceEvents`) and the node's own. */
export interface NodeEvents extends ServiceEvents {
  /** An application message (direct, broadcast or relayed) that passed the inbound middleware. */
  message: InboundMessage
  /** An announcement reached this node; answer with `req.reply(data)`. */
  request: Request
  /** The failure detector suspects a peer (its link is then closed and replaced). */
  'peer:down': { id: PeerId }
  /** A peer reported down was heard from again. */
  'peer:up': { id: PeerId }
}

export interface DialOptions extends ConnectOptions {
  /**
   * Make the peer an overlay neighbour (a JOIN through it when the node has none yet, else a
   * high-priority NEIGHBOR), so that broadcasts, announces, state and events travel over the
   * link. `false` keeps it a plain link (streams, direct messages). Ignored with `overlay: false`.
   * @default true
   */
  neighbor?: boolean
}
