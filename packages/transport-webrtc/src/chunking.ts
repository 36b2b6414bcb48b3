import { BusyError, ConnectionClosedError, InvalidFrameError, TooLargeError } from '@hearsay/core'

/**
 * How frames travel over a data channel (docs/protocol.md, "WebRTC data channel"): every
 * data-channel message starts with one kind byte. A frame goes as one or more chunks of at most
 * `chunkBytes` (header included), well under the 256 KiB that browsers and node-datachannel
 * accept per message; a close message ends the link after everything sent before it.
 */
export const KIND_MORE = 0x00
export const KIND_LAST = 0x01
export const KIND_CLOSE = 0x02

/** Why a link closed, as the byte after `KIND_CLOSE`. */
export const CLOSE_NORMAL = 0
export const CLOSE_TOO_LARGE = 1
export const CLOSE_INVALID_FRAME = 2
export const CLOSE_ERROR = 3
/** Refused for load (`BusyError`): try again later. An older receiver reads it as an error close. */
export const CLOSE_BUSY = 4

/**
 * The default size of a data-channel message: 16 KiB, the size every WebRTC stack handles
 * well, plus 64 bytes so that a full batch of the secure channel (16 KiB of plaintext and its
 * 16-byte MAC) still goes as one message instead of a full one and a sliver.
 */
export const DEFAULT_CHUNK_BYTES = 16 * 1024 + 64
export const MIN_CHUNK_BYTES = 2
export const MAX_CHUNK_BYTES = 64 * 1024

/** Splits one frame into data-channel messages (a header byte + payload each). */
export function splitFrame (frame: Uint8Array, chunkBytes: number): Uint8Array[] {
  const room = chunkBytes - 1
  const out: Uint8Array[] = []
  let offset = 0
  do {
    const end = Math.min(frame.length, offset + room)
    const chunk = new Uint8Array(1 + end - offset)
    chunk[0] = end === frame.length ? KIND_LAST : KIND_MORE
    chunk.set(frame.subarray(offset, end), 1)
    out.push(chunk)
    offset = end
  } while (offset < frame.length)
  return out
}

export function closeMessage (reason?: Error): Uint8Array {
  return Uint8Array.of(KIND_CLOSE, closeCodeFor(reason))
}

export function closeCodeFor (reason?: Error): number {
  if (reason === undefined) return CLOSE_NORMAL
  if (reason instanceof TooLargeError) return CLOSE_TOO_LARGE
  if (reason instanceof InvalidFrameError) return CLOSE_INVALID_FRAME
  if (reason instanceof BusyError) return CLOSE_BUSY
  return CLOSE_ERROR
}

/** The error a close code stands for at the receiving end; `undefined` for a clean close. */
export function reasonForClose (code: number | undefined): Error | undefined {
  switch (code) {
    case CLOSE_NORMAL: return undefined
    case CLOSE_TOO_LARGE: return new TooLargeError('The peer closed the connection over a frame above its limit')
    case CLOSE_INVALID_FRAME: return new InvalidFrameError('The peer closed the connection over an invalid frame')
    case CLOSE_BUSY: return new BusyError('busy', { cause: new ConnectionClosedError('The peer closed the connection: try again later') })
    default: return new ConnectionClosedError(`The peer closed the connection with an error (code ${String(code)})`)
  }
}

export type Received =
  | { kind: 'frame', frame: Uint8Array }
  | { kind: 'partial' }
  | { kind: 'close', reason: Error | undefined }

/**
 * Puts chunks back together. Memory is bounded by `maxFrameBytes`: a frame that grows past it
 * throws `TooLargeError` as soon as the chunk that crosses the limit arrives.
 */
export class Reassembler {
  private parts: Uint8Array[] = []
  private size = 0

  constructor (private readonly maxFrameBytes: number) {}

  /** Throws `InvalidFrameError` for a message that is not a chunk or a close, `TooLargeError` over the limit. */
  push (message: Uint8Array): Received {
    if (message.length === 0) throw new InvalidFrameError('Received an empty data-channel message')
    const kind = message[0]
    if (kind === KIND_CLOSE) {
      if (message.length !== 2) throw new InvalidFrameError('Received a malformed close message')
      return { kind: 'close', reason: reasonForClose(message[1]) }
    }
    if (kind !== KIND_MORE && kind !== KIND_LAST) throw new InvalidFrameError(`Received a data-channel message of unknown kind ${String(kind)}`)
    const payload = message.subarray(1)
    this.size += payload.length
    if (this.size > this.maxFrameBytes) {
      throw new TooLargeError(`Received a frame above the limit of ${this.maxFrameBytes} bytes`)
    }
    if (kind === KIND_MORE) {
      this.parts.push(payload)
      return { kind: 'partial' }
    }
    let frame = payload
    if (this.parts.length > 0) {
      frame = new Uint8Array(this.size)
      let at = 0
      for (const p of this.parts) { frame.set(p, at); at += p.length }
      frame.set(payload, at)
      this.parts = []
    }
    this.size = 0
    return { kind: 'frame', frame }
  }
}
