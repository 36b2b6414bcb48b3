import {
  DialError, NotStartedError, SignalFailedError, TimeoutError, UnsupportedError, systemRandom, throwIfAborted,
  toAbortError, toHex
} from '@hearsay/core'
import type {
  AbortOptions, Connection, DialOptions, Listener, ListenOptions, PeerId, Signal, SignalFailure, SignalFailureCode,
  Transport, TransportContext
} from '@hearsay/core'
import { addressOf, checkListenAddress, peerOfAddress, PROTOCOLS } from './address.js'
import { WebRTCConnection } from './connection.js'
import { positiveInteger, resolveInit } from './options.js'
import type { ResolvedInit, WebRTCInit } from './options.js'
import type { PeerConstructor, PeerLike, PeerLoader } from './peer-types.js'
import type { RtcConfiguration } from './rtc-types.js'
import { CandidateGate, sanitizeSignal } from './signal-data.js'
import type { RtcSignal } from './signal-data.js'

interface ListenerState {
  onConnection: (conn: Connection) => void
  maxFrameBytes: number
}

/** One offer/answer exchange and, once it succeeds, the connection it carries. */
interface Session {
  id: string
  remote: PeerId
  direction: 'inbound' | 'outbound'
  peer: PeerLike
  /** Ends the connecting phase: with the connection, or with the error that stopped it. */
  settle: (result: WebRTCConnection | Error) => void
  /** Set once the data channel opened. */
  conn: WebRTCConnection | undefined
  /** Feeds a (sanitized) signal from the far end to the peer. */
  deliver: (data: RtcSignal) => void
}

/**
 * Builds the transport around a peer loader (index.browser.ts / index.node.ts). Addresses
 * are `webrtc:<peerId>`; offers, answers and candidates travel through the node's overlay
 * (`TransportContext.signals`), so the transport works once the node has started it.
 */
export function createWebRTC (load: PeerLoader, init: WebRTCInit = {}): Transport {
  return new WebRTCTransport(load, resolveInit(init))
}

class WebRTCTransport implements Transport {
  readonly name = 'webrtc'
  readonly protocols = PROTOCOLS
  readonly supports = { listen: true }
  private context: TransportContext | undefined
  private Peer: PeerConstructor | undefined
  private removeHandlers: (() => void) | undefined
  private listener: ListenerState | undefined
  private readonly sessions = new Map<string, Session>()
  private readonly disposals = new Set<Promise<void>>()
  private closed = false

  constructor (private readonly load: PeerLoader, private readonly init: ResolvedInit) {}

  async start (context: TransportContext, options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    if (this.context !== undefined) throw new TypeError('This WebRTC transport is already started by a node: give each node its own')
    // a node that stopped (closing its transports) may start again
    this.closed = false
    this.Peer = await this.load()
    this.context = context
    this.removeHandlers = context.signals.setHandlers({
      onSignal: (s) => { this.onSignal(s) },
      onFailure: (f) => { this.onFailure(f) }
    })
  }

  async dial (address: string, options: DialOptions = {}): Promise<Connection> {
    const remote = peerOfAddress(address)
    const maxFrameBytes = positiveInteger(options.maxFrameBytes, this.init.maxFrameBytes, 'maxFrameBytes')
    const signal = options.signal
    throwIfAborted(signal)
    const { context, Peer } = this.ready()
    if (remote === context.peerId) throw new DialError('A node cannot open a WebRTC connection to itself')
    const id = toHex(systemRandom.bytes(16))
    const peer = new Peer({ initiator: true, config: this.rtcConfig(context), channelConfig: { ordered: true } })
    return await new Promise<Connection>((resolve, reject) => {
      const onAbort = (): void => { session.settle(toAbortError(signal?.reason)) }
      const session = this.open(id, remote, 'outbound', peer, maxFrameBytes, (result) => {
        signal?.removeEventListener('abort', onAbort)
        if (result instanceof WebRTCConnection) resolve(result)
        else reject(result)
      })
      signal?.addEventListener('abort', onAbort, { once: true })
      void session
    })
  }

  async listen (address: string, onConnection: (conn: Connection) => void, options: ListenOptions = {}): Promise<Listener> {
    throwIfAborted(options.signal)
    const { context } = this.ready()
    checkListenAddress(address, context.peerId)
    if (this.listener !== undefined) throw new UnsupportedError('This WebRTC transport already listens; it accepts offers once per node')
    const state: ListenerState = { onConnection, maxFrameBytes: positiveInteger(options.maxFrameBytes, this.init.maxFrameBytes, 'maxFrameBytes') }
    this.listener = state
    return {
      addresses: [addressOf(context.peerId)],
      close: async () => { if (this.listener === state) this.listener = undefined }
    }
  }

  async close (): Promise<void> {
    this.closed = true
    this.context = undefined
    this.listener = undefined
    this.removeHandlers?.()
    this.removeHandlers = undefined
    for (const s of [...this.sessions.values()]) {
      if (s.conn !== undefined) s.conn.close()
      else s.settle(new DialError('The WebRTC transport closed'))
    }
    // open connections close in-band and linger briefly so the far end reads what was sent
    await Promise.all([...this.disposals])
  }

  /** The configuration of a new peer: the application's ICE servers, else those offered to the node now. */
  private rtcConfig (context: TransportContext): RtcConfiguration {
    if (this.init.fixedIceServers || context.iceServers === undefined) return this.init.rtcConfig
    return { ...this.init.rtcConfig, iceServers: context.iceServers().map(s => ({ ...s, urls: [...s.urls] })) }
  }

  private ready (): { context: TransportContext, Peer: PeerConstructor } {
    if (this.closed) throw new NotStartedError('The WebRTC transport is closed')
    if (this.context === undefined || this.Peer === undefined) {
      throw new NotStartedError('The WebRTC transport signals through a hearsay node: pass it to createNode({ transports }) and start the node')
    }
    return { context: this.context, Peer: this.Peer }
  }

