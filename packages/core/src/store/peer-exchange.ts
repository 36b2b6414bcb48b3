/** Most entries counted from one message (HyParView accepts at most 64 per shuffle). */
const MAX_COUNTED = 64

/**
 * How many other peers a membership message carries: the `nodes.rx` / `nodes.tx` statistic of
 * peer exchange. SHUFFLE, SHUFFLE_REPLY and a refusing NEIGHBOR_REPLY carry `peers`; a
 * FORWARD_JOIN carries one newcomer; JOIN, NEIGHBOR and DISCONNECT carry none. A malformed or
 * oversized list counts 0.
 */
export function peersCarried (type: string, data: unknown): number {
  if (data === null || typeof data !== 'object') return 0
  const d = data as { peers?: unknown, newId?: unknown }
  switch (type) {
    case 'hv.shuffle':
    case 'hv.shuffle-reply':
    case 'hv.nbr-reply':
      return Array.isArray(d.peers) && d.peers.length <= MAX_COUNTED ? d.peers.length : 0
    case 'hv.fjoin':
      return typeof d.newId === 'string' ? 1 : 0
    default:
      return 0
  }
}
