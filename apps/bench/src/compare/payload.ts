/**
 * The bytes every system carries: a 16-byte header the driver reads back on delivery, then
 * filler up to the payload size. Sequence numbers are unique per run, so they double as the
 * naive flood's message id.
 *
 *   0..3   seq (u32 LE)   4..5   origin node (u16 LE)   6..7   0   8..15   sent at, performance.now() ms (f64 LE)
 */
export const HEADER_BYTES = 16

export function makePayload (size: number, seq: number, origin: number, sentAt: number): Uint8Array {
  const buf = new Uint8Array(Math.max(HEADER_BYTES, size))
  const view = new DataView(buf.buffer)
  view.setUint32(0, seq, true)
  view.setUint16(4, origin, true)
  view.setFloat64(8, sentAt, true)
  buf.fill(7, HEADER_BYTES)
  return buf
}

export interface PayloadHeader { seq: number, origin: number, sentAt: number }

export function readPayload (bytes: Uint8Array): PayloadHeader | undefined {
  if (bytes.length < HEADER_BYTES) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { seq: view.getUint32(0, true), origin: view.getUint16(4, true), sentAt: view.getFloat64(8, true) }
}
