import type { PeerRecord, PeerStats } from './peer-store.js'

/**
 * Pure scoring of stored addresses: which to dial first when the node bootstraps from its
 * store, and which are dead enough to purge. No clock, no I/O: the node and the simulator
 * share it, and it is tested on its own.
 */

export interface ScoreOptions {
  /**
   * Age of a success (relative to the newest success among the rows ranked together) at which
   * its recency weight has halved, ms. @default 3600000 (1 h)
   */
  halfLifeMs?: number
}

export const DEFAULT_SCORE_HALF_LIFE_MS = 60 * 60 * 1000

/**
 * Score of one address in [0, 1]; higher is better.
 *
 *   score = ratio × (0.5 + 0.5 × recency)
 *
 * - `ratio` = (ok + 1) / (ok + fail + 2), the success ratio with one success and one failure
 *   assumed (0.5 for an address never tried), so every failure pulls an address down: failures
 *   back off, a success pulls it up again;
 * - `recency` = 0.5 ^ (age / halfLifeMs) where `age` = `newest − lastSeen` (0 for an address
 *   that never worked). `newest` is the latest `lastSeen` among the rows ranked together, so
 *   ranking needs no clock and does not care which clock the store used.
 *
 * An address that worked just now scores up to 1; an untried one 0.25; one that failed once
 * and never worked 0.17; after three failures 0.1.
 */
export function scorePeer (stats: PeerStats, newest: number | null, opts: ScoreOptions = {}): number {
  const halfLife = opts.halfLifeMs ?? DEFAULT_SCORE_HALF_LIFE_MS
  const ok = Math.max(0, stats.connections.ok)
  const fail = Math.max(0, stats.connections.fail)
  const ratio = (ok + 1) / (ok + fail + 2)
  let recency = 0
  if (stats.lastSeen !== null && newest !== null) {
    const age = Math.max(0, newest - stats.lastSeen)
    recency = halfLife > 0 ? 0.5 ** (age / halfLife) : (age === 0 ? 1 : 0)
  }
  return ratio * (0.5 + 0.5 * recency)
}

/**
 * Sorts records best first by `scorePeer` (ties: lower rtt, then address, so the order is
 * deterministic). Returns a new array.
 */
export function rankPeers<T extends Pick<PeerRecord, 'address' | 'stats'>> (records: Iterable<T>, opts: ScoreOptions = {}): T[] {
  const list = [...records]
  let newest: number | null = null
  for (const r of list) if (r.stats.lastSeen !== null && (newest === null || r.stats.lastSeen > newest)) newest = r.stats.lastSeen
  const scored = list.map(r => ({ r, s: scorePeer(r.stats, newest, opts) }))
  const cmp = <V extends number | string>(x: V, y: V): number => x < y ? -1 : x > y ? 1 : 0
  scored.sort((a, b) =>
    cmp(b.s, a.s) ||
    cmp(a.r.stats.rtt ?? Infinity, b.r.stats.rtt ?? Infinity) ||
    cmp(a.r.address, b.r.address))
  return scored.map(x => x.r)
}

export interface PurgeRule {
  /** An address is purged only after at least this many failed dials. @default 3 */
  minFailures: number
  /** …and only while ok / (ok + fail) is below this. @default 0.2 */
  maxSuccessRatio: number
}

/** True when an address failed at least `minFailures` times and its success ratio is below `maxSuccessRatio`. */
export function isDeadAddress (stats: PeerStats, rule: PurgeRule): boolean {
  const { ok, fail } = stats.connections
  if (fail < rule.minFailures) return false
  return ok / (ok + fail) < rule.maxSuccessRatio
}

/**
 * Exponential backoff after `failures` consecutive failures: `base × 2^(failures − 1)`, capped
 * at `max`; 0 before the first failure.
 */
export function backoffDelay (failures: number, base: number, max: number): number {
  if (failures <= 0) return 0
  return Math.min(max, base * 2 ** Math.min(failures - 1, 30))
}
