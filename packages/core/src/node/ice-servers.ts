import type { IceServer } from '../link/transport.js'
import { parseAddress } from '../link/address.js'
import type { Peer } from '../link/peer.js'
import type { PeerId } from '../wire/identity.js'
import type { ServiceContext } from '../services/context.js'

/**
 * ICE servers learned from the nodes this node joined through (`ice.servers`, docs/protocol.md).
 * A relay or seed offers the STUN (and TURN) servers it runs; a page that joined through
 * `wss://relay.example` gets `stun:relay.example:3478` without configuration. The offer carries
 * no host: the receiver uses the host it dialled the offering peer at, so a peer can only ever
 * point others at itself, and no third party is contacted unless the application says so.
 */

/** One server a node offers to its peers; the host is the one each receiver reached it at. */
export interface IceServerOffer {
  scheme: 'stun' | 'turn' | 'turns'
  /** UDP (stun, turn) or TCP (turns, or turn with `transport: 'tcp'`) port. */
  port: number
  /** `?transport=` of a TURN URL; unset: the client's choice. */
  transport?: 'udp' | 'tcp'
  /** TURN only: a short-lived username and credential (coturn's REST scheme, say). */
  username?: string
  credential?: string
}

/** `offerIceServers` of `createNode`: what to offer a peer that just connected; [] offers nothing. */
export type IceServerOfferer = (peer: Peer) => IceServerOffer[]

/** What the node runs for `ice.servers`: made by the `iceExchange` option's factory. */
export interface IceServerExchange {
  /** Registers the handler and listeners for one run of the node (they go when it stops). */
  start: () => void
  /** Every server learned, first offered first, each URL once. */
  servers: () => IceServer[]
}

/** The `iceExchange` option: makes the exchange of a node from its context and options. */
export type IceExchangeFactory = (ctx: ServiceContext, options: { offerIceServers?: IceServerOfferer, iceOfferRefresh?: number }) => IceServerExchange

/**
 * The exchange of ICE servers (`ice.servers`) for `createNode({ iceExchange })`: on by default
 * with `@hearsay/core`'s and `hearsay`'s `createNode`; `hearsay/lite` (no WebRTC) leaves it out
 * of its bundle.
 */
export function iceExchange (): IceExchangeFactory {
  return (ctx, options) => new IceExchange(ctx, options.offerIceServers, options.iceOfferRefresh ?? 0)
}

export const ICE_LIMITS = Object.freeze({
  /** Most servers in one offer (more: the offer is dropped as invalid). */
  maxServers: 4,
  /** Longest username or credential, characters. */
  maxCredentialLength: 256
})

/** Protocols of the addresses whose hosts offers are accepted from (the host is then in the address). */
const HOST_PROTOCOLS = new Set(['ws', 'wss', 'tcp'])
const SCHEMES = new Set(['stun', 'turn', 'turns'])

/** Checks the data of an `ice.servers` message; undefined if malformed. */
export function parseIceOffer (data: unknown): IceServerOffer[] | undefined {
  const servers = (data as { servers?: unknown } | null)?.servers
  if (!Array.isArray(servers) || servers.length > ICE_LIMITS.maxServers) return undefined
  const out: IceServerOffer[] = []
  for (const s of servers as unknown[]) {
    if (typeof s !== 'object' || s === null) return undefined
    const { scheme, port, transport, username, credential } = s as Record<string, unknown>
    if (typeof scheme !== 'string' || !SCHEMES.has(scheme)) return undefined
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined
    if (transport !== undefined && transport !== 'udp' && transport !== 'tcp') return undefined
    const cred = (v: unknown): v is string | undefined => v === undefined || (typeof v === 'string' && v.length > 0 && v.length <= ICE_LIMITS.maxCredentialLength)
    if (!cred(username) || !cred(credential)) return undefined
    // TURN needs both; STUN takes neither
    if (scheme === 'stun' ? username !== undefined || credential !== undefined : username === undefined || credential === undefined) return undefined
    const offer: IceServerOffer = { scheme: scheme as IceServerOffer['scheme'], port }
    if (transport !== undefined) offer.transport = transport
    if (username !== undefined) offer.username = username
    if (credential !== undefined) offer.credential = credential
    out.push(offer)
  }
  return out
}

