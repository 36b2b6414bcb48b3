import type { Clock } from '../util/clock.js'
import type { Metrics } from '../util/metrics.js'
import type { AbuseGuard } from './abuse-guard.js'
import { addressKey } from './abuse-guard.js'
import type { Connection } from './transport.js'
import { BusyError } from '../util/errors.js'

/** Sweep the per-address table of closed connections every this many admissions. */
const SWEEP_EVERY = 256

/** An inbound handshake in progress: when it started, the address key it counts under, whether its hello proved the network key. */
interface Pending { at: number, key: string, proven: boolean }

/**
 * Admission of inbound connections, under the guard's limits and address penalties: the
 * concurrent-handshake caps (global and per address), the per-address connection cap, and room
 * made under a handshake flood. Pure bookkeeping on the injected clock: the node closes what
 * this refuses; the one connection this closes itself is a handshake it cuts to make room.
 * Refusals are counted as `refused.*`. Only a node that accepts links carries it (`acceptInbound`).
 */
export class Admission {
  readonly #byAddress = new Map<string, Set<Connection>>()
  /** Handshakes in progress, oldest first. */
  readonly #handshaking = new Map<Connection, Pending>()
  readonly #pendingByKey = new Map<string, number>()
  #admitted = 0
  #refusal: Error | undefined

  constructor (private readonly guard: AbuseGuard, private readonly clock: Clock, private readonly metrics: Metrics) {}

