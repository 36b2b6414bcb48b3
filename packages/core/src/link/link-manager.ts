import type { AbortOptions } from '../util/abort.js'
import { throwIfAborted, toAbortError, withDeadline } from '../util/abort.js'
import type { TimerSet } from '../util/clock.js'
import {
  BannedError, BusyError, ConnectionClosedError, DialError, HearsayError, InvalidFrameError, isMisbehaviour, NoTransportError, NotStartedError,
  SelfDialError, TimeoutError
} from '../util/errors.js'
import { isReservedType, MSGPACK_CODEC } from '../wire/envelope.js'
import type { EnvelopeCodec } from '../wire/envelope.js'
import type { PeerId } from '../wire/identity.js'
import { isPeerId } from '../wire/identity.js'
import { parseAddress } from './address.js'
import type { UpgradedConnection } from './channel.js'
import type { Inbound, InboundFactory, InboundOptions } from './inbound.js'
import type { ConnectOptions, LinkEvents, ProtocolHandler } from './context.js'
import type { Link } from './peer.js'
import { Peer } from './peer.js'
import type { Connection, Listener, Transport, TransportContext } from './transport.js'

/** What the link manager needs from its node: what the accept path needs, and more. */
export interface LinkManagerOptions extends InboundOptions {
  /** The accept path (`acceptInbound()`); without it the node cannot listen. */
  inbound?: InboundFactory
  transports: Transport[]
  /** The node's life-bound timers. */
  timers: TimerSet
  emit: <K extends 'peer:connect' | 'peer:disconnect'>(event: K, payload: LinkEvents[K]) => void
  defaultProtocol: string
  dialTimeout: number
  duplicateGraceMs: number
  /** Every frame received from a peer (the failure detector's heartbeat). */
  observe: (peer: Peer) => void
  /** Every frame sent to a peer (any traffic is a heartbeat to the far end). */
  sent: (peer: PeerId) => void
  /** An application frame from a peer (to the middleware). */
  receive: (peer: Peer, type: string, data: unknown) => void
  /** The first address a peer advertised in the overlay. */
  advertisedAddress: (peer: PeerId) => string | undefined
  /** A peer connected (after its `peer:connect`) / its last link closed (after its `peer:disconnect`). */
  peerAdded: (peer: Peer) => void
  peerRemoved: () => void
  /** A dial outcome for the peer store. */
  dialed: (address: string, peerId: PeerId | undefined) => void
}

/** How long the earlier link of a peer that dialled again has to answer a ping before the new link replaces it, ms. */
const STALE_PROBE_MS = 2_000

/**
 * The node's links: it listens, dials and accepts, runs the handshake, keeps exactly one link
 * per peer (both ends keep the lowest-ranked duplicate without talking), meters and decodes every
 * frame and dispatches it to a protocol handler or to the application. The node wires it; it
 * knows nothing of the overlay or of services.
 */
export class LinkManager {
  readonly #o: LinkManagerOptions
  readonly #listeners: Listener[] = []
  readonly #peersById = new Map<PeerId, Peer>()
  /** Dials under way, by address and expected peer id. */
  readonly #dialing = new Map<string, Promise<Peer>>()
  readonly #selfAddresses = new Set<string>()
  readonly #protocols = new Map<string, ProtocolHandler>()
  readonly #graceTimers = new Map<PeerId, () => void>()
  readonly #pings = new Map<number, () => void>()
  readonly #pendingConns = new Set<Connection>()
  /** The earlier link of a peer that dialled again, while it is probed (see `#addLink`); the new one is current meanwhile. */
  readonly #probing = new Map<PeerId, Link>()
  #pingSeq = 0
  readonly #codec: EnvelopeCodec
  readonly #inbound: Inbound | undefined

