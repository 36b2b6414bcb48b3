import { DialError, InvalidAddressError, NotStartedError, parseAddress, SignalFailedError, TimeoutError, isPeerId, toAbortError } from '@hearsay/core'
import type {
  AbortOptions, Clock, Connection, ConnectionHandlers, DialOptions, Listener, ListenOptions, MemoryNetwork, PeerId,
  Random, Signal, SignalFailure, Transport, TransportContext
} from '@hearsay/core'

/**
 * A WebRTC transport for the simulator: the production signalling (`TransportContext.signals`,
 * core's SignalService routing `rtc.signal` over the overlay) carries an offer, an answer and
 * trickled candidates between two pages; once the dialler holds the answer and a candidate, the
 * "ICE checks + DTLS + SCTP" take `connectMs` more, and the data channel is a MemoryNetwork link
 * between the two hosts. Addresses are `webrtc:<peerId>`, as in @hearsay/transport-webrtc, and
 * the session rules are the same: one listener, `maxPendingSessions` inbound sessions
 * connecting at once (more are refused `busy`), a `connectTimeout`, failures reported through
 * the overlay end the session, and a session that gives up tells the far end (`cancelled`).
 *
 * The ICE path is the memory network: each transport listens on a hidden memory name
 * (`rtc-<host>`) that its candidates carry, as real candidates carry an IP and port. Nothing
 * here is seen by the node except the Transport contract.
 */
export interface SimRtcOptions {
  network: MemoryNetwork
  /** This page's host on the network (its kill breaks every link, WebRTC ones included). */
  host: string
  clock: Clock
  random: Random
  /** ICE gathering: delay from the offer (or answer) to its candidates, ms. @default 50 */
  gatherMs: number
  /** Connectivity checks + DTLS + SCTP once the dialler has the answer and a candidate, ms. @default 150 */
  connectMs: number
  /** Candidates trickled by each side, each one signal. @default 2 */
  candidates: number
  /** Size of the SDP in an offer or answer (bytes of padding), to weigh signals realistically. @default 600 */
  sdpBytes: number
  /** @default 20000 (WEBRTC_DEFAULTS.connectTimeout) */
  connectTimeout: number
  /** @default 32 (WEBRTC_DEFAULTS.maxPendingSessions) */
  maxPendingSessions: number
  /** Called at every dial with its target (the scenario classifies targets by reachability). */
  onDial?: (remote: PeerId) => void
}

export const SIM_RTC_DEFAULTS = Object.freeze({ gatherMs: 50, connectMs: 150, candidates: 2, sdpBytes: 600, connectTimeout: 20_000, maxPendingSessions: 32 })

/** Session counters, summed by the scenario over all pages. */
export interface RtcStats {
  dials: number
  /** Data channels opened (dialler side): links made. */
  opened: number
  /** Dials that failed, by cause (`unreachable`, `busy`, `refused`, `cancelled`, `timeout`, `aborted`). */
  failed: Record<string, number>
  /** The same failures by cause and how far the session had got (`unreachable-no-answer`, `unreachable-connecting`, ...). */
  failedAt: Record<string, number>
  /**
   * Sessions that timed out, by side and what had arrived (`out-no-answer`, `out-no-candidate`,
   * `out-connecting`, `in`); dials the node gave up (its dial timeout, an abort) count as
   * `out-aborted-no-answer` / `-no-candidate` / `-connecting`.
   */
  timeouts: Record<string, number>
  /** Answerer sessions that ended without a link, by cause (`unreachable`, `cancelled`, `timeout`, ...). */
  inFailed: Record<string, number>
  /** Offers this page accepted / refused as the answerer. */
  accepted: number
  refused: number
}

type SimSignal = { type: 'offer' | 'answer', sdp: string } | { type: 'candidate', addr: string }

interface Session {
  id: string
  remote: PeerId
  direction: 'inbound' | 'outbound'
  /** Outbound: the answer came. */
  answered: boolean
  /** Outbound: the far end's hidden memory name, from its candidates. */
  remoteName: string | undefined
  connecting: boolean
  settle: (result: Connection | Error) => void
}