/** The `RTCIceServer` an offer names on `host` (an IPv6 host gets brackets). */
export function iceServerOn (host: string, offer: IceServerOffer): IceServer {
  const h = host.includes(':') ? `[${host}]` : host
  const query = offer.transport === undefined ? '' : `?transport=${offer.transport}`
  const server: IceServer = { urls: [`${offer.scheme}:${h}:${offer.port}${query}`] }
  if (offer.username !== undefined) server.username = offer.username
  if (offer.credential !== undefined) server.credential = offer.credential
  return server
}

/** The host an offer from `peer` may name: the one this node dialled it at, if it dialled it by host. */
export function offerHost (peer: Peer): string | undefined {
  if (peer.direction !== 'outbound') return undefined
  try {
    const { protocol, host } = parseAddress(peer.address)
    return HOST_PROTOCOLS.has(protocol) && host !== '' ? host : undefined
  } catch {
    return undefined
  }
}

/** How long the servers a peer offered outlive its link (it may come back at once: `start`), ms. */
export const LEARNED_GRACE_MS = 60_000

/**
 * Both sides of the exchange for one node: offers its servers to each peer that connects (when
 * `offer` is given) and again every `refreshMs`; keeps what its dialled peers offer while they
 * stay connected (and `LEARNED_GRACE_MS` after). Counters: `ice.offers-sent`, `ice.offers-received`; drops `ice-invalid`
 * (malformed) and `ice-unverified-host` (from a peer this node did not dial by host name).
 */
export class IceExchange implements IceServerExchange {
  readonly #learned = new Map<PeerId, IceServer[]>()

  constructor (private readonly ctx: ServiceContext, private readonly offer: IceServerOfferer | undefined, private readonly refreshMs: number) {}

  /** Registers the handler and listeners for one run of the node. */
  start (): void {
    const { ctx } = this
    const offHandle = ctx.handle('ice.servers', (peer, data) => { this.#receive(peer, data) })
    const offConnect = ctx.on('peer:connect', (peer) => { this.#send(peer) })
    // kept a little after a disconnect: a node that lost its link to a relay and dialled it again
    // before the relay noticed gets no new offer (the relay sees a second link to a known peer,
    // no new peer), and without TURN a symmetric NAT's new sessions fail (NAT test, conntrack flush)
    // the timer holds the id only, and only for a peer that offered servers: a relay sees every
    // stranger disconnect, and a timer holding each one's Peer (its link, socket and buffers) for
    // a minute kept an attack's connections in memory after it (abuse bench, issue 18)
    const offDisconnect = ctx.on('peer:disconnect', ({ peer: { id } }) => {
      if (!this.#learned.has(id)) return
      ctx.timers.after(LEARNED_GRACE_MS, () => { if (ctx.getPeer(id) === undefined) this.#learned.delete(id) })
    })
    // renews what each peer holds (TURN credentials expire): timers stop with the node
    const cancelRefresh = this.offer !== undefined && this.refreshMs > 0
      ? ctx.timers.every(this.refreshMs, () => { for (const p of ctx.peers()) this.#send(p) })
      : () => {}
    ctx.whenStopping(() => {
      offHandle()
      offConnect()
      offDisconnect()
      cancelRefresh()
      this.#learned.clear()
    })
  }

  /** Every server learned, first offered first, each URL once. */
  servers (): IceServer[] {
    const seen = new Set<string>()
    const out: IceServer[] = []
    for (const list of this.#learned.values()) {
      for (const s of list) {
        const key = s.urls.join(' ')
        if (seen.has(key)) continue
        seen.add(key)
        out.push(s)
      }
    }
    return out
  }

  #send (peer: Peer): void {
    if (this.offer === undefined) return
    let servers: IceServerOffer[]
    try {
      servers = this.offer(peer)
    } catch (err) {
      this.ctx.reportError(err, 'offerIceServers')
      return
    }
    if (servers.length === 0) return
    if (this.ctx.send(peer, 'ice.servers', { servers: servers.slice(0, ICE_LIMITS.maxServers) })) this.ctx.metrics.inc('ice.offers-sent')
  }

  #receive (peer: Peer, data: unknown): void {
    const offers = parseIceOffer(data)
    if (offers === undefined) { this.ctx.metrics.drop('ice-invalid'); return }
    const host = offerHost(peer)
    if (host === undefined) { this.ctx.metrics.drop('ice-unverified-host'); return }
    this.ctx.metrics.inc('ice.offers-received')
    this.#learned.set(peer.id, offers.map(o => iceServerOn(host, o)))
  }
}
