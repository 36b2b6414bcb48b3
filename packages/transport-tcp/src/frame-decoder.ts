import { InvalidFrameError, TooLargeError } from '@hearsay/core'

/**
 * The TCP wire format, free of sockets so that it can be unit-tested and fuzzed: every frame is
 * a 4-byte big-endian unsigned payload length followed by that many payload bytes.
 */
export const FRAME_HEADER_BYTES = 4
/** The largest length a 4-byte header can declare. */
export const MAX_WIRE_FRAME_BYTES = 0xffff_ffff

export interface FrameDecoderOptions {
  /** Largest payload accepted; a header declaring more fails with `TooLargeError`. */
  maxFrameBytes: number
  /**
   * Allocates the buffer for a frame that must be copied (it spans several chunks, or is small
   * next to the chunk it sits in). Only ever called with a size up to `maxFrameBytes`; tests
   * pass a counting allocator to prove it.
   */
  allocate?: (size: number) => Uint8Array
}

const defaultAllocate = (size: number): Uint8Array => new Uint8Array(size)

/**
 * Where every decoder assembles a frame that spans chunks for a transient consumer (one that reads
 * a frame only during the call: `decode`): that consumer is done with it before the next frame is
 * assembled, so one buffer serves every connection. Taken while in use (a consumer that decodes
 * on another connection from inside its callback gets a buffer of its own).
 */
let scratch: Uint8Array | undefined

/** Checks a frame limit: an integer a 4-byte header can express. Throws `TypeError`. */
export function checkMaxFrameBytes (value: unknown, what = 'maxFrameBytes'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_WIRE_FRAME_BYTES) {
    throw new TypeError(`${what} must be an integer from 0 to ${MAX_WIRE_FRAME_BYTES}, got ${String(value)}`)
  }
  return value
}

/** Writes the 4-byte big-endian length header for a payload of `length` bytes. */
export function writeFrameHeader (target: Uint8Array, offset: number, length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > MAX_WIRE_FRAME_BYTES) {
    throw new TypeError(`A frame length must be an integer from 0 to ${MAX_WIRE_FRAME_BYTES}, got ${String(length)}`)
  }
  target[offset] = length >>> 24
  target[offset + 1] = (length >>> 16) & 0xff
  target[offset + 2] = (length >>> 8) & 0xff
  target[offset + 3] = length & 0xff
}

/** Header and payload in one new buffer (what the transport writes for small frames). */
export function encodeFrame (payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length)
  writeFrameHeader(out, 0, payload.length)
  out.set(payload, FRAME_HEADER_BYTES)
  return out
}