  /**
   * The reason to close the connection `admit` last refused with: a `BusyError` (a transport that
   * carries close reasons tells the dialler to try again later, not that its key is wrong), or
   * none for a banned address, which learns nothing.
   */
  get refusal (): Error | undefined { return this.#refusal }

  /** Inbound handshakes in progress. */
  get pendingHandshakes (): number { return this.#handshaking.size }

  /** True while half of `maxPendingHandshakes` (or more) are in progress: a handshake flood. */
  get underLoad (): boolean {
    const cap = this.guard.limits.maxPendingHandshakes
    return cap > 0 && this.#handshaking.size * 2 >= cap
  }

  /**
   * How long a new inbound connection has to send a hello that proves the network key: `base`
   * (the whole handshake's timeout), or `handshakeTimeoutUnderLoadMs` under a flood. Only the
   * hello is hurried: a half-open connection never sends one, while an honest peer on a starved
   * CPU may take seconds for the rest, and cutting it there made a relay refuse a join wave of
   * 300 pages as a flood (mesh bench: 556 handshakes cut, pages alone for over 100 s).
   */
  helloTimeout (base: number): number {
    const short = this.guard.limits.handshakeTimeoutUnderLoadMs
    return this.underLoad && short > 0 ? Math.min(base, short) : base
  }

  /**
   * Decides whether an inbound connection may start its handshake. False means refuse (the
   * caller closes it); the reason is counted as
   * `refused.<banned|pending-per-address|per-address|handshakes>`. When the global cap is full
   * the oldest handshake in progress is cut instead (closed here, `refused.handshake-evicted`).
   * An admitted connection must be reported to `settled` exactly once.
   */
  admit (conn: Connection): boolean {
    const key = addressKey(conn.remoteAddress)
    const now = this.clock.now()
    const pendingHere = this.#pendingByKey.get(key) ?? 0
    // a penalised address still gets one handshake at a time: honest peers behind it get in
    if (this.guard.addressPenalised(key) && pendingHere >= 1) return this.#refuse('banned')
    const perAddressPending = this.guard.limits.maxPendingHandshakesPerAddress
    if (perAddressPending > 0 && pendingHere >= perAddressPending) return this.#refuse('pending-per-address')
    const perAddress = this.guard.limits.maxConnectionsPerAddress
    let open: Set<Connection> | undefined
    if (perAddress > 0) {
      if (++this.#admitted % SWEEP_EVERY === 0) this.#sweep()
      open = this.#byAddress.get(key)
      if (open === undefined) this.#byAddress.set(key, open = new Set())
      // the raw connection closes with the link built on it, so `closed` tells if it still counts
      for (const c of open) if (c.closed) open.delete(c)
      if (open.size >= perAddress) return this.#refuse('per-address')
    }
    if (!this.#makeRoom(now)) return this.#refuse('handshakes')
    open?.add(conn)
    this.#handshaking.set(conn, { at: now, key, proven: false })
    this.#pendingByKey.set(key, pendingHere + 1)
    return true
  }

  /** The handshake on `conn` got a hello that proves the network key: it is spared when room is made. */
  proven (conn: Connection): void {
    const p = this.#handshaking.get(conn)
    if (p !== undefined) p.proven = true
  }

  /**
   * Under a flood, cuts handshakes older than `handshakeTimeoutUnderLoadMs` whose hello has not
   * proven the network key; if the cap is still full, the oldest such one (else the oldest).
   * Half-open connections then cost an attacker a steady stream of new ones, and a new honest
   * handshake (spared once its hello arrived, however slow the rest) gets through.
   */
  #makeRoom (now: number): boolean {
    const cap = this.guard.limits.maxPendingHandshakes
    if (cap === 0 || !this.underLoad) return true
    const short = this.guard.limits.handshakeTimeoutUnderLoadMs
    if (short > 0) {
      for (const [c, p] of this.#handshaking) {
        // oldest first: the rest are younger
        if (now - p.at < short) break
        if (!p.proven) this.#evict(c, 'refused.handshake-timeout-under-load')
      }
    }
    if (this.#handshaking.size < cap) return true
    let victim: Connection | undefined
    for (const [c, p] of this.#handshaking) {
      victim ??= c
      if (!p.proven) { victim = c; break }
    }
    if (victim === undefined) return false
    this.#evict(victim, 'refused.handshake-evicted')
    return true
  }

  #evict (conn: Connection, counter: 'refused.handshake-timeout-under-load' | 'refused.handshake-evicted'): void {
    this.#forget(conn)
    this.released(conn)
    this.metrics.inc(counter)
    conn.close(new BusyError(counter.slice('refused.'.length)))
  }

  /** Drops `conn` from the handshakes in progress; false if it was not there. */
  #forget (conn: Connection): boolean {
    const p = this.#handshaking.get(conn)
    if (p === undefined) return false
    this.#handshaking.delete(conn)
    const n = (this.#pendingByKey.get(p.key) ?? 1) - 1
    if (n <= 0) this.#pendingByKey.delete(p.key)
    else this.#pendingByKey.set(p.key, n)
    return true
  }

  /**
   * The inbound handshake of `conn` ended, with `err` if it failed. A failure on bad bytes
   * (`ERR_HANDSHAKE`: wrong network key, garbage) is an offence of the address; timeouts and
   * closes are not (an overloaded node must not ban the peers it was too slow for).
   */
  settled (conn: Connection, err?: unknown): void {
    if (!this.#forget(conn)) return
    if (err !== undefined) this.released(conn)
    if ((err as { code?: unknown } | undefined)?.code === 'ERR_HANDSHAKE') this.guard.handshakeFailed(conn.remoteAddress)
  }

  /**
   * An admitted connection closed (its handshake failed, or the link on it closed): it no longer
   * counts against its address. Without this a closed connection stayed in the per-address table
   * (with its socket's objects) until the next admission from that address or the next sweep:
   * after an attack, until more strangers came (abuse bench, issue 18).
   */
  released (conn: Connection): void {
    const key = addressKey(conn.remoteAddress)
    const open = this.#byAddress.get(key)
    if (open === undefined || !open.delete(conn)) return
    if (open.size === 0) this.#byAddress.delete(key)
  }

  #refuse (reason: 'banned' | 'handshakes' | 'per-address' | 'pending-per-address'): false {
    this.metrics.inc(`refused.${reason}`)
    this.#refusal = reason === 'banned' ? undefined : new BusyError(reason)
    return false
  }

  #sweep (): void {
    for (const [key, open] of this.#byAddress) {
      for (const c of open) if (c.closed) open.delete(c)
      if (open.size === 0) this.#byAddress.delete(key)
    }
  }
}
