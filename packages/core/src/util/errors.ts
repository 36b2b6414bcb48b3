/**
 * Every error hearsay raises is a `HearsayError` with a stable `code`. Messages may change
 * between versions; codes do not. Bad arguments throw plain `TypeError`s instead.
 */
export class HearsayError extends Error {
  readonly code: string
  constructor (message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    // hearsay's own subclasses set literal names (minifiers rename classes); an application's
    // subclass gets its class name
    this.name = new.target === HearsayError ? 'HearsayError' : new.target.name
  }
}

/** An operation was cancelled through its `AbortSignal`. */
export class AbortError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'AbortError'
  constructor (message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, 'ERR_ABORTED', options)
  }
}

/** An operation did not finish within its time limit. */
export class TimeoutError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'TimeoutError'
  constructor (message = 'The operation timed out', options?: { cause?: unknown }) {
    super(message, 'ERR_TIMEOUT', options)
  }
}

/** A frame, id, type or value is larger than the configured limit. */
export class TooLargeError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'TooLargeError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_TOO_LARGE', options)
  }
}

/** Bytes received from a peer could not be decoded into a valid frame or message. */
export class InvalidFrameError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'InvalidFrameError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_INVALID_FRAME', options)
  }
}

/** The secure handshake failed: wrong network key, bad signature, malformed step, timeout. */
export class HandshakeError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'HandshakeError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_HANDSHAKE', options)
  }
}

/** A frame failed authentication after the handshake (tampered, replayed or reordered). */
export class DecryptError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'DecryptError'
  constructor (message = 'Frame failed authentication', options?: { cause?: unknown }) {
    super(message, 'ERR_DECRYPT', options)
  }
}

/** The remote peer proved a different identity than the one the dialer expected. */
export class PeerIdMismatchError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'PeerIdMismatchError'
  constructor (expected: string, actual: string) {
    super(`Expected peer ${expected} but the remote proved ${actual}`, 'ERR_PEER_ID_MISMATCH')
  }
}

/** The node dialled itself (an address that leads back to the same identity). */
export class SelfDialError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'SelfDialError'
  constructor () {
    super('Refusing a connection to self', 'ERR_SELF_DIAL')
  }
}

/** A second connection to a peer that already has one; the duplicate is closed. */
export class DuplicateConnectionError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'DuplicateConnectionError'
  constructor (peerId: string) {
    super(`Already connected to ${peerId}`, 'ERR_DUPLICATE_CONNECTION')
  }
}

/** The connection is closed; nothing more can be sent on it. */
export class ConnectionClosedError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'ConnectionClosedError'
  constructor (message = 'Connection is closed', options?: { cause?: unknown }) {
    super(message, 'ERR_CONNECTION_CLOSED', options)
  }
}

/** The address cannot be parsed, or no configured transport handles its protocol. */
export class InvalidAddressError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'InvalidAddressError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_INVALID_ADDRESS', options)
  }
}

/** No transport of this node can dial or listen on the given protocol. */
export class NoTransportError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'NoTransportError'
  constructor (protocol: string) {
    super(`No transport for protocol "${protocol}"`, 'ERR_NO_TRANSPORT')
  }
}

/** The runtime cannot do this (e.g. listening on a socket inside a browser). */
export class UnsupportedError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'UnsupportedError'
  constructor (message: string) {
    super(message, 'ERR_UNSUPPORTED')
  }
}

/** A dial failed at the transport level (refused, reset, unreachable). */
export class DialError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'DialError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_DIAL_FAILED', options)
  }
}

/** The node is not running (call `start()` first, or it has been stopped). */
export class NotStartedError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'NotStartedError'
  constructor (message = 'The node is not running') {
    super(message, 'ERR_NOT_STARTED')
  }
}

/** A peer store operation failed, or found a value it cannot read. */
export class StoreError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'StoreError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_STORE', options)
  }
}