export class SimWebRTC implements Transport {
  readonly name = 'webrtc'
  readonly protocols = ['webrtc'] as const
  readonly supports = { listen: true }
  readonly stats: RtcStats = { dials: 0, opened: 0, failed: {}, failedAt: {}, timeouts: {}, inFailed: {}, accepted: 0, refused: 0 }
  #context: TransportContext | undefined
  #removeHandlers: (() => void) | undefined
  #onConnection: ((conn: Connection) => void) | undefined
  #hidden: Listener | undefined
  readonly #inner: Transport
  readonly #sessions = new Map<string, Session>()
  /** Inbound sessions whose dialler will open the memory link, by the dialler's host, oldest first. */
  readonly #awaiting = new Map<string, Session[]>()
  readonly #opts: SimRtcOptions
  /** Time when the first data channel opened, for time-to-first-link. */
  firstLinkAt: number | undefined

  constructor (opts: SimRtcOptions) {
    this.#opts = opts
    this.#inner = opts.network.transport(opts.host)
  }

  get hiddenName (): string { return `rtc-${this.#opts.host}` }

  async start (context: TransportContext, options: AbortOptions = {}): Promise<void> {
    if (options.signal?.aborted === true) throw toAbortError(options.signal.reason)
    if (this.#context !== undefined) throw new TypeError('already started')
    this.#context = context
    this.#removeHandlers = context.signals.setHandlers({
      onSignal: (s) => { this.#onSignal(s) },
      onFailure: (f) => { this.#onFailure(f) }
    })
    this.#hidden = await this.#inner.listen(`memory:${this.hiddenName}`, (conn) => { this.#onMemoryLink(conn) })
  }

  async dial (address: string, options: DialOptions = {}): Promise<Connection> {
    const remote = peerOf(address)
    const context = this.#ready()
    if (options.signal?.aborted === true) throw toAbortError(options.signal.reason)
    if (remote === context.peerId) throw new DialError('A node cannot open a WebRTC connection to itself')
    this.stats.dials++
    this.#opts.onDial?.(remote)
    const id = sessionId(this.#opts.random)
    return await new Promise<Connection>((resolve, reject) => {
      const signal = options.signal
      const onAbort = (): void => {
        const kind = `out-aborted-${stateOf(session)}`
        this.stats.timeouts[kind] = (this.stats.timeouts[kind] ?? 0) + 1
        session.settle(toAbortError(signal?.reason))
      }
      const session = this.#open(id, remote, 'outbound', (result) => {
        signal?.removeEventListener('abort', onAbort)
        if (result instanceof Error) {
          const cause = result instanceof SignalFailedError ? result.reason : result instanceof TimeoutError ? 'timeout' : result.name === 'AbortError' ? 'aborted' : 'other'
          this.stats.failed[cause] = (this.stats.failed[cause] ?? 0) + 1
          const at = `${cause}-${stateOf(session)}`
          this.stats.failedAt[at] = (this.stats.failedAt[at] ?? 0) + 1
          reject(result)
        } else {
          this.stats.opened++
          this.firstLinkAt ??= this.#opts.clock.now()
          resolve(result)
        }
      })
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#send(session, { type: 'offer', sdp: pad(this.#opts.sdpBytes) })
      this.#trickle(session)
    })
  }

