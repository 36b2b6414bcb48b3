import { parseAddress } from './address.js'
import { BanList, OffenceCounter } from './ban-list.js'
import type { Clock } from '../util/clock.js'
import type { PeerId } from '../wire/identity.js'
import type { AbuseLimits } from '../util/limits.js'
import type { Metrics } from '../util/metrics.js'
import { PeerThrottle } from './rate-limiter.js'
import type { Connection } from './transport.js'

export type BanReason = 'rate-limit' | 'invalid-frame' | 'handshake'

/** The payload of the node's `peer:ban` event. */
export interface BanEvent {
  /** The banned peer id (absent for an address penalised for failed handshakes: no peer proved an id). */
  id?: PeerId
  /** The banned remote address key (an IP, an IPv6 /64, or `memory:<host>`), when known. */
  address?: string
  reason: BanReason
  /** How long the ban lasts, ms (`banMs` for an id, `addressBanMs` for an address). */
  ms: number
}

/** Sweep the per-address table of closed connections every this many admissions. */
const SWEEP_EVERY = 256

/** An inbound handshake in progress: when it started, the address key it counts under, whether its hello proved the network key. */
interface Pending { at: number, key: string, proven: boolean }

/**
 * The node's abuse limits in one place (limits.ts `AbuseLimits`): admission of inbound
 * connections (address penalties, the concurrent-handshake caps, global and per address, the
 * per-address connection cap), per-peer inbound throttles, offence counting and bans. Pure
 * bookkeeping on the injected clock: the node closes what this refuses; the one connection this
 * closes itself is a handshake it cuts to make room. Every refusal and ban is counted in the
 * node's metrics.
 *
 * The policy (docs/api.md, "Abuse limits"): a peer id is banned for what it did after proving
 * it (a flood that outlasts its throttle, invalid frames); an address is never banned for what
 * an authenticated peer did, since a NAT puts many peers behind one. An address is only
 * penalised for unauthenticated garbage (failed handshakes), briefly (`addressBanMs`), and even
 * then one handshake at a time from it is still let through: a peer that completes it is in.
 */
export class AbuseGuard {
  readonly #bans: BanList<BanReason>
  readonly #addressBans: BanList<BanReason>
  readonly #invalidFrames: OffenceCounter
  readonly #badHandshakes: OffenceCounter
  readonly #byAddress = new Map<string, Set<Connection>>()
  /** Handshakes in progress, oldest first. */
  readonly #handshaking = new Map<Connection, Pending>()
  readonly #pendingByKey = new Map<string, number>()
  #admitted = 0

