import { parseAddress } from './address.js'
import { BanList, OffenceCounter } from './ban-list.js'
import type { Clock } from '../util/clock.js'
import type { PeerId } from '../wire/identity.js'
import type { AbuseLimits } from '../util/limits.js'
import type { Metrics } from '../util/metrics.js'
import { PeerThrottle } from './rate-limiter.js'

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

/**
 * The node's abuse limits (limits.ts `AbuseLimits`) for every link: per-peer inbound throttles,
 * offence counting and bans, by peer id and by address. Pure bookkeeping on the injected clock:
 * the node closes what this refuses. Every refusal and ban is counted in the node's metrics. The
 * admission of inbound connections is `Admission` (admission.ts), which only a node that
 * accepts links carries.
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

  /** Whether the address `key` (`addressKey`) is penalised for failed handshakes now. */
  addressPenalised (key: string): boolean { return this.#addressBans.has(key, this.clock.now()) }

  /**
   * An inbound handshake from `remoteAddress` failed on bad bytes (wrong network key, garbage):
   * an offence of the address; `maxHandshakeFailures` of them in the window penalise it.
   */
  handshakeFailed (remoteAddress: string): void {
    const limit = this.limits.maxHandshakeFailures
    if (limit > 0 && this.#badHandshakes.add(addressKey(remoteAddress), this.clock.now()) >= limit) {
      this.#badHandshakes.clear(addressKey(remoteAddress))
      this.ban(undefined, remoteAddress, 'handshake')
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
