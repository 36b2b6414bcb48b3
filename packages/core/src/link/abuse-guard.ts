import { parseAddress } from './address.js'
import { BanList, OffenceCounter } from './ban-list.js'
import type { Clock } from '../util/clock.js'
import type { PeerId } from '../wire/identity.js'
import type { AbuseLimits } from '../util/limits.js'
import type { Metrics } from '../util/metrics.js'
import { LinkMeter } from './rate-limiter.js'
import type { Connection } from './transport.js'

export type BanReason = 'rate-limit' | 'invalid-frame' | 'handshake'

/** The payload of the node's `peer:ban` event. */
export interface BanEvent {
  /** The banned peer id (absent for an address banned before any peer proved an id). */
  id?: PeerId
  /** The banned remote address key (an IP, an IPv6 /64, or `memory:<host>`), when known. */
  address?: string
  reason: BanReason
  /** How long the ban lasts, ms. */
  ms: number
}

/** Sweep the per-address table of closed connections every this many admissions. */
const SWEEP_EVERY = 256

/**
 * The node's abuse limits in one place (limits.ts `AbuseLimits`): admission of inbound
 * connections (bans, the concurrent-handshake cap, the per-address cap), per-link inbound
 * meters, offence counting and bans. Pure bookkeeping on the injected clock: the node closes
 * what this refuses. Every refusal and ban is counted in the node's metrics.
 */
export class AbuseGuard {
  readonly #bans: BanList<BanReason>
  readonly #invalidFrames: OffenceCounter
  readonly #badHandshakes: OffenceCounter
  readonly #byAddress = new Map<string, Set<Connection>>()
  readonly #handshaking = new Set<Connection>()
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
    if (limits.banMs <= 0 || limits.maxBans < 1 || limits.offenceWindowMs <= 0) throw new TypeError('abuse.banMs, abuse.maxBans and abuse.offenceWindowMs must be positive')
    this.#bans = new BanList(limits.banMs, limits.maxBans)
    this.#invalidFrames = new OffenceCounter(limits.offenceWindowMs, limits.maxBans)
    this.#badHandshakes = new OffenceCounter(limits.offenceWindowMs, limits.maxBans)
  }

  /** Inbound handshakes in progress. */
  get pendingHandshakes (): number { return this.#handshaking.size }

  /**
   * Decides whether an inbound connection may start its handshake. False means refuse (the
   * caller closes it); the reason is counted as `refused.<banned|handshakes|per-address>`.
   * An admitted connection must be reported to `settled` exactly once.
   */
  admit (conn: Connection): boolean {
    const key = addressKey(conn.remoteAddress)
    if (this.#bans.has(key, this.clock.now())) return this.#refuse('banned')
    const cap = this.limits.maxPendingHandshakes
    if (cap > 0 && this.#handshaking.size >= cap) return this.#refuse('handshakes')
    const perAddress = this.limits.maxConnectionsPerAddress
    if (perAddress > 0) {
      if (++this.#admitted % SWEEP_EVERY === 0) this.#sweep()
      let open = this.#byAddress.get(key)
      if (open === undefined) this.#byAddress.set(key, open = new Set())
      // the raw connection closes with the link built on it, so `closed` tells if it still counts
      for (const c of open) if (c.closed) open.delete(c)
      if (open.size >= perAddress) return this.#refuse('per-address')
      open.add(conn)
    }
    this.#handshaking.add(conn)
    return true
  }

  /**
   * The inbound handshake of `conn` ended, with `err` if it failed. A failure on bad bytes
   * (`ERR_HANDSHAKE`: wrong network key, garbage) is an offence of the address; timeouts and
   * closes are not (an overloaded node must not ban the peers it was too slow for).
   */
  settled (conn: Connection, err?: unknown): void {
    if (!this.#handshaking.delete(conn)) return
    if ((err as { code?: unknown } | undefined)?.code !== 'ERR_HANDSHAKE') return
    const limit = this.limits.maxHandshakeFailures
    const key = addressKey(conn.remoteAddress)
    if (limit > 0 && this.#badHandshakes.add(key, this.clock.now()) >= limit) {
      this.#badHandshakes.clear(key)
      this.ban(undefined, conn.remoteAddress, 'handshake')
    }
  }

  /** Why `id` or the address `remoteAddress` is banned now, or undefined. */
  banned (id: PeerId | undefined, remoteAddress: string | undefined): BanReason | undefined {
    const now = this.clock.now()
    return (id === undefined ? undefined : this.#bans.reason(id, now)) ??
      (remoteAddress === undefined ? undefined : this.#bans.reason(addressKey(remoteAddress), now))
  }

  /** Counts a dial or a finished handshake refused because of a ban. */
  refusedBanned (): void { this.metrics.inc('refused.banned') }

  /** A meter for one new link, on the guard's clock: `admit(bytes)` is false once the peer is over its rates. */
  meter (): LinkMeter {
    const l = this.limits
    return new LinkMeter({ framesPerSecond: l.peerFramesPerSecond, bytesPerSecond: l.peerBytesPerSecond }, this.clock.now(), this.clock)
  }

  /**
   * An authenticated peer sent an invalid frame. Returns true when that made it (by id or by
   * address) reach `maxInvalidFrames` in the window: it is then banned.
   */
  invalidFrame (id: PeerId, remoteAddress: string): boolean {
    const limit = this.limits.maxInvalidFrames
    if (limit === 0) return false
    const now = this.clock.now()
    const key = addressKey(remoteAddress)
    const byId = this.#invalidFrames.add(id, now)
    const byAddr = this.#invalidFrames.add(key, now)
    if (byId < limit && byAddr < limit) return false
    this.#invalidFrames.clear(id)
    this.#invalidFrames.clear(key)
    this.ban(id, remoteAddress, 'invalid-frame')
    return true
  }

  /** Bans a peer id and/or its address for `banMs`, counts `bans.<reason>` and reports it. */
  ban (id: PeerId | undefined, remoteAddress: string | undefined, reason: BanReason): void {
    const now = this.clock.now()
    const address = remoteAddress === undefined ? undefined : addressKey(remoteAddress)
    if (id !== undefined) this.#bans.ban(id, reason, now)
    if (address !== undefined) this.#bans.ban(address, reason, now)
    this.metrics.inc(`bans.${reason}`)
    const e: BanEvent = { reason, ms: this.limits.banMs }
    if (id !== undefined) e.id = id
    if (address !== undefined) e.address = address
    this.onBan(e)
  }

  /** Ids and addresses banned now. */
  banList (): string[] { return this.#bans.keys(this.clock.now()) }

  #refuse (reason: 'banned' | 'handshakes' | 'per-address'): false {
    this.metrics.inc(`refused.${reason}`)
    return false
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
