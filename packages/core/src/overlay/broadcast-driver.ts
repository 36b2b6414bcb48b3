import type { PeerId } from '../wire/identity.js'
import type { Peer } from '../link/peer.js'
import type { OverlayContext } from './context.js'
import type { Broadcaster, BroadcastResult, Delivery } from './broadcast.js'
import { watchDrops } from './validate.js'

/**
 * Runs a pure broadcaster (Plumtree or flood) on a node: sends its actions over the links,
 * hands deliveries on, and wakes it exactly when it has timed work (batched IHAVEs, GRAFTs).
 * Announcements and the event bus each own one, under their own message-type prefix.
 */
export class BroadcastDriver {
  #tickAt: number | undefined
  #cancelTick: (() => void) | undefined

  constructor (
    private readonly ctx: OverlayContext,
    readonly broadcaster: Broadcaster<{ t: string }>,
    private readonly opts: {
      /** Put before each broadcaster message type on the wire (e.g. `ev.`). */
      prefix: string
      /** The broadcaster's drops are counted in the node's metrics as `drops.<dropPrefix><reason>`. */
      dropPrefix: string
      /** Drop reason counted when an action names a peer without a link. */
      noLinkDrop: string
      /** `via` is the link the message came in on, when it came in on one (see `run`). */
      onDeliver: (d: Delivery, via?: Peer) => void
      /** Another copy of a delivered message arrived from `from`. */
      onDuplicate?: (id: string, from: PeerId) => void
    }
  ) {
    watchDrops(broadcaster.drops, (reason) => { ctx.metrics.drop(opts.dropPrefix + reason) })
  }

  /**
   * `via`: the peer whose frame produced `r`. A delivery names its sender by id, and the node
   * may no longer list a link under that id (a frame read on a link being replaced): the frame's
   * own peer still says who sent it, so the message is delivered, not dropped.
   */
  run (r: BroadcastResult<{ t: string }>, via?: Peer): void {
    for (const a of r.actions) {
      const peer = this.ctx.getPeer(a.to)
      if (peer === undefined) { this.ctx.metrics.drop(this.opts.noLinkDrop); continue }
      const { t, ...rest } = a.msg
      this.ctx.send(peer, this.opts.prefix + t, rest)
    }
    if (r.deliver !== undefined) this.opts.onDeliver(r.deliver, via?.id === r.deliver.from ? via : undefined)
    else if (r.duplicate !== undefined) this.opts.onDuplicate?.(r.duplicate.id, r.duplicate.from)
    this.scheduleTick()
  }

  /** Re-arms the timer after a change outside `run` (a neighbour came or went). */
  scheduleTick (): void {
    const next = (this.broadcaster as { nextTickAt?: () => number | undefined }).nextTickAt?.()
    if (next === undefined || (this.#tickAt !== undefined && this.#tickAt <= next)) return
    this.#cancelTick?.()
    this.#tickAt = next
    this.#cancelTick = this.ctx.timers.after(Math.max(0, next - this.ctx.clock.now()), () => {
      this.#tickAt = undefined
      this.#cancelTick = undefined
      this.run(this.broadcaster.tick(this.ctx.clock.now()))
    })
  }
}
