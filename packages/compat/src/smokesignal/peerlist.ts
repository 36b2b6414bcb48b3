/** smokesignal's `Peerlist`: the peers this node is friends with, with `add` / `remove` events. */
import { EventEmitter } from 'node:events'
import type { SmokePeer } from './peer.js'

export class Peerlist extends EventEmitter {
  /** Every peer you're friends with. Don't change it: use `node.addPeer` and `peer.close()`. */
  readonly list: SmokePeer[] = []

  /** Whether you're currently friends with that peer (a Peer object or its id). */
  inList (peer: SmokePeer | string): boolean {
    if (typeof peer !== 'string' && (peer === null || typeof peer !== 'object')) throw new TypeError('peers.inList(peer): peer must be a Peer or a peer id')
    const id = typeof peer === 'string' ? peer : peer.id
    return this.list.some(p => p.id === id)
  }

  /** @internal */
  add (peer: SmokePeer): void {
    this.list.push(peer)
    this.emit('add', peer)
  }

  /** @internal */
  remove (peer: SmokePeer): void {
    const i = this.list.indexOf(peer)
    if (i < 0) return
    this.list.splice(i, 1)
    this.emit('remove', peer)
  }
}
