/**
 * The part of the W3C WebRTC API this transport uses, declared here so that its declarations
 * need neither the DOM library (Node) nor node-datachannel's types (browsers). The browser's
 * globals and `node-datachannel/polyfill` both satisfy it.
 */

/** A STUN or TURN server, as in `RTCIceServer`. */
export interface RtcIceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

/** The `RTCConfiguration` fields a data-channel peer can use. */
export interface RtcConfiguration {
  iceServers?: RtcIceServer[]
  iceTransportPolicy?: 'all' | 'relay'
  bundlePolicy?: 'balanced' | 'max-bundle' | 'max-compat'
  rtcpMuxPolicy?: 'require'
  iceCandidatePoolSize?: number
}

export interface RtcDescription {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback'
  sdp?: string
}

export interface RtcCandidate {
  candidate: string
  sdpMid?: string | null
  sdpMLineIndex?: number | null
}

export interface RtcDataChannelLike {
  binaryType: string
  readonly bufferedAmount: number
  bufferedAmountLowThreshold: number
  readonly readyState: string
  onopen: ((ev: unknown) => unknown) | null
  onclose: ((ev: unknown) => unknown) | null
  onerror: ((ev: unknown) => unknown) | null
  onmessage: ((ev: { data: unknown }) => unknown) | null
  onbufferedamountlow: ((ev: unknown) => unknown) | null
  send: (data: Uint8Array) => void
  close: () => void
}

export interface RtcPeerConnectionLike {
  readonly remoteDescription: unknown
  readonly localDescription: RtcDescription | null
  readonly connectionState?: string
  readonly iceConnectionState: string
  onicecandidate: ((ev: { candidate: RtcCandidate | null }) => unknown) | null
  ondatachannel: ((ev: { channel: RtcDataChannelLike }) => unknown) | null
  onconnectionstatechange: ((ev: unknown) => unknown) | null
  oniceconnectionstatechange: ((ev: unknown) => unknown) | null
  createDataChannel: (label: string, init?: { ordered?: boolean }) => RtcDataChannelLike
  createOffer: () => Promise<RtcDescription>
  createAnswer: () => Promise<RtcDescription>
  setLocalDescription: (description: RtcDescription) => Promise<void>
  setRemoteDescription: (description: RtcDescription) => Promise<void>
  addIceCandidate: (candidate: RtcCandidate) => Promise<void>
  /** W3C stats: an `RTCStatsReport` (a map of stats objects by id). */
  getStats?: () => Promise<{ forEach: (fn: (stat: Record<string, unknown>) => void) => void }>
  close: () => void
}

/** The types of the two candidates of a link's selected pair: `host`, `srflx`, `prflx` or `relay` (TURN). */
export interface CandidatePair {
  local: string
  remote: string
}

/** `RTCPeerConnection`: the browser's global, or node-datachannel's polyfill in Node. */
export type RtcPeerConnectionConstructor = new (config?: RtcConfiguration) => RtcPeerConnectionLike