  async listen (address: string, onConnection: (conn: Connection) => void, options: ListenOptions = {}): Promise<Listener> {
    if (options.signal?.aborted === true) throw toAbortError(options.signal.reason)
    const context = this.#ready()
    const a = parseAddress(address, 'webrtc')
    if (a.protocol !== 'webrtc' || (a.name !== '*' && a.name !== context.peerId)) throw new InvalidAddressError(`cannot listen on ${address}`)
    this.#onConnection = onConnection
    return { addresses: [`webrtc:${context.peerId}`], close: async () => { this.#onConnection = undefined } }
  }

  async close (): Promise<void> {
    for (const s of [...this.#sessions.values()]) s.settle(new DialError('The WebRTC transport closed'))
    this.#removeHandlers?.()
    this.#removeHandlers = undefined
    this.#context = undefined
    this.#onConnection = undefined
    await this.#hidden?.close()
    this.#hidden = undefined
    await this.#inner.close()
  }

  #ready (): TransportContext {
    if (this.#context === undefined) throw new NotStartedError('The simulated WebRTC transport signals through a started node')
    return this.#context
  }

  #open (id: string, remote: PeerId, direction: 'inbound' | 'outbound', done: (result: Connection | Error) => void): Session {
    const clock = this.#opts.clock
    let settled = false
    const timer = clock.setTimeout(() => {
      const kind = direction === 'inbound' ? 'in' : `out-${stateOf(session)}`
      this.stats.timeouts[kind] = (this.stats.timeouts[kind] ?? 0) + 1
      session.settle(new TimeoutError(`No WebRTC connection to ${remote} within ${this.#opts.connectTimeout} ms`))
    }, this.#opts.connectTimeout)
    const session: Session = {
      id,
      remote,
      direction,
      answered: false,
      remoteName: undefined,
      connecting: false,
      settle: (result) => {
        if (settled) return
        settled = true
        clock.clearTimeout(timer)
        this.#sessions.delete(id)
        this.#unawait(session)
        if (result instanceof Error && !(result instanceof SessionFailure)) {
          // tell the far end, as the real transport does, unless it is the one that gave up
          try { this.#context?.signals.fail(remote, id, 'cancelled') } catch { /* node gone */ }
        }
        done(result instanceof SessionFailure ? result.error : result)
      }
    }
    this.#sessions.set(id, session)
    return session
  }

  #send (session: Session, data: SimSignal): void {
    try { this.#ready().signals.send(session.remote, session.id, data) } catch (err) {
      session.settle(new DialError('A WebRTC signal could not be sent', { cause: err }))
    }
  }

  /** The candidates follow after ICE gathering, each its own signal; they name the hidden listener. */
  #trickle (session: Session): void {
    const { candidates, gatherMs } = this.#opts
    this.#opts.clock.setTimeout(() => {
      if (!this.#sessions.has(session.id)) return
      for (let i = 0; i < candidates; i++) this.#send(session, { type: 'candidate', addr: this.hiddenName })
    }, gatherMs)
  }

  #onSignal (s: Signal): void {
    const data = s.data as SimSignal | undefined
    if (data === null || typeof data !== 'object') return
    const session = this.#sessions.get(s.session)
    if (session !== undefined) {
      if (session.remote !== s.from) return
      if (session.direction === 'outbound') {
        if (data.type === 'answer') session.answered = true
        if (data.type === 'candidate') session.remoteName ??= data.addr
        this.#maybeConnect(session)
      }
      return
    }
    if (data.type !== 'offer') return
    this.#accept(s.from, s.session)
  }

  #accept (from: PeerId, id: string): void {
    const signals = this.#ready().signals
    if (this.#onConnection === undefined) { this.stats.refused++; signals.fail(from, id, 'refused'); return }
    let connecting = 0
    for (const s of this.#sessions.values()) if (s.direction === 'inbound') connecting++
    if (connecting >= this.#opts.maxPendingSessions) { this.stats.refused++; signals.fail(from, id, 'busy'); return }
    this.stats.accepted++
    const session = this.#open(id, from, 'inbound', (result) => {
      if (result instanceof Error) {
        const cause = result instanceof SignalFailedError ? result.reason : result instanceof TimeoutError ? 'timeout' : 'other'
        this.stats.inFailed[cause] = (this.stats.inFailed[cause] ?? 0) + 1
        return
      }
      const accept = this.#onConnection
      if (accept === undefined) { result.close(); return }
      accept(result)
    })
    // the dialler's data channel names it in its first frame, which finds this session
    const list = this.#awaiting.get(from) ?? []
    list.push(session)
    this.#awaiting.set(from, list)
    this.#send(session, { type: 'answer', sdp: pad(this.#opts.sdpBytes) })
    this.#trickle(session)
  }

  #unawait (session: Session): void {
    if (session.direction !== 'inbound') return
    const list = this.#awaiting.get(session.remote)
    if (list === undefined) return
    const i = list.indexOf(session)
    if (i >= 0) list.splice(i, 1)
    if (list.length === 0) this.#awaiting.delete(session.remote)
  }

  #maybeConnect (session: Session): void {
    if (session.connecting || !session.answered || session.remoteName === undefined) return
    session.connecting = true
    const name = session.remoteName
    this.#opts.clock.setTimeout(() => {
      if (!this.#sessions.has(session.id)) return
      this.#inner.dial(`memory:${name}`).then((raw) => {
        // the first frame names the dialler, so that the answerer finds the session it belongs to
        raw.send(new TextEncoder().encode(this.#ready().peerId))
        const conn = new RtcConnection(raw, session.remote, 'outbound').attach()
        if (!this.#sessions.has(session.id)) { conn.close(); return }
        session.settle(conn)
      }, (err: unknown) => { session.settle(new DialError('ICE failed: no path', { cause: err })) })
    }, this.#opts.connectMs)
  }

