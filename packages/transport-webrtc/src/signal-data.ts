/**
 * The signals peers exchange, checked before they reach one: they come from the network. Only
 * the fields a peer needs are passed on (`renegotiate` is accepted and ignored: this transport
 * carries one data channel and never renegotiates).
 */
export type RtcSignal =
  | { type: 'offer' | 'answer', sdp: string }
  | { type: 'candidate', candidate: { candidate: string, sdpMLineIndex: number | null, sdpMid: string | null } }
  | { type: 'renegotiate', renegotiate: true }

export const MAX_SDP_LENGTH = 32 * 1024
export const MAX_CANDIDATE_LENGTH = 1024

export function sanitizeSignal (data: unknown): RtcSignal | undefined {
  if (typeof data !== 'object' || data === null) return undefined
  const d = data as Record<string, unknown>
  switch (d.type) {
    case 'offer':
    case 'answer':
      if (typeof d.sdp !== 'string' || d.sdp.length === 0 || d.sdp.length > MAX_SDP_LENGTH) return undefined
      return { type: d.type, sdp: d.sdp }
    case 'candidate': {
      const c = d.candidate as Record<string, unknown> | null | undefined
      if (typeof c !== 'object' || c === null) return undefined
      if (typeof c.candidate !== 'string' || c.candidate.length > MAX_CANDIDATE_LENGTH) return undefined
      const line = c.sdpMLineIndex
      const mid = c.sdpMid
      if (line !== undefined && line !== null && !(Number.isInteger(line) && (line as number) >= 0 && (line as number) < 1024)) return undefined
      if (mid !== undefined && mid !== null && !(typeof mid === 'string' && mid.length <= 64)) return undefined
      return { type: 'candidate', candidate: { candidate: c.candidate, sdpMLineIndex: (line as number | null | undefined) ?? null, sdpMid: (mid as string | null | undefined) ?? null } }
    }
    case 'renegotiate':
      return d.renegotiate === true ? { type: 'renegotiate', renegotiate: true } : undefined
    default:
      return undefined
  }
}

/** Removes the candidates from an SDP: they then travel only as trickled candidate signals. */
export function stripCandidates (sdp: string): string {
  return sdp.split(/\r?\n/).filter(line => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates').join('\r\n')
}

/**
 * Holds the dialler's ICE candidates back until the answer has arrived (and strips the ones the
 * offer carries). Why: with the candidates in hand the answerer's connectivity checks, then its
 * DTLS hello, can reach the dialler before the answer does; node-datachannel then fails the DTLS
 * handshake ("unknown CA": it has no fingerprint to check the certificate against yet), about
 * one dial in five on a fast path. Once the answer is set the candidates go out at once, so a
 * connection costs half a signalling round trip more; the answerer's side is unchanged.
 */
export class CandidateGate {
  private held: unknown[] | undefined

  constructor (dialler: boolean, private readonly forward: (data: unknown) => void) {
    this.held = dialler ? [] : undefined
  }

  send (data: unknown): void {
    if (this.held === undefined) { this.forward(data); return }
    const d = data as { type?: unknown, sdp?: unknown }
    if (d.type === 'offer' && typeof d.sdp === 'string') { this.forward({ ...d, sdp: stripCandidates(d.sdp) }); return }
    if (d.type === 'candidate') { this.held.push(data); return }
    this.forward(data)
  }

  /** The answer was set: everything held goes out, and from now on nothing waits. */
  open (): void {
    const held = this.held
    this.held = undefined
    for (const data of held ?? []) this.forward(data)
  }
}