/**
 * Incremental decoder. Chunks are kept in a list with a byte count and copied only when a frame
 * completes, so a frame arriving in many small pieces costs one copy, not a quadratic number.
 * The declared length is checked against `maxFrameBytes` as soon as the 4 header bytes are in,
 * before anything is allocated for the payload.
 *
 * The decoder takes ownership of the chunks it is given: do not modify them afterwards (frames
 * may be views into them). Once it has thrown, the decoder is failed and every later call throws
 * the same error.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number
  private readonly allocate: (size: number) => Uint8Array
  private chunks: Uint8Array[] = []
  /** Index of the first chunk with unread bytes. */
  private head = 0
  /** Read position inside `chunks[head]`. */
  private offset = 0
  /** Unread bytes across all chunks. */
  private buffered = 0
  /** Payload length of the frame being read, or -1 while reading a header. */
  private need = -1
  private failure: Error | undefined

  constructor (options: FrameDecoderOptions) {
    this.maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes)
    this.allocate = options.allocate ?? defaultAllocate
  }

  /** Bytes held that do not yet form a complete frame. */
  get bufferedBytes (): number { return this.buffered }

  /** True while a frame (or its header) has started but not completed. */
  get partial (): boolean { return this.buffered > 0 || this.need >= 0 }

  /** Adds a chunk and returns the frames it completes, in order. */
  push (chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = []
    this.decode(chunk, frame => { frames.push(frame) })
    return frames
  }

  /**
   * Adds a chunk and calls `onFrame` for every frame it completes, in order. On an invalid
   * header the frames before it have already been delivered; then it throws `TooLargeError`.
   * `transient`: `onFrame` reads each frame only during the call and keeps no reference to it, so
   * a frame may be a view into a chunk however small it is, or a buffer reused for the next frame
   * (no allocation, no copy where the frame lies in one chunk).
   */
  decode (chunk: Uint8Array, onFrame: (frame: Uint8Array) => void, transient = false): void {
    if (this.failure !== undefined) throw this.failure
    if (!(chunk instanceof Uint8Array)) throw new TypeError('FrameDecoder needs Uint8Array chunks')
    if (chunk.length > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.length
    }
    while (true) {
      if (this.need < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break
        const length = this.readHeader()
        if (length > this.maxFrameBytes) {
          this.release()
          this.failure = new TooLargeError(`Peer declared a frame of ${length} bytes, above the limit of ${this.maxFrameBytes}`)
          throw this.failure
        }
        this.need = length
      }
      if (this.buffered < this.need) break
      if (transient && this.need > 0) {
        this.deliverTransient(this.need, onFrame)
        continue
      }
      const frame = this.take(this.need)
      this.need = -1
      onFrame(frame)
    }
    this.compact()
  }

  /**
   * Declares the end of the stream. Throws `InvalidFrameError` if it stopped inside a header or
   * a payload (a truncated frame).
   */
  end (): void {
    if (this.failure !== undefined) throw this.failure
    if (!this.partial) return
    const message = this.need < 0
      ? `Stream ended inside a frame header (${this.buffered} of ${FRAME_HEADER_BYTES} bytes)`
      : `Stream ended inside a frame (${this.buffered} of ${this.need} bytes)`
    this.release()
    this.failure = new InvalidFrameError(message)
    throw this.failure
  }

  private readHeader (): number {
    const first = this.chunks[this.head]!
    let length: number
    if (first.length - this.offset >= FRAME_HEADER_BYTES) {
      const o = this.offset
      length = first[o]! * 0x100_0000 + (first[o + 1]! << 16 | first[o + 2]! << 8 | first[o + 3]!)
      this.advance(FRAME_HEADER_BYTES)
    } else {
      length = 0
      for (let i = 0; i < FRAME_HEADER_BYTES; i++) {
        const chunk = this.chunks[this.head]!
        length = length * 256 + chunk[this.offset]!
        this.advance(1)
      }
    }
    return length
  }

  /** Consumes `n` bytes that lie inside the current chunk. */
  private advance (n: number): void {
    this.offset += n
    this.buffered -= n
    if (this.offset === this.chunks[this.head]!.length) {
      this.head++
      this.offset = 0
    }
  }

  /** Removes `n` buffered bytes (n <= buffered, n <= maxFrameBytes) and returns them as a frame. */
  private take (n: number): Uint8Array {
    if (n === 0) return this.allocate(0)
    const first = this.chunks[this.head]!
    const available = first.length - this.offset
    if (available >= n) {
      let frame: Uint8Array
      // a view when it costs little memory to keep the chunk alive, else a copy so that a small
      // retained frame does not pin a 64 KiB socket read
      if (n * 2 >= first.buffer.byteLength) {
        frame = new Uint8Array(first.buffer, first.byteOffset + this.offset, n)
      } else {
        frame = this.allocate(n)
        frame.set(first.subarray(this.offset, this.offset + n))
      }
      this.advance(n)
      return frame
    }
    return this.fill(this.allocate(n))
  }

  /** Moves the next `frame.length` buffered bytes, across chunks, into `frame`. */
  private fill (frame: Uint8Array): Uint8Array {
    const n = frame.length
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[this.head]!
      const count = Math.min(chunk.length - this.offset, n - filled)
      frame.set(chunk.subarray(this.offset, this.offset + count), filled)
      filled += count
      this.advance(count)
    }
    return frame
  }

  /** Removes `n` buffered bytes (0 < n <= buffered) and hands them to a transient consumer: a view, or the shared scratch buffer. */
  private deliverTransient (n: number, onFrame: (frame: Uint8Array) => void): void {
    const first = this.chunks[this.head]!
    if (first.length - this.offset >= n) {
      const frame = new Uint8Array(first.buffer, first.byteOffset + this.offset, n)
      this.advance(n)
      this.need = -1
      onFrame(frame)
      return
    }
    let buffer = scratch
    scratch = undefined
    if (buffer === undefined || buffer.length < n) buffer = this.allocate(Math.max(n, buffer?.length ?? 0))
    try {
      const frame = this.fill(buffer.subarray(0, n))
      this.need = -1
      onFrame(frame)
    } finally {
      scratch = buffer
    }
  }

  /** Drops consumed chunks from the list (amortised O(1) per chunk). */
  private compact (): void {
    if (this.head === this.chunks.length) {
      this.chunks = []
      this.head = 0
    } else if (this.head > 32 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head)
      this.head = 0
    }
  }

  private release (): void {
    this.chunks = []
    this.head = 0
    this.offset = 0
    this.buffered = 0
    this.need = -1
  }
}