  constructor (options: LinkManagerOptions) {
    this.#o = options
    this.#codec = options.channel.codec ?? MSGPACK_CODEC
    this.#inbound = options.inbound?.({
      o: options,
      hold: (conn) => { this.#pendingConns.add(conn) },
      letGo: (conn) => { this.#pendingConns.delete(conn) },
      addLink: (up, address, admitted) => { this.#addLink(up, 'inbound', address, admitted) },
      cutOff: (conn, reason) => { this.#cutOff(conn, reason) }
    })
    this.handle('hs.bye', (peer, data) => {
      const reason = (data as { reason?: unknown } | null)?.reason
      peer.link.byeReason = typeof reason === 'string' ? reason.slice(0, 64) : 'unspecified'
    })
    // one-way heartbeat: receiving any frame is what the failure detector needs
    this.handle('hs.hb', () => {})
    this.handle('hs.ping', (peer, data) => { this.send(peer, 'hs.pong', data) })
    this.handle('hs.pong', (_peer, data) => {
      const n = (data as { n?: unknown } | null)?.n
      const done = typeof n === 'number' ? this.#pings.get(n) : undefined
      if (done === undefined) { this.#o.metrics.drop('unexpected-pong'); return }
      done()
    })
  }

  /** Addresses the node listens on, with real ports. */
  get addresses (): string[] { return this.#listeners.flatMap(l => l.addresses) }
  get size (): number { return this.#peersById.size }
  peers (): Peer[] { return [...this.#peersById.values()] }
  getPeer (id: PeerId): Peer | undefined { return this.#peersById.get(id) }

  /** Starts the transports (they get the node's signal router), then listens on `addresses`. */
  async listen (addresses: readonly string[], context: TransportContext, options: AbortOptions): Promise<void> {
    for (const t of this.#o.transports) await t.start?.(context, options)
    for (const address of addresses) {
      const parsed = parseAddress(address, this.#o.defaultProtocol)
      const inbound = this.#inbound
      if (inbound === undefined) throw new TypeError(`listening on ${address} needs the inbound option (acceptInbound(); on by default with createNode, and with hearsay/lite in Node)`)
      const listener = await this.#transportFor(parsed.protocol).listen(parsed.address, (conn) => { inbound.accept(conn) }, {
        maxFrameBytes: this.#o.limits.maxFrameBytes + this.#o.channel.overhead,
        signal: options.signal
      })
      this.#listeners.push(listener)
      for (const a of listener.addresses) this.#selfAddresses.add(a)
    }
  }

  /** The reserved types that have a handler (for tests). */
  get protocolTypes (): string[] { return [...this.#protocols.keys()] }

  /** Registers the handler of a reserved message type; returns the function that removes it. */
  handle (type: string, handler: ProtocolHandler): () => void {
    if (!isReservedType(type)) throw new TypeError(`"${type}" is not a reserved protocol type`)
    if (this.#protocols.has(type)) throw new TypeError(`"${type}" already has a handler`)
    this.#protocols.set(type, handler)
    return () => { this.#protocols.delete(type) }
  }

  /** Sends a protocol message; false (the drop counted) when the link is gone or it cannot be sent. */
  send (peer: Peer, type: string, data: unknown): boolean {
    try {
      this.sendFrame(peer, type, data)
      return true
    } catch (err) {
      this.#o.metrics.drop(err instanceof ConnectionClosedError ? 'send-closed' : 'send-failed')
      this.#o.logger.debug('protocol send failed', { type, peer: peer.id, err })
      return false
    }
  }

  /** Encodes and sends one frame; throws `TooLargeError`, `ConnectionClosedError`. */
  sendFrame (peer: Peer, type: string, data: unknown): void {
    const frame = this.#codec.encode({ type, data }, this.#o.limits)
    peer.link.conn.send(frame)
    this.#count(frame)
    // any traffic proves liveness to the far end: no heartbeat is needed on a busy link
    this.#o.sent(peer.id)
  }

  /** One encoded frame to every connected peer (a broadcast without the overlay). */
  sendToAll (frame: Uint8Array): void {
    for (const peer of this.#peersById.values()) {
      try { peer.link.conn.send(frame); this.#count(frame) } catch { this.#o.metrics.drop('send-closed') }
    }
  }

  #count (frame: Uint8Array): void {
    this.#o.metrics.inc('frames.out')
    this.#o.metrics.inc('bytes.out', frame.length)
  }

  /** A connected peer by object, id or address (dialled or advertised); `InvalidAddressError` for a string that is neither. */
  findPeer (peer: Peer | PeerId | string): Peer | undefined {
    if (typeof peer !== 'string') {
      if (peer === null || typeof peer !== 'object' || typeof peer.id !== 'string') throw new TypeError('expected a Peer, a peer id or an address')
      return this.#peersById.get(peer.id)
    }
    if (isPeerId(peer)) return this.#peersById.get(peer)
    const address = parseAddress(peer, this.#o.defaultProtocol).address
    for (const p of this.#peersById.values()) {
      if (p.address === address || this.#o.advertisedAddress(p.id) === address) return p
    }
    return undefined
  }

  /** Closes the link to a peer, saying goodbye first; resolves to whether there was one. */
  async hangUp (peer: Peer | PeerId | string): Promise<boolean> {
    const p = this.findPeer(peer)
    if (p === undefined) return false
    this.send(p, 'hs.bye', { reason: 'hang-up' })
    p.link.conn.close()
    return true
  }

  /** Round-trip time to a connected peer, ms; rejects with `TimeoutError` after `timeout`. */
  async ping (peer: Peer | PeerId, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    const p = typeof peer === 'string' ? this.#peersById.get(peer) : peer
    if (p === undefined || !p.connected) throw new ConnectionClosedError('not connected to that peer')
    return await this.#pingOver(p.link, timeoutMs, signal)
  }

  /** A ping over one link of a peer (its current one, or the earlier one a stale probe asks), ms. */
  async #pingOver (link: Link, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    const n = ++this.#pingSeq
    const clock = this.#o.clock
    const started = clock.now()
    const pong = new Promise<void>((resolve) => { this.#pings.set(n, resolve) })
    try {
      try {
        const frame = this.#codec.encode({ type: 'hs.ping', data: { n } }, this.#o.limits)
        link.conn.send(frame)
        this.#count(frame)
      } catch (err) {
        this.#o.metrics.drop(err instanceof ConnectionClosedError ? 'send-closed' : 'send-failed')
      }
      await withDeadline(pong, { signal, timeoutMs, clock, timeoutMessage: 'ping timed out' })
      return clock.now() - started
    } finally {
      this.#pings.delete(n)
    }
  }

  /** Opens an authenticated link to `address` (or joins the dial to it already under way). */
  async connect (address: string, options: ConnectOptions = {}): Promise<Peer> {
    throwIfAborted(options.signal)
    const parsed = parseAddress(address, this.#o.defaultProtocol)
    if (this.#selfAddresses.has(parsed.address)) throw new SelfDialError()
    const guard = this.#o.guard
    const banned = guard.banned(options.peerId, parsed.address)
    if (banned !== undefined) { guard.refusedBanned(); throw new BannedError(banned) }
    // a dial joins one under way to the same address only if it expects the same peer: joined
    // to a dial that expects another id (a made-up one from gossip), it would fail with that
    // dial's PeerIdMismatchError (the inbound fuzz test's health check did)
    const key = options.peerId === undefined ? parsed.address : `${parsed.address} ${options.peerId}`
    const existing = this.#dialing.get(key)
    if (existing !== undefined) return await existing
    const p = this.#dialOnce(parsed.address, parsed.protocol, options)
    this.#dialing.set(key, p)
    try { return await p } finally { this.#dialing.delete(key) }
  }

  async #dialOnce (address: string, protocol: string, options: ConnectOptions): Promise<Peer> {
    const o = this.#o
    const transport = this.#transportFor(protocol)
    const timeout = options.timeout ?? o.dialTimeout + o.handshakeTimeout
    const ac = new AbortController()
    const abort = (reason: unknown): void => { ac.abort(reason) }
    const cancelTimer = o.timers.after(timeout, () => { abort(new TimeoutError(`dial to ${address} timed out`)) })
    const offStop = o.whenStopping(abort)
    const onCaller = (): void => { abort(options.signal?.reason) }
    options.signal?.addEventListener('abort', onCaller, { once: true })
    try {
      let raw: Connection
      try {
        raw = await transport.dial(address, { signal: ac.signal, maxFrameBytes: o.limits.maxFrameBytes + o.channel.overhead })
      } catch (err) {
        throw ac.signal.aborted ? reasonError(ac.signal.reason) : err
      }
      let up: UpgradedConnection
      this.#pendingConns.add(raw)
      try {
        up = await o.channel.upgrade(raw, {
          role: 'initiator',
          identity: o.identity(),
          expectedPeer: options.peerId ?? raw.remotePeer,
          timeoutMs: o.handshakeTimeout,
          clock: o.clock,
          random: o.random,
          maxFrameBytes: o.limits.maxFrameBytes,
          signal: ac.signal
        })
      } catch (err) {
        o.metrics.inc('handshake.failures')
        if (err instanceof SelfDialError) this.#selfAddresses.add(address)
        throw ac.signal.aborted && !(err instanceof HearsayError && err.code !== 'ERR_ABORTED') ? reasonError(ac.signal.reason) : err
      } finally {
        this.#pendingConns.delete(raw)
      }
      const banned = o.guard.banned(up.remotePeer, undefined)
      if (banned !== undefined) {
        up.conn.close()
        o.guard.refusedBanned()
        throw new BannedError(banned)
      }
      o.dialed(address, up.remotePeer)
      o.metrics.inc('dials.ok')
      return this.#addLink(up, 'outbound', address)
    } catch (err) {
      // a dial cancelled by its caller or by stop() says nothing about the address, and one
      // refused as busy says it is alive: neither counts against it in the peer store, whose
      // purge drops addresses that keep failing (a loaded relay is not a dead one)
      if (!(err instanceof SelfDialError) && !(err instanceof BusyError) && (err as { code?: unknown }).code !== 'ERR_ABORTED') o.dialed(address, undefined)
      o.metrics.inc('dials.failed')
      throw err instanceof HearsayError ? err : new DialError(`dial to ${address} failed`, { cause: err })
    } finally {
      cancelTimer()
      offStop()
      options.signal?.removeEventListener('abort', onCaller)
    }
  }

  #transportFor (protocol: string): Transport {
    const t = this.#o.transports.find(t => t.protocols.includes(protocol))
    if (t === undefined) throw new NoTransportError(protocol)
    return t
  }

  #addLink (up: UpgradedConnection, direction: 'inbound' | 'outbound', address: string, admitted?: Connection): Peer {
    const o = this.#o
    if (o.status() !== 'running') {
      up.conn.close()
      throw new NotStartedError('The node stopped during the dial')
    }
    const dialer = direction === 'outbound' ? o.identity().id : up.remotePeer
    const link: Link = { linkId: up.linkId, rank: `${dialer}:${up.linkId}`, conn: up.conn, address, direction, ...(admitted === undefined ? {} : { admitted }) }
    let peer = this.#peersById.get(up.remotePeer)
    if (peer === undefined) {
      peer = new Peer(up.remotePeer, link, o.clock.now(), this.peerSend)
      this.#peersById.set(peer.id, peer)
      o.metrics.inc('peers.connected')
      o.logger.debug('peer connected', { peer: peer.id, address, direction })
      // the connect event first: frames the peer sent right behind its handshake are buffered
      // and must reach protocol handlers that know the peer
      o.emit('peer:connect', peer)
      o.peerAdded(peer)
      this.#attach(peer, link)
      return peer
    }
    // A second link to a known peer: both ends keep the lowest rank, so they agree without talking.
    o.metrics.inc('links.duplicate')
    const old = peer.link
    if (direction === 'inbound' && old.direction === 'inbound' && !old.conn.closed && old.rank < link.rank) {
      // The peer dialled this node again while it holds the peer's earlier link: the peer may
      // have lost that one without this end knowing (a NAT that forgot the mapping: the peer's
      // side broke at once, this side's looks fine). Keeping the old by rank would retire the
      // only live link; the old one is asked for a pong first, and kept only if it answers.
      // Meanwhile this side speaks on the new link, the one the peer talks on: what it said
      // over the old one would vanish with it (a relay's NEIGHBOR reply lost in the probe left
      // the peer without the relay in its view, so it sent the relay no heartbeats, and the
      // relay declared it down and hung up: the NAT recovery tests, issue 16).
      // (current before it is attached: frames that arrived behind the handshake are handled in #attach)
      peer.link = link
      this.#attach(peer, link)
      this.#pendingConns.add(old.conn)
      this.#probing.set(peer.id, old)
      const settle = (oldAnswered: boolean): void => {
        this.#pendingConns.delete(old.conn)
        if (this.#probing.get(peer.id) === old) this.#probing.delete(peer.id)
        if (old.conn.closed) return
        // the new link closed meanwhile: the old one is the peer's link again (#onLinkClosed)
        if (peer.link === old && this.#peersById.get(peer.id) === peer) return
        // the peer went meanwhile, or a later link took over: the old one goes too
        if (this.#peersById.get(peer.id) !== peer || peer.link !== link || o.status() !== 'running') { old.conn.close(); return }
        if (oldAnswered) {
          // the peer still holds the old link: both ends keep it, as the rank says
          peer.link = old
          this.#graceTimers.get(peer.id)?.()
          this.#graceTimers.delete(peer.id)
          if (!link.conn.closed) this.#retire(link)
          return
        }
        o.metrics.inc('links.replaced-stale')
        old.conn.close()
      }
      this.#pingOver(old, STALE_PROBE_MS).then(() => { settle(true) }, () => { settle(false) })
      return peer
    }
    if (old.rank <= link.rank && !old.conn.closed) {
      this.#attach(peer, link)
      this.#retire(link)
    } else {
      peer.link = link
      this.#attach(peer, link)
      this.#graceTimers.get(peer.id)?.()
      this.#graceTimers.delete(peer.id)
      if (!old.conn.closed) this.#retire(old)
    }
    return peer
  }

  /** `Peer.send` of every peer, one function shared by all; set by the node. */
  peerSend: (peer: Peer, type: string, data: unknown) => void = () => { throw new NotStartedError('no application messaging') }

  #retire (link: Link): void {
    try { link.conn.send(this.#codec.encode({ type: 'hs.bye', data: { reason: 'duplicate' } }, this.#o.limits)) } catch { /* already closing */ }
    // Not closed at once: frames the far end sent on it before it heard of the duplicate are
    // still read (closing at once lost them, as overlay-made simultaneous WebRTC dials showed).
    // It closes when the far end's own bye arrives on it (onFrame), which the far end sends once
    // it has the kept link too, or after `duplicateGraceMs`, as long as the far end waits for the
    // kept link. Until then this may be the far end's only link to us, and it sends on it: a 1 s
    // linger lost a message sent on it by a node whose handshake of the kept link was still
    // running (unit tests under load, about once in a thousand simultaneous dials).
    const conn = link.conn
    this.#pendingConns.add(conn)
    this.#o.timers.after(this.#o.duplicateGraceMs, () => { this.#pendingConns.delete(conn); conn.close() })
  }

  #attach (peer: Peer, link: Link): void {
    const throttle = this.#o.guard.meter()
    const conn = link.conn
    /** Cancels the pending resume while the peer's reads are paused. */
    let paused: (() => void) | undefined
    conn.setHandlers({
      onMessage: (frame) => {
        const verdict = throttle.check(frame.length)
        if (verdict === 'pass') { this.#onFrame(peer, link, frame); return }
        // over its fair share: the excess is dropped (counted), the peer keeps its link. It is
        // alive all the same: were the failure detector fed only admitted frames, it would close
        // a flooder's link as dead before the throttle banned it, and the flooder would be back
        this.#o.metrics.drop('rate-limit')
        this.#o.observe(peer)
        if (conn.closed) return
        if (verdict === 'drop') {
          // and it is not read until its bucket has refilled (where the transport can stop
          // reading): the kernel's buffers push back on the sender, and reading, opening and
          // dropping its flood costs this node nothing meanwhile (counted as throttle.pauses)
          if (paused === undefined && conn.pause !== undefined && conn.resume !== undefined) {
            conn.pause()
            this.#o.metrics.inc('throttle.pauses')
            paused = this.#o.timers.after(throttle.pause(), () => {
              paused = undefined
              throttle.resumed()
              conn.resume?.()
            })
          }
          return
        }
        // over it for abuse.peerThrottleMs: not a fast peer but a flood. The id is banned, not
        // the address: honest peers may share it behind a NAT (counted as bans.rate-limit)
        this.#o.guard.ban(peer.id, undefined, 'rate-limit')
        this.#cutOff(conn, 'rate-limit')
      },
      onClose: (reason) => {
        paused?.()
        paused = undefined
        this.#onLinkClosed(peer, link, reason)
      }
    })
  }

  #onFrame (peer: Peer, link: Link, frame: Uint8Array): void {
    const o = this.#o
    o.metrics.inc('frames.in')
    o.metrics.inc('bytes.in', frame.length)
    let type: string
    let data: unknown
    try {
      ({ type, data } = this.#codec.decode(frame, o.limits))
    } catch (err) {
      // a peer that sends undecodable frames after authenticating is broken or hostile
      o.metrics.drop('invalid-frame')
      o.logger.warn('invalid frame; closing the link', { peer: peer.id, err })
      // one closes the link; `abuse.maxInvalidFrames` of them in the window also ban the sender's id
      if (o.guard.invalidFrame(peer.id)) { this.#cutOff(link.conn, 'invalid-frame'); return }
      link.conn.close(err instanceof HearsayError ? err : new InvalidFrameError('invalid frame', { cause: err }))
      return
    }
    o.observe(peer)
    if (type === 'hs.bye' && link !== peer.link) {
      // a bye on a link this side already replaced: both ends are done with it
      this.#pendingConns.delete(link.conn)
      link.conn.close()
      return
    }
    if (isReservedType(type)) {
      const handler = this.#protocols.get(type)
      if (handler === undefined) { o.metrics.drop('unknown-type'); return }
      try { handler(peer, data, frame.length) } catch (err) {
        o.metrics.drop('handler-error')
        o.logger.warn('protocol handler failed', { type, peer: peer.id, err })
      }
      return
    }
    o.receive(peer, type, data)
  }

  /** Closes a link to a banned peer, telling it why (a buggy peer's operator can see it). */
  #cutOff (conn: Connection, reason: string): void {
    try { conn.send(this.#codec.encode({ type: 'hs.bye', data: { reason: 'banned' } }, this.#o.limits)) } catch { /* already closing */ }
    conn.close(new BannedError(reason))
  }

  #onLinkClosed (peer: Peer, link: Link, reason?: Error): void {
    if (link.admitted !== undefined) this.#inbound?.released(link.admitted)
    const probed = this.#probing.get(peer.id)
    const misbehaved = isMisbehaviour(reason) || this.#o.guard.banned(peer.id, undefined) !== undefined
    if (probed === link) {
      // the old link under the stale probe closed: the peer goes on on its new link (the current
      // one), unless the old one closed for misbehaviour (then the new one goes too)
      this.#probing.delete(peer.id)
      this.#pendingConns.delete(link.conn)
      if (peer.link !== link && this.#peersById.get(peer.id) === peer) {
        if (misbehaved) peer.link.conn.close(reason)
        else this.#o.metrics.inc('links.replaced-stale')
        return
      }
    }
    if (peer.link !== link || this.#peersById.get(peer.id) !== peer) return
    if (probed !== undefined && probed !== link && !probed.conn.closed && this.#o.status() === 'running' && !misbehaved) {
      // the peer's new link closed while its old one was being probed: the old one is its link
      // again (the probe's answer says whether it still works; the failure detector watches it)
      peer.link = probed
      return
    }
    if (link.byeReason === 'duplicate' && this.#o.status() === 'running') {
      // the remote kept another link that has not finished its handshake here yet
      const cancel = this.#o.timers.after(this.#o.duplicateGraceMs, () => {
        this.#graceTimers.delete(peer.id)
        if (peer.link === link) this.#removePeer(peer, reason)
      })
      this.#graceTimers.set(peer.id, cancel)
      return
    }
    this.#removePeer(peer, reason)
  }

  #removePeer (peer: Peer, reason?: Error): void {
    this.#peersById.delete(peer.id)
    this.#probing.delete(peer.id)
    this.#o.metrics.inc('peers.disconnected')
    this.#o.logger.debug('peer disconnected', { peer: peer.id, reason })
    this.#o.emit('peer:disconnect', reason === undefined ? { peer } : { peer, reason })
    this.#o.peerRemoved()
  }

  /** stop(), first part: closes the listeners, the links (saying goodbye) and waits for the dials. */
  async closeLinks (): Promise<void> {
    await Promise.allSettled(this.#listeners.map(async l => { await l.close() }))
    this.#listeners.length = 0
    for (const conn of this.#pendingConns) conn.close()
    this.#pendingConns.clear()
    for (const peer of [...this.#peersById.values()]) {
      this.send(peer, 'hs.bye', { reason: 'shutdown' })
      peer.link.conn.close()
    }
    await Promise.allSettled([...this.#dialing.values()])
  }

  /** stop(), second part (after the timers are cleared): grace timers and transports. */
  async closeTransports (): Promise<void> {
    for (const cancel of this.#graceTimers.values()) cancel()
    this.#graceTimers.clear()
    await Promise.allSettled(this.#o.transports.map(async t => { await t.close() }))
  }

  /** stop(), last: links whose close is still on its way are gone for this run all the same. */
  forget (): void {
    this.#selfAddresses.clear()
    for (const peer of [...this.#peersById.values()]) this.#removePeer(peer)
  }
}

function reasonError (reason: unknown): Error {
  if (reason instanceof HearsayError) return reason.code === 'ERR_NOT_STARTED' ? toAbortError(reason) : reason
  return toAbortError(reason)
}
