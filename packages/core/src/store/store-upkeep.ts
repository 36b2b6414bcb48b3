import type { StoreContext } from './context.js'
import type { PeerRecord } from './peer-store.js'
import type { PurgeRule } from './peer-score.js'
import { isDeadAddress, rankPeers } from './peer-score.js'

export interface StoreUpkeepOptions {
  /** Period of the purge, ms; 0 disables it. */
  purgeInterval: number
  rule: PurgeRule
  /** Period of the round-trip sample (one ping to one connected peer, in turn), ms; 0 disables it. */
  rttInterval: number
  /** Most addresses kept: the purge trims the lowest-scored beyond it, and `reserve` refuses new ones that would pass it. */
  maxStoredPeers: number
}

/**
 * The node's periodic work on its peer store: purging dead addresses (peernet's `purge`, which
 * there never purged) and sampling round-trip times. Timers are the node's lifetime timers, so
 * `stop()` cancels them; a store error is counted in `store.errors`, never thrown.
 */
export class StoreUpkeep {
  #purging: Promise<string[]> | undefined
  #rttTurn = 0
  /** Rows counted by the last scan (the start, then each purge), and addresses reserved since. */
  #rows = 0
  #reserved = 0

  constructor (private readonly ctx: StoreContext, private readonly opts: StoreUpkeepOptions) {
    if (!(opts.purgeInterval >= 0)) throw new TypeError('purgeInterval must be a number >= 0')
    if (!(opts.rttInterval >= 0)) throw new TypeError('rttInterval must be a number >= 0')
    if (!(opts.rule.minFailures >= 1)) throw new TypeError('purgeMinFailures must be >= 1')
    if (!(opts.rule.maxSuccessRatio >= 0 && opts.rule.maxSuccessRatio <= 1)) throw new TypeError('purgeMaxSuccessRatio must be in [0, 1]')
    if (!(Number.isSafeInteger(opts.maxStoredPeers) && opts.maxStoredPeers >= 1)) throw new TypeError('maxStoredPeers must be a positive integer')
  }

  start (): void {
    const timers = this.ctx.timers
    if (this.opts.purgeInterval > 0) timers.every(this.opts.purgeInterval, () => { void this.purge() })
    if (this.opts.rttInterval > 0) timers.every(this.opts.rttInterval, () => { this.#sampleRtt() })
    void this.#count()
  }

  /**
   * How many of `n` addresses learned from peers may be saved now (and reserves them): what
   * keeps the store below `maxStoredPeers` between purges. Peers' gossip is unauthenticated: a
   * peer that sends shuffles full of made-up peers must not grow the store without bound.
   */
  reserve (n: number): number {
    const k = Math.max(0, Math.min(n, this.opts.maxStoredPeers - this.#rows - this.#reserved))
    this.#reserved += k
    return k
  }

  async #count (): Promise<void> {
    let n = 0
    try {
      for await (const _ of this.ctx.store.known({ signal: this.ctx.signal })) n++
    } catch { return }
    this.#rows = n
    this.#reserved = 0
  }

  /**
   * Removes (with a tombstone) every stored address that `isDeadAddress` condemns, and the
   * lowest-scored beyond `maxStoredPeers`, except the addresses of peers connected right now.
   * Resolves with the removed addresses. One purge at
   * a time: a call during a purge gets that purge's result.
   */
  async purge (): Promise<string[]> {
    this.#purging ??= this.#runPurge().finally(() => { this.#purging = undefined })
    return await this.#purging
  }

  async #runPurge (): Promise<string[]> {
    const ctx = this.ctx
    const live = new Set<string>()
    for (const peer of ctx.peers()) {
      live.add(peer.address)
      const a = ctx.statAddress(peer)
      if (a !== undefined) live.add(a)
    }
    const dead: string[] = []
    const kept: PeerRecord[] = []
    try {
      for await (const row of ctx.store.known({ signal: ctx.signal })) {
        if (isDeadAddress(row.stats, this.opts.rule) && !live.has(row.address)) dead.push(row.address)
        else kept.push(row)
      }
      // over the bound: the lowest-scored go (never-tried and failing addresses score lowest)
      const excess = kept.length - this.opts.maxStoredPeers
      const trimmed = excess > 0 ? rankPeers(kept.filter(r => !live.has(r.address))).slice(-excess).map(r => r.address) : []
      if (dead.length + trimmed.length > 0) {
        await ctx.store.remove([...dead, ...trimmed], { signal: ctx.signal })
        if (dead.length > 0) ctx.metrics.inc('store.purged', dead.length)
        if (trimmed.length > 0) ctx.metrics.inc('store.trimmed', trimmed.length)
        ctx.logger.debug('purged dead addresses', { count: dead.length, trimmed: trimmed.length })
      }
      this.#rows = kept.length - trimmed.length
      this.#reserved = 0
      return [...dead, ...trimmed]
    } catch (err) {
      if (ctx.signal.aborted) return []
      ctx.metrics.inc('store.errors')
      ctx.logger.warn('peer store purge failed', { err })
      return []
    }
  }

  /** Pings one connected peer, round robin over the peers sorted by id (no randomness used). */
  #sampleRtt (): void {
    const peers = this.ctx.peers().sort((a, b) => a.id < b.id ? -1 : 1)
    if (peers.length === 0) return
    const peer = peers[this.#rttTurn++ % peers.length]!
    // node.ping records the result in the store
    this.ctx.ping(peer).catch(() => {})
  }
}