  /**
   * Wires a peer (rtc-peer.ts) into a session: its signals go out through the overlay, its
   * `connect` ends the connecting phase with a connection, and errors, the connect timeout, a
   * failure reported by the overlay or `settle(error)` end it with that error.
   */
  private open (id: string, remote: PeerId, direction: 'inbound' | 'outbound', peer: PeerLike, maxFrameBytes: number, done: (result: WebRTCConnection | Error) => void): Session {
    const context = this.context!
    let settled = false
    let resolveDisposed!: () => void
    const disposed = new Promise<void>(resolve => { resolveDisposed = resolve })
    this.disposals.add(disposed)
    const release = (): void => {
      this.sessions.delete(id)
      this.disposals.delete(disposed)
      resolveDisposed()
    }
    const timer = setTimeout(() => {
      session.settle(new TimeoutError(`No WebRTC connection to ${remote} within ${this.init.connectTimeout} ms`))
    }, this.init.connectTimeout)
    const session: Session = {
      id,
      remote,
      direction,
      peer,
      conn: undefined,
      deliver: () => {},
      settle: (result) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (result instanceof WebRTCConnection) { done(result); return }
        // tell the far end, unless it is the one that gave up
        if (!(result instanceof SessionFailure)) {
          try { context.signals.fail(remote, id, 'cancelled') } catch { /* the node is gone */ }
        }
        try { peer.destroy() } catch { /* already destroyed */ }
        release()
        done(result instanceof SessionFailure ? result.error : result)
      }
    }
    this.sessions.set(id, session)
        peer.on('error', (err) => {
      if (session.conn === undefined) session.settle(new DialError(`WebRTC connection to ${remote} failed: ${err.message}`, { cause: err }))
    })
    peer.on('close', () => {
      if (session.conn === undefined) session.settle(new DialError(`WebRTC connection to ${remote} closed before it opened`))
    })
    const send = (data: unknown): void => {
      try { context.signals.send(remote, id, data) } catch (err) {
        session.settle(new DialError('A WebRTC signal could not be sent', { cause: err }))
      }
    }
    const gate = new CandidateGate(direction === 'outbound', send)
    session.deliver = (data) => {
      try { peer.signal(data) } catch { return /* destroyed meanwhile */ }
      if (data.type === 'answer') gate.open()
    }
    peer.on('signal', (data) => {
      if (!settled) gate.send(data)
    })
    peer.on('connect', () => {
      if (settled) return
      const conn = new WebRTCConnection({
        peer,
        remotePeer: remote,
        direction,
        maxFrameBytes,
        highWaterMark: this.init.highWaterMark,
        chunkBytes: this.init.chunkBytes,
        onDisposed: release
      })
      session.conn = conn
      session.settle(conn)
    })
    return session
  }

  private onSignal (s: Signal): void {
    const data = sanitizeSignal(s.data)
    const drop = (reason: string): void => { this.context?.metrics?.drop(reason) }
    if (data === undefined) { drop('rtc-signal-invalid'); return }
    const session = this.sessions.get(s.session)
    if (session !== undefined) {
      // a session id names one pair of peers: another sender cannot join it
      if (session.remote !== s.from) { drop('rtc-signal-foreign-session'); return }
      session.deliver(data)
      return
    }
    // an answer or a candidate for a session that ended here (it timed out, or failed)
    if (data.type !== 'offer') { drop('rtc-signal-unknown-session'); return }
    this.accept(s.from, s.session, data)
  }

  private accept (from: PeerId, id: string, offer: RtcSignal): void {
    const context = this.context!
    const listener = this.listener
    if (listener === undefined || this.closed) { context.signals.fail(from, id, 'refused'); return }
    let connecting = 0
    for (const s of this.sessions.values()) if (s.direction === 'inbound' && s.conn === undefined) connecting++
    if (connecting >= this.init.maxPendingSessions) { context.signals.fail(from, id, 'busy'); return }
    const peer = new this.Peer!({ initiator: false, config: this.rtcConfig(context), channelConfig: { ordered: true } })
    this.open(id, from, 'inbound', peer, listener.maxFrameBytes, (result) => {
      if (!(result instanceof WebRTCConnection)) {
        context.logger.debug('inbound WebRTC session failed', { from, err: result })
        return
      }
      const current = this.listener
      if (current === undefined) { result.close(); return }
      try { current.onConnection(result) } catch (err) { result.close(err instanceof Error ? err : new Error(String(err))) }
    })
    this.sessions.get(id)?.deliver(offer)
  }

  private onFailure (f: SignalFailure): void {
    const session = this.sessions.get(f.session)
    // a failure for a session that ended, or that already has its connection, changes nothing
    if (session === undefined || session.remote !== f.from || session.conn !== undefined) { this.context?.metrics?.drop('rtc-failure-unknown-session'); return }
    session.settle(new SessionFailure(failureError(f.from, f.code)))
  }
}

/** A session the other side or the overlay ended: nothing to tell the far end. */
class SessionFailure extends Error {
  constructor (readonly error: Error) { super(error.message) }
}

function failureError (peer: PeerId, code: SignalFailureCode): Error {
  switch (code) {
    case 'unreachable': return new SignalFailedError(peer, code, `No connected peer can reach ${peer}`)
    case 'refused': return new SignalFailedError(peer, code, `${peer} does not accept WebRTC connections`)
    case 'busy': return new SignalFailedError(peer, code, `${peer} (or the overlay on the way) is too busy for another WebRTC session`)
    case 'cancelled': return new SignalFailedError(peer, code, `${peer} gave the WebRTC session up`)
  }
}
