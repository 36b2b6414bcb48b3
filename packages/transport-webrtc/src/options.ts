import { DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_FRAME_BYTES } from '@hearsay/core'
import { DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, MIN_CHUNK_BYTES } from './chunking.js'
import type { RtcConfiguration, RtcIceServer } from './rtc-types.js'

export interface WebRTCInit {
  /**
   * ICE servers (STUN/TURN) for peers behind NAT. Unset: the servers that the nodes this node
   * dialled offered (a relay's STUN, and TURN credentials; `ice.servers` in docs/protocol.md),
   * each on the host it was dialled at, so nothing is sent to a third party. Set (even to []),
   * these are used instead. @default the offered servers (none when no peer offers any)
   */
  iceServers?: RtcIceServer[]
  /** More `RTCConfiguration` fields; `iceServers` above wins. @default {} */
  rtcConfig?: RtcConfiguration
  /** Largest frame sent or accepted, in bytes; dial and listen options override it. @default 262144 */
  maxFrameBytes?: number
  /** Buffered bytes above which a writer should wait for `drained()`; it resolves at half. @default 1048576 */
  highWaterMark?: number
  /** Size of one data-channel message, header included (2–65536). @default 16448 (16 KiB + 64: a full secure-channel batch fits) */
  chunkBytes?: number
  /** Time from the offer to an open data channel, ms; then the dial fails with `TimeoutError`. @default 20000 */
  connectTimeout?: number
  /** Inbound sessions still connecting at once; more are refused as `busy`. @default 32 */
  maxPendingSessions?: number
}

export interface ResolvedInit {
  rtcConfig: RtcConfiguration
  /** The application chose its ICE servers (`iceServers` or `rtcConfig.iceServers`): offers are not used. */
  fixedIceServers: boolean
  maxFrameBytes: number
  highWaterMark: number
  chunkBytes: number
  connectTimeout: number
  maxPendingSessions: number
}

export const WEBRTC_DEFAULTS = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  highWaterMark: DEFAULT_HIGH_WATER_MARK,
  chunkBytes: DEFAULT_CHUNK_BYTES,
  connectTimeout: 20_000,
  maxPendingSessions: 32
})

export function resolveInit (init: WebRTCInit): ResolvedInit {
  const chunkBytes = positiveInteger(init.chunkBytes, WEBRTC_DEFAULTS.chunkBytes, 'chunkBytes')
  if (chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) throw new TypeError(`chunkBytes must be between ${MIN_CHUNK_BYTES} and ${MAX_CHUNK_BYTES}`)
  if (init.iceServers !== undefined && !Array.isArray(init.iceServers)) throw new TypeError('iceServers must be an array')
  return {
    rtcConfig: { ...init.rtcConfig, iceServers: init.iceServers ?? init.rtcConfig?.iceServers ?? [] },
    fixedIceServers: init.iceServers !== undefined || init.rtcConfig?.iceServers !== undefined,
    maxFrameBytes: positiveInteger(init.maxFrameBytes, WEBRTC_DEFAULTS.maxFrameBytes, 'maxFrameBytes'),
    highWaterMark: positiveInteger(init.highWaterMark, WEBRTC_DEFAULTS.highWaterMark, 'highWaterMark'),
    chunkBytes,
    connectTimeout: positiveInteger(init.connectTimeout, WEBRTC_DEFAULTS.connectTimeout, 'connectTimeout'),
    maxPendingSessions: positiveInteger(init.maxPendingSessions, WEBRTC_DEFAULTS.maxPendingSessions, 'maxPendingSessions')
  }
}

/** Bad arguments are programming errors: they throw `TypeError`, as everywhere in hearsay. */
export function positiveInteger (value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer, got ${String(value)}`)
  return value
}