  constructor (
    readonly limits: Readonly<AbuseLimits>,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly onBan: (e: BanEvent) => void
  ) {
    for (const [k, v] of Object.entries(limits)) {
      if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`abuse.${k} must be a non-negative number`)
    }
    if (limits.banMs <= 0 || limits.addressBanMs <= 0 || limits.maxBans < 1 || limits.offenceWindowMs <= 0) {
      throw new TypeError('abuse.banMs, abuse.addressBanMs, abuse.maxBans and abuse.offenceWindowMs must be positive')
    }
    this.#bans = new BanList(limits.banMs, limits.maxBans)
    this.#addressBans = new BanList(limits.addressBanMs, limits.maxBans)
    this.#invalidFrames = new OffenceCounter(limits.offenceWindowMs, limits.maxBans)
    this.#badHandshakes = new OffenceCounter(limits.offenceWindowMs, limits.maxBans)
  }

  /** Inbound handshakes in progress. */
  get pendingHandshakes (): number { return this.#handshaking.size }

  /** True while half of `maxPendingHandshakes` (or more) are in progress: a handshake flood. */
  get underLoad (): boolean {
    const cap = this.limits.maxPendingHandshakes
    return cap > 0 && this.#handshaking.size * 2 >= cap
  }

  /** The timeout a new inbound handshake gets: `base`, or `handshakeTimeoutUnderLoadMs` under a flood. */
  handshakeTimeout (base: number): number {
    const short = this.limits.handshakeTimeoutUnderLoadMs
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
    if (this.#addressBans.has(key, now) && pendingHere >= 1) return this.#refuse('banned')
    const perAddressPending = this.limits.maxPendingHandshakesPerAddress
    if (perAddressPending > 0 && pendingHere >= perAddressPending) return this.#refuse('pending-per-address')
    const perAddress = this.limits.maxConnectionsPerAddress
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
   * Under a flood, cuts handshakes older than `handshakeTimeoutUnderLoadMs`; if the cap is still
   * full, the oldest one whose hello has not proven the network key (else the oldest). Half-open
   * connections then cost an attacker a steady stream of new ones, and a new honest handshake
   * (done in a few round trips, and spared once its hello arrived) gets through.
   */
  #makeRoom (now: number): boolean {
    const cap = this.limits.maxPendingHandshakes
    if (cap === 0 || !this.underLoad) return true
    const short = this.limits.handshakeTimeoutUnderLoadMs
    for (const [c, p] of this.#handshaking) {
      if (short === 0 || now - p.at < short) break
      this.#evict(c, 'refused.handshake-timeout-under-load')
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

  #evict (conn: Connection, counter: string): void {
    this.#forget(conn)
    this.released(conn)
    this.metrics.inc(counter)
    conn.close()
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
    if ((err as { code?: unknown } | undefined)?.code !== 'ERR_HANDSHAKE') return
    const limit = this.limits.maxHandshakeFailures
    const key = addressKey(conn.remoteAddress)
    if (limit > 0 && this.#badHandshakes.add(key, this.clock.now()) >= limit) {
      this.#badHandshakes.clear(key)
      this.ban(undefined, conn.remoteAddress, 'handshake')
    }
  }

  /** Why `id` or the address `remoteAddress` is banned (or penalised) now, or undefined. */
  banned (id: PeerId | undefined, remoteAddress: string | undefined): BanReason | undefined {
    const now = this.clock.now()
    return (id === undefined ? undefined : this.#bans.reason(id, now)) ??
      (remoteAddress === undefined ? undefined : this.#addressBans.reason(addressKey(remoteAddress), now))
  }

  /** Counts a dial or a finished handshake refused because of a ban. */
  refusedBanned (): void { this.metrics.inc('refused.banned') }

  /** The inbound throttle of one new link, on the guard's clock (`peerFramesPerSecond`, `peerBytesPerSecond`, `peerThrottleMs`). */
  meter (): PeerThrottle {
    const l = this.limits
    return new PeerThrottle({ framesPerSecond: l.peerFramesPerSecond, bytesPerSecond: l.peerBytesPerSecond, throttleMs: l.peerThrottleMs }, this.clock)
  }

  /**
   * An authenticated peer sent an invalid frame. Returns true when that made its id reach
   * `maxInvalidFrames` in the window: the id is then banned (not its address, which it may
   * share with honest peers behind one NAT).
   */
  invalidFrame (id: PeerId): boolean {
    const limit = this.limits.maxInvalidFrames
    if (limit === 0) return false
    if (this.#invalidFrames.add(id, this.clock.now()) < limit) return false
    this.#invalidFrames.clear(id)
    this.ban(id, undefined, 'invalid-frame')
    return true
  }

  /**
   * Bans a peer id for `banMs` and/or penalises an address for `addressBanMs`, counts
   * `bans.<reason>` and reports it.
   */
  ban (id: PeerId | undefined, remoteAddress: string | undefined, reason: BanReason): void {
    const now = this.clock.now()
    const address = remoteAddress === undefined ? undefined : addressKey(remoteAddress)
    if (id !== undefined) this.#bans.ban(id, reason, now)
    if (address !== undefined) this.#addressBans.ban(address, reason, now)
    this.metrics.inc(`bans.${reason}`)
    const e: BanEvent = { reason, ms: id !== undefined ? this.limits.banMs : this.limits.addressBanMs }
    if (id !== undefined) e.id = id
    if (address !== undefined) e.address = address
    this.onBan(e)
  }

  /** Ids and addresses banned now. */
  banList (): string[] {
    const now = this.clock.now()
    return [...this.#bans.keys(now), ...this.#addressBans.keys(now)]
  }

  #refuse (reason: 'banned' | 'handshakes' | 'per-address' | 'pending-per-address'): false {
    this.metrics.inc(`refused.${reason}`)
    return false
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

  #sweep (): void {
    for (const [key, open] of this.#byAddress) {
      for (const c of open) if (c.closed) open.delete(c)
      if (open.size === 0) this.#byAddress.delete(key)
    }
  }
}

/**
 * The key an address is capped and banned under: the IP of a socket address (ports differ per
 * connection; an IPv4-mapped IPv6 address is its IPv4; IPv6 by its /64, what one host
 * usually gets), or the whole address for opaque ones (`memory:<host>`, `webrtc:<peer>`).
 */
export function addressKey (remoteAddress: string): string {
  let host: string
  try {
    const p = parseAddress(remoteAddress)
    if (p.host === '') return p.address
    host = p.host.toLowerCase()
  } catch {
    return remoteAddress
  }
  // IPv4-mapped, dotted or as the URL parser normalises it (`::ffff:a00:1`)
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)
  if (dotted !== null) return dotted[1]!
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)
  if (hex !== null) {
    const hi = parseInt(hex[1]!, 16)
    const lo = parseInt(hex[2]!, 16)
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  if (!host.includes(':')) return host
  return ipv6Prefix64(host) ?? host
}

/** The first four groups of an IPv6 address, expanded (`2001:db8::1` → `2001:db8:0:0::/64`). */
function ipv6Prefix64 (host: string): string | undefined {
  const zone = host.indexOf('%')
  const addr = zone === -1 ? host : host.slice(0, zone)
  const halves = addr.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] === '' ? [] : halves[0]!.split(':')
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  return `${groups.slice(0, 4).map(g => (g.replace(/^0+(?=.)/, ''))).join(':')}::/64`
}
