import type { PeerId } from '../../wire/identity.js'
import { FailureDetector } from '../../overlay/phi-accrual.js'

/**
 * One member of the cluster as this node sees it (`node.members()`, `member:*` events).
 * A snapshot: later changes do not show in an object already handed out.
 */
export interface Member {
  id: PeerId
  /** False once phi crossed `state.memberPhiThreshold`, true again when the heartbeat advances. Always true for `self`. */
  alive: boolean
  /** The member's own heartbeat counter as last learned here; it counts from 1 again when the member restarts. */
  heartbeat: number
  /** The node clock (ms) when this member's heartbeat last advanced here; for `self`, when this node last beat. */
  lastSeen: number
  /** True for this node's own entry (listed first by `members()`; never the subject of an event). */
  self: boolean
}

/** The three transitions a member goes through, each reported once. */
export type MemberEvent = 'member:join' | 'member:down' | 'member:up'

export interface MemberTableOptions {
  /** phi above which a member is declared down. */
  threshold: number
  /** Most other members kept. */
  maxMembers: number
  /** A member down for this long (ms since its heartbeat last advanced) is forgotten. */
  forgetAfter: number
  /** The heartbeat period members use: the detector's estimate before it has measured any. */
  heartbeatInterval: number
  /**
   * The anti-entropy period. Heartbeats reach a node only when a gossip exchange brings them, so
   * arrivals are quantised to rounds and delayed by a varying number of them: one round is the
   * pause tolerated on top of the mean interval.
   */
  gossipInterval: number
}

/** Intervals each member's detector keeps: 32 heartbeats (80 s at 2.5 s) is plenty, and 128 bytes per member. */
const WINDOW = 32

interface Row { id: PeerId, alive: boolean, heartbeat: number, lastSeen: number }

/**
 * The member table: every member whose heartbeat this node has seen advance, with a phi accrual
 * detector (the overlay's own `FailureDetector`) over the arrival times of those advances, as
 * Cassandra's gossiper does. Pure: time comes in as arguments, transitions go out through `emit`.
 */
export class MemberTable {
  readonly #o: MemberTableOptions
  readonly #rows = new Map<PeerId, Row>()
  readonly #detector: FailureDetector
  readonly #emit: (event: MemberEvent, member: Member) => void
  readonly #drop: (reason: string) => void

  constructor (o: MemberTableOptions, emit: (event: MemberEvent, member: Member) => void, drop: (reason: string) => void) {
    this.#o = o
    this.#emit = emit
    this.#drop = drop
    this.#detector = new FailureDetector({
      threshold: o.threshold,
      windowSize: WINDOW,
      // Gossiped arrivals jitter by whole rounds, far more than a direct link's heartbeats, and a
      // young detector (a few samples, seeded at mean ± mean/4) understates it: with a floor of
      // half a gossip round a 100-node simulation saw 12 false downs in 2 idle minutes, all in
      // the detectors' first 30 s; with half the slower period, none, for 1 s more to detect.
      minStdDevMs: Math.max(o.heartbeatInterval, o.gossipInterval) / 2,
      acceptableHeartbeatPauseMs: o.gossipInterval,
      firstHeartbeatEstimateMs: o.heartbeatInterval
    })
  }

  get size (): number { return this.#rows.size }

  /** `id`'s heartbeat advanced to `heartbeat` (a newer version reached this node) at `now`. */
  advance (id: PeerId, heartbeat: number, now: number): void {
    const row = this.#rows.get(id)
    if (row === undefined) {
      if (this.#rows.size >= this.#o.maxMembers && !this.#evictLongestDown()) { this.#drop('member-table-full'); return }
      const fresh: Row = { id, alive: true, heartbeat, lastSeen: now }
      this.#rows.set(id, fresh)
      this.#detector.heartbeat(id, now)
      this.#emit('member:join', snapshot(fresh))
      return
    }
    row.heartbeat = heartbeat
    row.lastSeen = now
    this.#detector.heartbeat(id, now)
    if (!row.alive) {
      // reported here rather than at the next check, so that `alive` and the event agree at once;
      // the detector's own `up` for it at the next check is then ignored
      row.alive = true
      this.#emit('member:up', snapshot(row))
    }
  }

  /** Declares down the members whose phi crossed the threshold, and forgets those down for `forgetAfter`. */
  check (now: number): void {
    for (const id of this.#detector.check(now).down) {
      const row = this.#rows.get(id)
      if (row === undefined || !row.alive) continue
      row.alive = false
      this.#emit('member:down', snapshot(row))
    }
    for (const row of this.#rows.values()) {
      if (!row.alive && now - row.lastSeen >= this.#o.forgetAfter) this.#forget(row.id)
    }
  }

  list (): Member[] { return [...this.#rows.values()].map(snapshot) }

  clear (): void {
    for (const id of [...this.#rows.keys()]) this.#forget(id)
  }

  #forget (id: PeerId): void {
    this.#rows.delete(id)
    this.#detector.remove(id)
  }

  /** Makes room for a new member by forgetting the one down the longest; false if none is down. */
  #evictLongestDown (): boolean {
    let oldest: Row | undefined
    for (const row of this.#rows.values()) if (!row.alive && (oldest === undefined || row.lastSeen < oldest.lastSeen)) oldest = row
    if (oldest === undefined) return false
    this.#forget(oldest.id)
    return true
  }
}

function snapshot (r: Row): Member {
  return { id: r.id, alive: r.alive, heartbeat: r.heartbeat, lastSeen: r.lastSeen, self: false }
}
