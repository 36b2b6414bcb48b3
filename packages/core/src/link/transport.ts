import type { AbortOptions } from '../util/abort.js'
import type { PeerId } from '../wire/identity.js'
import type { Logger } from '../util/logger.js'

/**
 * A message-oriented, ordered, reliable link between two endpoints: one `send(bytes)` arrives
 * as exactly one frame at the far end. Transports implement it; the secure channel and
 * everything above use only this contract.
 */
export interface Connection {
  /** Where the far end is, as an address string (e.g. `ws://127.0.0.1:51234`). */
  readonly remoteAddress: string
  /** `outbound` if this side dialled. */
  readonly direction: 'inbound' | 'outbound'
  /**
   * The peer id at the far end as the transport knows it, for transports whose addresses name
   * peers (`webrtc:<peerId>`). The node makes the secure handshake prove it. Absent otherwise.
   */
  readonly remotePeer?: PeerId
  /** True once closed by either side; `send` then throws `ConnectionClosedError`. */
  readonly closed: boolean
  /**
   * Bytes queued locally and not yet handed to the operating system or peer. Writers should
   * pause above the high-water mark and wait for `drained()`.
   */
  readonly bufferedAmount: number
  /**
   * Queues one frame. Throws `ConnectionClosedError` if closed, `TooLargeError` if the frame
   * exceeds the transport's `maxFrameBytes` and `TypeError` if it is not a `Uint8Array`. Never
   * blocks. The transport may keep a reference to `frame` until it is written: callers must not
   * modify it afterwards.
   */
  send: (frame: Uint8Array) => void
  /** Resolves when `bufferedAmount` falls to the low-water mark (or the connection closes). */
  drained: (options?: AbortOptions) => Promise<void>
  /**
   * Installs the single consumer. Frames received before this call are buffered and delivered
   * in order; a close that happened before is reported at once.
   */
  setHandlers: (handlers: ConnectionHandlers) => void
  /** Closes the link; idempotent. `reason` is reported to the local close handler. */
  close: (reason?: Error) => void
  /**
   * Optional, both or neither: stop reading from the far end until `resume()`. Frames already
   * read may still arrive; nothing more is read, so the operating system's buffers fill and
   * push back on the sender (its `bufferedAmount` grows, its `drained()` waits). The node
   * pauses a peer that is over its share of inbound work (docs/api.md, "Abuse limits").
   * Transports that read sockets implement them (ws and tcp in Node, memory); a WebRTC data
   * channel cannot stop reading, and leaves them out. Both are idempotent and no-ops once
   * closed; a remote close may only be noticed after `resume()`.
   */
  pause?: () => void
  resume?: () => void
  /**
   * Largest batch (plaintext bytes) the secure channel builds on this connection, for a
   * transport with a preferred message size (WebRTC: one data-channel message holds a 16 KiB
   * batch). @default 65536 (docs/protocol.md, "Batches")
   */
  readonly batchBytes?: number
}

export interface ConnectionHandlers {
  /** A handler that throws closes the connection with that error as the reason. */
  onMessage: (frame: Uint8Array) => void
  /**
   * True while `onMessage` reads each frame only during the call and keeps no reference to it
   * (the secure channel, which decrypts it into new memory): a transport may then hand it a view
   * into its read buffer, or a buffer it reuses for the next frame, instead of a copy of its own.
   * Read for every frame. @default false
   */
  readonly transient?: boolean
  /** Called exactly once. `reason` is set when the close was caused by an error. */
  onClose: (reason?: Error) => void
}

export interface Listener {
  /** The addresses that dialers can use, with the real port when 0 was asked for. */
  readonly addresses: string[]
  /** Stops accepting; connections already accepted stay open. */
  close: () => Promise<void>
}

export interface TransportCapabilities {
  /** Whether `listen` works in this runtime (false for ws and tcp in browsers). */
  listen: boolean
}

export interface DialOptions extends AbortOptions {
  /** Overrides the transport's frame limit for this connection. */
  maxFrameBytes?: number
}

