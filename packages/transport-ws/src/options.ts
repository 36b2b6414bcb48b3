import { DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_FRAME_BYTES } from '@hearsay/core'

/** Options shared by every runtime. */
export interface WebSocketsInit {
  /** Largest frame sent or accepted, in bytes; dial and listen options override it. @default 262144 */
  maxFrameBytes?: number
  /**
   * Buffered bytes above which a writer should wait for `drained()`; `drained()` resolves once
   * the buffer falls to half of it. @default 1048576
   */
  highWaterMark?: number
}

export interface Limits { maxFrameBytes: number, highWaterMark: number }

export function resolveLimits (init: WebSocketsInit): Limits {
  return {
    maxFrameBytes: positiveInteger(init.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes'),
    highWaterMark: positiveInteger(init.highWaterMark, DEFAULT_HIGH_WATER_MARK, 'highWaterMark')
  }
}

/** Bad arguments are programming errors: they throw `TypeError`, as everywhere in hearsay. */
export function positiveInteger (value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer, got ${String(value)}`)
  return value
}
