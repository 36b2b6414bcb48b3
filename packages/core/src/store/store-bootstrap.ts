import type { StoreContext } from './context.js'
import type { Peer } from '../link/peer.js'
import type { PeerRecord } from './peer-store.js'
import type { ScoreOptions } from './peer-score.js'
import { backoffDelay, rankPeers } from './peer-score.js'

/** Most rows read from the store to rank (the store lists them in no particular order). */
export const MAX_RANKED_ROWS = 10_000
/** Stored addresses dialled per bootstrap round at most. */
export const BOOTSTRAP_MAX_DIALS = 16
/** Stored addresses dialled at the same time during a bootstrap round. */
export const BOOTSTRAP_CONCURRENCY = 3

export interface StoreBootstrapOptions extends ScoreOptions {
  /** Backoff of an address after its first failure in this process, ms (doubles per failure). */
  backoffBase: number
  /** Longest backoff, ms. */
  backoffMax: number
}

/**
 * Bootstrap from the peer store: reads the stored addresses, ranks them with `rankPeers`
 * (recent successes first, failures backed off) and dials them in that order until one answers.
 * An address that failed in this process is skipped until its exponential backoff has passed.
 */
export class StoreBootstrap {
  readonly #failures = new Map<string, { n: number, at: number }>()

  constructor (private readonly ctx: StoreContext, private readonly opts: StoreBootstrapOptions) {}

  /** Stored rows, best first (at most `MAX_RANKED_ROWS` are read). Store errors give `[]`, counted. */
  async ranked (): Promise<PeerRecord[]> {
    const ctx = this.ctx
    const rows: PeerRecord[] = []
    try {
      for await (const row of ctx.store.known({ limit: MAX_RANKED_ROWS, signal: ctx.signal })) rows.push(row)
    } catch (err) {
      if (!ctx.signal.aborted) {
        ctx.metrics.inc('store.errors')
        ctx.logger.warn('could not read stored peers', { err })
      }
    }
    return rankPeers(rows, this.opts)
  }

  /** True while `address` is backed off after failing in this process. */
  backedOff (address: string): boolean {
    const f = this.#failures.get(address)
    if (f === undefined) return false
    return this.ctx.clock.now() < f.at + backoffDelay(f.n, this.opts.backoffBase, this.opts.backoffMax)
  }

  /**
   * Dials `ranked` addresses in order (`BOOTSTRAP_CONCURRENCY` at a time, at most
   * `BOOTSTRAP_MAX_DIALS`), skipping this node's own, connected, `skip`ped and backed-off ones.
   * Resolves with the first peer that answers and the address it answered on (the other dials
   * are cancelled), or undefined.
   */
  async dialBest (ranked: PeerRecord[], skip: Iterable<string> = []): Promise<{ peer: Peer, address: string } | undefined> {
    const ctx = this.ctx
    if (ctx.status !== 'running') return undefined
    const avoid = new Set(skip)
    for (const a of ctx.addresses) avoid.add(a)
    for (const p of ctx.peers()) avoid.add(p.address)
    const candidates = ranked.filter(r => r.peerId !== ctx.id && !avoid.has(r.address) && !this.backedOff(r.address))
      .slice(0, BOOTSTRAP_MAX_DIALS)
    if (candidates.length === 0) return undefined
    ctx.metrics.inc('membership.store-bootstraps')
    const ac = new AbortController()
    const onStop = (): void => { ac.abort(ctx.signal.reason) }
    ctx.signal.addEventListener('abort', onStop, { once: true })
    let next = 0
    let found: { peer: Peer, address: string } | undefined
    const worker = async (): Promise<void> => {
      while (found === undefined && !ac.signal.aborted) {
        const row = candidates[next++]
        if (row === undefined) return
        try {
          // no expected id: a stored id may be third-hand or stale, and any authenticated peer of
          // the network is a good contact
          const peer = await ctx.connect(row.address, { signal: ac.signal })
          this.#failures.delete(row.address)
          ctx.metrics.inc('membership.store-dials.ok')
          if (found === undefined) { found = { peer, address: row.address }; ac.abort() }
        } catch {
          if (ac.signal.aborted) return
          ctx.metrics.inc('membership.store-dials.failed')
          const f = this.#failures.get(row.address)
          this.#failures.set(row.address, { n: (f?.n ?? 0) + 1, at: ctx.clock.now() })
        }
      }
    }
    try {
      await Promise.all(Array.from({ length: Math.min(BOOTSTRAP_CONCURRENCY, candidates.length) }, worker))
    } finally {
      ctx.signal.removeEventListener('abort', onStop)
    }
    return found
  }
}
