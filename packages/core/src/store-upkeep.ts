import type { HearsayNode } from './node.js'
import type { PurgeRule } from './peer-score.js'
import { isDeadAddress } from './peer-score.js'

export interface StoreUpkeepOptions {
  /** Period of the purge, ms; 0 disables it. */
  purgeInterval: number
  rule: PurgeRule
  /** Period of the round-trip sample (one ping to one connected peer, in turn), ms; 0 disables it. */
  rttInterval: number
}

/**
 * The node's periodic work on its peer store: purging dead addresses (peernet's `purge`, which
 * there never purged) and sampling round-trip times. Timers are the node's lifetime timers, so
 * `stop()` cancels them; a store error is counted in `store.errors`, never thrown.
 */
export class StoreUpkeep {
  private purging: Promise<string[]> | undefined
  private rttTurn = 0

  constructor (private readonly node: HearsayNode, private readonly opts: StoreUpkeepOptions) {
    if (!(opts.purgeInterval >= 0)) throw new TypeError('purgeInterval must be a number >= 0')
    if (!(opts.rttInterval >= 0)) throw new TypeError('rttInterval must be a number >= 0')
    if (!(opts.rule.minFailures >= 1)) throw new TypeError('purgeMinFailures must be >= 1')
    if (!(opts.rule.maxSuccessRatio >= 0 && opts.rule.maxSuccessRatio <= 1)) throw new TypeError('purgeMaxSuccessRatio must be in [0, 1]')
  }

  start (): void {
    const timers = this.node.lifetimeTimers
    if (this.opts.purgeInterval > 0) timers.every(this.opts.purgeInterval, () => { void this.purge() })
    if (this.opts.rttInterval > 0) timers.every(this.opts.rttInterval, () => { this.sampleRtt() })
  }

  /**
   * Removes (with a tombstone) every stored address that `isDeadAddress` condemns, except the
   * addresses of peers connected right now. Resolves with the removed addresses. One purge at
   * a time: a call during a purge gets that purge's result.
   */
  async purge (): Promise<string[]> {
    this.purging ??= this.runPurge().finally(() => { this.purging = undefined })
    return await this.purging
  }

  private async runPurge (): Promise<string[]> {
    const node = this.node
    const live = new Set<string>()
    for (const peer of node.peers()) {
      live.add(peer.address)
      const a = node.statAddress(peer)
      if (a !== undefined) live.add(a)
    }
    const dead: string[] = []
    try {
      for await (const row of node.store.known({ signal: node.signal })) {
        if (isDeadAddress(row.stats, this.opts.rule) && !live.has(row.address)) dead.push(row.address)
      }
      if (dead.length > 0) {
        await node.store.remove(dead, { signal: node.signal })
        node.metrics.inc('store.purged', dead.length)
        node.logger.debug('purged dead addresses', { count: dead.length })
      }
      return dead
    } catch (err) {
      if (node.signal.aborted) return []
      node.metrics.inc('store.errors')
      node.logger.warn('peer store purge failed', { err })
      return []
    }
  }

  /** Pings one connected peer, round robin over the peers sorted by id (no randomness used). */
  private sampleRtt (): void {
    const peers = this.node.peers().sort((a, b) => a.id < b.id ? -1 : 1)
    if (peers.length === 0) return
    const peer = peers[this.rttTurn++ % peers.length]!
    // node.ping records the result in the store
    this.node.ping(peer).catch(() => {})
  }
}