  /** The dialler's data channel: its first frame names the dialler's peer id. */
  #onMemoryLink (raw: Connection): void {
    let conn: RtcConnection | undefined
    raw.setHandlers({
      onMessage: (frame) => {
        if (conn !== undefined) { conn.receive(frame); return }
        const from = new TextDecoder().decode(frame)
        const session = this.#awaiting.get(from)?.[0]
        if (session === undefined) { raw.close(); return }
        conn = new RtcConnection(raw, from, 'inbound')
        session.settle(conn)
      },
      onClose: (reason) => { conn?.ended(reason) }
    })
  }

  #onFailure (f: SignalFailure): void {
    const session = this.#sessions.get(f.session)
    // as the real transport: a failure for a session that ended changes nothing, and is counted
    if (session === undefined || session.remote !== f.from) { this.#context?.metrics?.drop('rtc-failure-unknown-session'); return }
    session.settle(new SessionFailure(new SignalFailedError(f.from, f.code, `WebRTC session with ${f.from}: ${f.code}`)))
  }
}

/** A session the other side or the overlay ended: nothing to tell the far end. */
class SessionFailure extends Error {
  constructor (readonly error: Error) { super(error.message) }
}

/**
 * A memory link presented as a WebRTC data channel: `webrtc:<peer>` as its address and the peer
 * it names. The raw link's handlers stay with whoever set them (the answerer reads the naming
 * frame first), who hands frames on through `receive` / `ended`; frames that come before the
 * node installs its handlers are buffered, as the contract asks.
 */
class RtcConnection implements Connection {
  readonly remoteAddress: string
  #handlers: ConnectionHandlers | undefined
  readonly #early: Uint8Array[] = []
  #closedEarly: { reason?: Error } | undefined

  constructor (private readonly raw: Connection, readonly remotePeer: PeerId, readonly direction: 'inbound' | 'outbound') {
    this.remoteAddress = `webrtc:${remotePeer}`
  }

  /** Makes this connection the raw link's consumer (the dialler's side). */
  attach (): this {
    this.raw.setHandlers({ onMessage: (f) => { this.receive(f) }, onClose: (reason) => { this.ended(reason) } })
    return this
  }

  receive (f: Uint8Array): void { if (this.#handlers !== undefined) this.#handlers.onMessage(f); else this.#early.push(f) }
  ended (reason?: Error): void { if (this.#handlers !== undefined) this.#handlers.onClose(reason); else this.#closedEarly = { reason } }

  get closed (): boolean { return this.raw.closed }
  get bufferedAmount (): number { return this.raw.bufferedAmount }
  send (frame: Uint8Array): void { this.raw.send(frame) }
  async drained (options?: AbortOptions): Promise<void> { await this.raw.drained(options) }
  close (reason?: Error): void { this.raw.close(reason) }

  setHandlers (handlers: ConnectionHandlers): void {
    if (this.#handlers !== undefined) throw new Error('Connection handlers are already set')
    this.#handlers = handlers
    for (const f of this.#early.splice(0)) handlers.onMessage(f)
    if (this.#closedEarly !== undefined) handlers.onClose(this.#closedEarly.reason)
  }
}

/** How far an outbound session got: what it waits for. */
function stateOf (s: Session): string {
  return !s.answered ? 'no-answer' : s.remoteName === undefined ? 'no-candidate' : 'connecting'
}

function peerOf (address: string): PeerId {
  const a = parseAddress(address, 'webrtc')
  if (a.protocol !== 'webrtc' || !isPeerId(a.name)) throw new InvalidAddressError(`not a webrtc:<peerId> address: ${address}`)
  return a.name
}

function sessionId (random: Random): string {
  return Math.floor(random.float() * 2 ** 48).toString(36) + Math.floor(random.float() * 2 ** 48).toString(36)
}

const pads = new Map<number, string>()
function pad (n: number): string {
  let s = pads.get(n)
  if (s === undefined) pads.set(n, s = 'v'.repeat(n))
  return s
}
