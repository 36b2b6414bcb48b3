/** Defaults for every size limit, in one place. All are configurable per node. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024
export const DEFAULT_MAX_TYPE_BYTES = 64
export const DEFAULT_MAX_ID_BYTES = 64
/** What the secure channel adds to every frame (the poly1305 tag). */
export const SECURE_FRAME_OVERHEAD = 16
/** Bytes buffered in a connection above which a writer should wait for `drained()`. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024

export interface Limits {
  /** Largest encoded message (envelope) in bytes. @default 262144 */
  maxFrameBytes: number
  /** Longest message type, in UTF-8 bytes. @default 64 */
  maxTypeBytes: number
  /** Longest message id, in bytes. @default 64 */
  maxIdBytes: number
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxTypeBytes: DEFAULT_MAX_TYPE_BYTES,
  maxIdBytes: DEFAULT_MAX_ID_BYTES
})
