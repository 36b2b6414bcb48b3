import type { PeerConstructor, PeerLike, PeerOptions } from './peer-types.js'
import type { CandidatePair, RtcCandidate, RtcDataChannelLike, RtcDescription, RtcPeerConnectionConstructor, RtcPeerConnectionLike } from './rtc-types.js'

/** The channel's `bufferedAmountLowThreshold`: below it the peer emits `drain`. */
export const LOW_WATER_BYTES = 64 * 1024
/** Longest wait, after a local close, for the data channel to close before the connection does, ms. */
export const CLOSE_GRACE_MS = 1_000

type Listener = (...args: any[]) => void

/**
 * A data-channel peer on the W3C API (`RTCPeerConnection`): the dialler opens one ordered
 * channel and sends an offer; candidates trickle both ways and wait for the remote description.
 * Every signalling step runs in order on one queue; any failure destroys the peer (`error`,
 * then `close`). Nothing else: no media, no renegotiation (a `renegotiate` request is ignored).
 */
export function rtcPeer (RTCPeerConnection: RtcPeerConnectionConstructor): PeerConstructor {
  return class RtcPeer implements PeerLike {
    private readonly listeners = new Map<string, Set<Listener>>()
    private readonly pc: RtcPeerConnectionLike
    private channel: RtcDataChannelLike | undefined
    private steps: Promise<void> = Promise.resolve()
    private readonly pending: RtcCandidate[] = []
    private remoteSet = false
    private opened = false
    destroyed = false

    constructor (options: PeerOptions) {
      this.pc = new RTCPeerConnection(options.config ?? {})
      this.pc.onicecandidate = (ev) => {
        const c = ev.candidate
        // null, or an empty candidate: gathering ended (not signalled: the far end needs no marker)
        if (c === null || c.candidate === '') return
        this.emit('signal', { type: 'candidate', candidate: { candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex ?? null, sdpMid: c.sdpMid ?? null } })
      }
      const onState = (): void => {
        if (this.pc.connectionState === 'failed' || this.pc.iceConnectionState === 'failed') this.destroy(new Error('The WebRTC connection failed'))
        else if (this.opened && (this.pc.connectionState === 'closed' || this.pc.iceConnectionState === 'closed')) this.destroy()
      }
      this.pc.onconnectionstatechange = onState
      this.pc.oniceconnectionstatechange = onState
      if (options.initiator === true) {
        this.setup(this.pc.createDataChannel('hearsay', options.channelConfig))
        this.step(async () => {
          const offer = await this.pc.createOffer()
          await this.pc.setLocalDescription(offer)
          this.emitDescription(offer)
        })
      } else {
        this.pc.ondatachannel = (ev) => { if (this.channel === undefined) this.setup(ev.channel) }
      }
    }

    get bufferSize (): number {
      return this.channel?.bufferedAmount ?? 0
    }

    on (event: string, fn: Listener): this {
      let set = this.listeners.get(event)
      if (set === undefined) this.listeners.set(event, set = new Set())
      set.add(fn)
      return this
    }

    signal (data: unknown): void {
      if (this.destroyed) return
      const d = data as { type?: string, sdp?: string, candidate?: RtcCandidate }
      if (d.type === 'offer' || d.type === 'answer') {
        const description: RtcDescription = { type: d.type, sdp: d.sdp ?? '' }
        this.step(async () => {
          await this.pc.setRemoteDescription(description)
          this.remoteSet = true
          for (const c of this.pending.splice(0)) await this.pc.addIceCandidate(c)
          if (description.type === 'offer') {
            const answer = await this.pc.createAnswer()
            await this.pc.setLocalDescription(answer)
            this.emitDescription(answer)
          }
        })
      } else if (d.type === 'candidate' && d.candidate !== undefined) {
        const candidate = d.candidate
        this.step(async () => {
          if (this.remoteSet) await this.pc.addIceCandidate(candidate)
          else this.pending.push(candidate)
        })
      }
    }

    async candidatePair (): Promise<CandidatePair | undefined> {
      if (this.destroyed || this.pc.getStats === undefined) return undefined
      return selectedPair(await this.pc.getStats())
    }

    send (chunk: Uint8Array): void {
      if (this.destroyed || this.channel === undefined) throw new Error('The WebRTC data channel is not open')
      this.channel.send(chunk)
    }

    destroy (err?: Error): void {
      if (this.destroyed) return
      this.destroyed = true
      const channel = this.channel
      const pc = this.pc
      pc.onicecandidate = null
      pc.ondatachannel = null
      pc.onconnectionstatechange = null
      pc.oniceconnectionstatechange = null
      const closePc = (): void => { try { pc.close() } catch { /* already closed */ } }
      if (channel !== undefined && channel.readyState === 'open' && err === undefined) {
        // A local close: what the channel still holds (a close message, the last frames) must
        // reach the far end, and closing the connection at once can drop it. The channel closes
        // first, behind its data; the connection once the channel has closed, or after a while.
        channel.onopen = channel.onmessage = channel.onerror = channel.onbufferedamountlow = null
        const timer = setTimeout(closePc, CLOSE_GRACE_MS)
        ;(timer as { unref?: () => void }).unref?.()
        channel.onclose = () => { clearTimeout(timer); closePc() }
        try { channel.close() } catch { clearTimeout(timer); closePc() }
      } else {
        if (channel !== undefined) {
          channel.onopen = channel.onmessage = channel.onerror = channel.onclose = channel.onbufferedamountlow = null
          try { channel.close() } catch { /* already closed */ }
        }
        closePc()
      }
      // like a stream: listeners hear of it after the call that destroyed the peer returned
      queueMicrotask(() => {
        if (err !== undefined) this.emit('error', err)
        this.emit('close')
        this.listeners.clear()
      })
    }

    private setup (channel: RtcDataChannelLike): void {
      this.channel = channel
      channel.binaryType = 'arraybuffer'
      channel.bufferedAmountLowThreshold = LOW_WATER_BYTES
      // messages can come before `open` (an answerer's channel may open, and receive, before the
      // event reaches it): they wait here until `connect` has been heard
      const early: unknown[] = []
      const open = (): void => {
        if (this.destroyed || this.opened) return
        this.opened = true
        this.emit('connect')
        for (const data of early.splice(0)) this.emit('data', data)
      }
      channel.onopen = open
      if (channel.readyState === 'open') queueMicrotask(open)
      channel.onmessage = (ev) => {
        const data = ev.data instanceof ArrayBuffer ? new Uint8Array(ev.data) : ev.data
        if (this.opened) this.emit('data', data)
        else early.push(data)
      }
      channel.onbufferedamountlow = () => { this.emit('drain') }
      channel.onerror = (ev) => {
        const cause = (ev as { error?: unknown }).error
        this.destroy(cause instanceof Error ? cause : new Error('The WebRTC data channel failed'))
      }
      channel.onclose = () => { this.destroy() }
    }

    private emitDescription (description: RtcDescription): void {
      const local = this.pc.localDescription
      const sdp = local?.type === description.type && typeof local.sdp === 'string' ? local.sdp : description.sdp
      this.emit('signal', { type: description.type, sdp })
    }

    /** Runs one signalling step after the previous ones; a failure destroys the peer. */
    private step (fn: () => Promise<void>): void {
      this.steps = this.steps.then(async () => {
        if (this.destroyed) return
        await fn()
      }).catch((err: unknown) => {
        this.destroy(err instanceof Error ? err : new Error(String(err)))
      })
    }

    private emit (event: string, ...args: unknown[]): void {
      for (const fn of [...this.listeners.get(event) ?? []]) fn(...args)
    }
  }
}

/**
 * The selected candidate pair in a W3C stats report: the transport's `selectedCandidatePairId`
 * (Chromium, node-datachannel), else a nominated pair in state `succeeded` (Firefox).
 */
export function selectedPair (report: { forEach: (fn: (stat: Record<string, unknown>) => void) => void }): CandidatePair | undefined {
  const byId = new Map<string, Record<string, unknown>>()
  report.forEach((stat) => { if (typeof stat.id === 'string') byId.set(stat.id, stat) })
  let pair: Record<string, unknown> | undefined
  for (const stat of byId.values()) {
    if (stat.type === 'transport' && typeof stat.selectedCandidatePairId === 'string') pair = byId.get(stat.selectedCandidatePairId)
  }
  if (pair === undefined) {
    for (const stat of byId.values()) if (stat.type === 'candidate-pair' && stat.nominated === true && stat.state === 'succeeded') pair = stat
  }
  if (pair === undefined) return undefined
  const local = byId.get(String(pair.localCandidateId))?.candidateType
  const remote = byId.get(String(pair.remoteCandidateId))?.candidateType
  if (typeof local !== 'string' || typeof remote !== 'string') return undefined
  return { local, remote }
}
