import type { AbortOptions } from './abort.js'

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
}

export interface ConnectionHandlers {
  /** A handler that throws closes the connection with that error as the reason. */
  onMessage: (frame: Uint8Array) => void
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
}
