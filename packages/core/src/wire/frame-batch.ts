import { InvalidFrameError } from '../util/errors.js'

/**
 * Several envelopes in one secure frame (docs/protocol.md, "Batches"): the secure channel
 * coalesces the frames a link sends in one event-loop turn into one secretbox and one transport
 * frame, which saves a seal, an open and a socket write per envelope.
 *
 *   batch = 0xc1 ‖ ( length: u32 BE ‖ envelope )+
 *
 * 0xc1 is the one byte msgpack never uses, so a batch can never be mistaken for an envelope
 * (which starts with 0x93). Pure functions, no I/O.
 */
export const BATCH_MARKER = 0xc1
/** Bytes a batch adds: the marker, plus the length prefix of each envelope. */
export const BATCH_HEADER_BYTES = 1
export const BATCH_ENTRY_OVERHEAD = 4

/** True if a decrypted frame is a batch rather than a single envelope. */
export function isBatch (plain: Uint8Array): boolean {
  return plain.length > 0 && plain[0] === BATCH_MARKER
}

/** Encoded size of a batch of `frames` whose lengths sum to `bytes`. */
export function batchSize (count: number, bytes: number): number {
  return BATCH_HEADER_BYTES + count * BATCH_ENTRY_OVERHEAD + bytes
}

/**
 * Encodes `frames` (at least one) as a batch: into a new buffer, or into `target` when it is
 * large enough (the result is then a view of its start).
 */
export function encodeBatch (frames: readonly Uint8Array[], target?: Uint8Array): Uint8Array {
  if (frames.length === 0) throw new TypeError('a batch holds at least one frame')
  let bytes = 0
  for (const f of frames) bytes += f.length
  const size = batchSize(frames.length, bytes)
  const out = target !== undefined && target.length >= size ? target.subarray(0, size) : new Uint8Array(size)
  const view = new DataView(out.buffer, out.byteOffset, size)
  out[0] = BATCH_MARKER
  let at = BATCH_HEADER_BYTES
  for (const f of frames) {
    view.setUint32(at, f.length)
    out.set(f, at + BATCH_ENTRY_OVERHEAD)
    at += BATCH_ENTRY_OVERHEAD + f.length
  }
  return out
}

/**
 * Splits a batch into its envelopes (views into `batch`, no copies), calling `each` in order.
 * The whole batch is checked before the first call, so a malformed one delivers nothing:
 * `InvalidFrameError` for a missing marker, an empty batch, an empty entry or a length that
 * runs past the end.
 */
export function decodeBatch (batch: Uint8Array, each: (frame: Uint8Array) => void): void {
  if (!isBatch(batch)) throw new InvalidFrameError('not a batch')
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength)
  const ends: number[] = []
  let at = BATCH_HEADER_BYTES
  while (at < batch.length) {
    if (batch.length - at < BATCH_ENTRY_OVERHEAD) throw new InvalidFrameError('batch entry header cut short')
    const len = view.getUint32(at)
    at += BATCH_ENTRY_OVERHEAD
    if (len === 0) throw new InvalidFrameError('empty batch entry')
    if (len > batch.length - at) throw new InvalidFrameError('batch entry runs past the end')
    at += len
    ends.push(at)
  }
  if (ends.length === 0) throw new InvalidFrameError('empty batch')
  let start = BATCH_HEADER_BYTES
  for (const end of ends) {
    each(batch.subarray(start + BATCH_ENTRY_OVERHEAD, end))
    start = end
  }
}