export interface ListenOptions extends AbortOptions {
  maxFrameBytes?: number
}

/** A transport, as returned by a factory such as `webSockets()` or `tcp()`. */
export interface Transport {
  /** A short name for logs and metrics. */
  readonly name: string
  /** The address schemes it handles, e.g. `['ws', 'wss']`. */
  readonly protocols: readonly string[]
  readonly supports: TransportCapabilities
  /** Opens a connection; rejects with `DialError`, `AbortError` or `InvalidAddressError`. */
  dial: (address: string, options?: DialOptions) => Promise<Connection>
  /**
   * Accepts connections on `address` (port 0 picks a free port). Rejects with
   * `UnsupportedError` where the runtime cannot listen.
   */
  listen: (address: string, onConnection: (conn: Connection) => void, options?: ListenOptions) => Promise<Listener>
  /** Releases everything the transport holds (listeners, sockets). Idempotent. */
  close: () => Promise<void>
  /**
   * Optional: called by the node in `start()`, after its identity is loaded and before it
   * listens, with what a transport that needs the node gets from it (its peer id, overlay
   * signalling). A rejection fails `start()`. Transports that need nothing leave it out.
   */
  start?: (context: TransportContext, options?: AbortOptions) => Promise<void>
}

/** What the node gives a transport in `Transport.start`. */
export interface TransportContext {
  /** The node's peer id. */
  readonly peerId: PeerId
  /** Signalling through the overlay (WebRTC offers, answers and candidates). */
  readonly signals: SignalRouter
  readonly logger: Logger
  /** The node's counters: a transport counts what it drops (`drop('reason')` → `drops.<reason>`). Optional for hand-made contexts. */
  readonly metrics?: { drop: (reason: string) => void }
  /**
   * The STUN/TURN servers that the peers this node dialled offered (`ice.servers`,
   * docs/protocol.md), each on the host the node reached that peer at; [] when none did. Read it
   * at each dial: offers come after the handshake and TURN credentials are renewed.
   */
  readonly iceServers?: () => IceServer[]
}

/** A STUN or TURN server, in the shape of WebRTC's `RTCIceServer`. */
export interface IceServer {
  urls: string[]
  username?: string
  credential?: string
}

/** Why a signalling session failed (`rtc.error` on the wire, docs/protocol.md). */
export type SignalFailureCode = 'unreachable' | 'refused' | 'busy' | 'cancelled'

/** A signal addressed to this node. */
export interface Signal {
  /** The peer that sent it (vouched for by the neighbour it came through). */
  from: PeerId
  /** The signalling session it belongs to, chosen by the dialler. */
  session: string
  data: unknown
}

/** A session that cannot go on: the target is unreachable, refused, busy, or the other side cancelled. */
export interface SignalFailure {
  /** The peer the session was with. */
  from: PeerId
  session: string
  code: SignalFailureCode
}

export interface SignalHandlers {
  onSignal: (signal: Signal) => void
  onFailure: (failure: SignalFailure) => void
}

/**
 * Carries small signalling messages to a peer that is not (yet) connected, through the
 * connected peers: directly if it is a neighbour, else through a neighbour that has it as one
 * (the relay, or any common peer). Messages to one peer keep their order.
 */
export interface SignalRouter {
  /**
   * Queues `data` for `to`. Never blocks and never throws for routing problems: those come back
   * as a `SignalFailure` (`unreachable` when no neighbour can reach `to`). `TooLargeError` if
   * the message exceeds the frame limit, `TypeError` for a bad peer id or session.
   */
  send: (to: PeerId, session: string, data: unknown) => void
  /** Tells `to` that this side gives `session` up (`refused`, `busy` or `cancelled`). Best effort. */
  fail: (to: PeerId, session: string, code: SignalFailureCode) => void
  /** Installs the single consumer of signals addressed to this node; returns its removal. */
  setHandlers: (handlers: SignalHandlers) => () => void
}