/** A peer stream was reset by either side (`reason`: `refused`, `cancelled`, `aborted`, `protocol`, or the application's). */
export class StreamResetError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'StreamResetError'
  readonly reason: string
  constructor (reason: string, options?: { cause?: unknown, remote?: boolean }) {
    super(`stream reset${options?.remote === true ? ' by the remote' : ''}: ${reason}`, 'ERR_STREAM_RESET', options)
    this.reason = reason
  }
}

/**
 * The peer or its address is banned for abuse (`reason`: `rate-limit`, `invalid-frame`,
 * `handshake`): a dial to it is refused, and a link cut off by a ban closes with this error.
 */
export class BannedError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'BannedError'
  readonly reason: string
  constructor (reason: string, message = `banned: ${reason}`) {
    super(message, 'ERR_BANNED')
    this.reason = reason
  }
}

/**
 * The remote refused the connection for load, before any handshake: too many handshakes at
 * once (`handshakes`, or one cut to make room: `handshake-evicted`, `handshake-timeout-under-load`)
 * or too many from this address (`per-address`, `pending-per-address`). Nothing is wrong with
 * this node or its network key: try again later (joining the overlay retries by itself). Only
 * a transport that carries close reasons can tell it (WebSocket: close code 1013, "Try Again
 * Later"); over others the refusal closes without a word.
 */
export class BusyError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'BusyError'
  readonly reason: string
  constructor (reason: string, options?: { cause?: unknown }) {
    super(`the remote is busy (${reason}): try again later`, 'ERR_BUSY', options)
    this.reason = reason
  }
}

/**
 * A WebRTC (or other signalled) dial that the overlay ended: `reason` is `unreachable` (no
 * connected peer could carry the offer to `peer`: unknown, gone, or no common neighbour),
 * `refused` (`peer` does not accept such connections), `busy` or `cancelled`. It is a
 * `DialError` (`ERR_DIAL_FAILED`), like a refused socket.
 */
export class SignalFailedError extends DialError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'SignalFailedError'
  readonly peer: string
  readonly reason: 'unreachable' | 'refused' | 'busy' | 'cancelled'
  constructor (peer: string, reason: 'unreachable' | 'refused' | 'busy' | 'cancelled', message: string) {
    super(message)
    this.peer = peer
    this.reason = reason
  }
}

/**
 * A send made before the node had an overlay neighbour did not fit in the join queue
 * (`joinQueue.maxMessages` / `maxBytes`): nothing was queued or sent.
 */
export class QueueFullError extends HearsayError {
  // literal, not the class's own name: minifiers rename classes
  override readonly name: string = 'QueueFullError'
  constructor (message: string) {
    super(message, 'ERR_QUEUE_FULL')
  }
}

/** Every error code, for docs and exhaustive tests. */
/** A link closed because the peer sent what it must not (undecodable, unauthentic or oversized frames, a ban). */
export function isMisbehaviour (reason: unknown): boolean {
  return reason instanceof InvalidFrameError || reason instanceof DecryptError || reason instanceof TooLargeError || reason instanceof BannedError
}

export const ERROR_CODES = [
  'ERR_ABORTED',
  'ERR_TIMEOUT',
  'ERR_TOO_LARGE',
  'ERR_INVALID_FRAME',
  'ERR_HANDSHAKE',
  'ERR_DECRYPT',
  'ERR_PEER_ID_MISMATCH',
  'ERR_SELF_DIAL',
  'ERR_DUPLICATE_CONNECTION',
  'ERR_CONNECTION_CLOSED',
  'ERR_INVALID_ADDRESS',
  'ERR_NO_TRANSPORT',
  'ERR_UNSUPPORTED',
  'ERR_DIAL_FAILED',
  'ERR_NOT_STARTED',
  'ERR_STORE',
  'ERR_STREAM_RESET',
  'ERR_BANNED',
  'ERR_BUSY',
  'ERR_QUEUE_FULL'
] as const
export type ErrorCode = typeof ERROR_CODES[number]
