/** Options of `tcp()`. */
export interface TcpInit {
  /**
   * Largest frame payload in bytes, both directions; `dial`/`listen` options override it per
   * connection. @default 262144 (core's DEFAULT_MAX_FRAME_BYTES)
   */
  maxFrameBytes?: number
  /** Disables Nagle's algorithm so that small frames leave at once. @default true */
  noDelay?: boolean
  /** TCP keep-alive: initial delay in ms before the first probe; 0 turns keep-alive off. @default 10000 */
  keepAlive?: number
}
