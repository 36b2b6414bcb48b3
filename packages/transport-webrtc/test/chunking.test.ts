/** The data-channel framing (chunking.ts) and the signal checks (signal-data.ts): pure, no WebRTC. */
import { describe, expect, it } from 'vitest'
import { closeMessage, KIND_CLOSE, KIND_LAST, KIND_MORE, Reassembler, splitFrame } from '../src/chunking.js'
import { CandidateGate, sanitizeSignal, stripCandidates } from '../src/signal-data.js'
import { resolveInit } from '../src/options.js'
import { BusyError, InvalidFrameError, TooLargeError } from '@hearsay/core'

function pattern (n: number): Uint8Array { return Uint8Array.from({ length: n }, (_, i) => (i * 13 + 7) & 0xff) }

describe('chunking', () => {
  it('splits frames into messages of at most chunkBytes and puts them back together', () => {
    for (const size of [0, 1, 15, 16, 17, 100, 16 * 1024, 256 * 1024]) {
      const frame = pattern(size)
      const chunks = splitFrame(frame, 16)
      expect(chunks.every(c => c.length <= 16 && c.length >= 1)).toBe(true)
      expect(chunks.slice(0, -1).every(c => c[0] === KIND_MORE)).toBe(true)
      expect(chunks.at(-1)![0]).toBe(KIND_LAST)
      expect(chunks.length).toBe(Math.max(1, Math.ceil(size / 15)))
      const r = new Reassembler(256 * 1024)
      const out = chunks.map(c => r.push(c))
      expect(out.slice(0, -1).every(o => o.kind === 'partial')).toBe(true)
      const last = out.at(-1)!
      expect(last.kind).toBe('frame')
      expect(last.kind === 'frame' && Buffer.from(last.frame).equals(Buffer.from(frame))).toBe(true)
    }
  })

  it('the default chunks (16 KiB + 64) keep a 256 KiB frame well under the data-channel limit, and a full secure batch in one', () => {
    const chunkBytes = resolveInit({}).chunkBytes
    const chunks = splitFrame(pattern(256 * 1024), chunkBytes)
    expect(Math.max(...chunks.map(c => c.length))).toBe(16 * 1024 + 64)
    expect(chunks.length).toBe(16)
    // a 16 KiB coalesced batch plus its 16-byte MAC
    expect(splitFrame(pattern(16 * 1024 + 16), chunkBytes)).toHaveLength(1)
  })

  it('a frame growing past the limit throws TooLargeError at the chunk that crosses it', () => {
    const r = new Reassembler(20)
    const chunks = splitFrame(pattern(40), 11)
    expect(r.push(chunks[0]!).kind).toBe('partial')
    expect(r.push(chunks[1]!).kind).toBe('partial')
    expect(() => r.push(chunks[2]!)).toThrow(TooLargeError)
  })

  it('rejects empty, unknown and malformed messages with InvalidFrameError', () => {
    const r = new Reassembler(100)
    expect(() => r.push(new Uint8Array(0))).toThrow(InvalidFrameError)
    expect(() => r.push(Uint8Array.of(9, 1))).toThrow(InvalidFrameError)
    expect(() => r.push(Uint8Array.of(KIND_CLOSE))).toThrow(InvalidFrameError)
  })

  it('close messages carry the reason', () => {
    const r = new Reassembler(100)
    expect(r.push(closeMessage())).toEqual({ kind: 'close', reason: undefined })
    expect(r.push(closeMessage(new TooLargeError('x')))).toMatchObject({ kind: 'close', reason: { code: 'ERR_TOO_LARGE' } })
    expect(r.push(closeMessage(new InvalidFrameError('x')))).toMatchObject({ kind: 'close', reason: { code: 'ERR_INVALID_FRAME' } })
    expect(r.push(closeMessage(new Error('x')))).toMatchObject({ kind: 'close', reason: { code: 'ERR_CONNECTION_CLOSED' } })
    // a refusal for load (code 4): the dialler hears BusyError, not a handshake failure
    expect(closeMessage(new BusyError('handshakes'))).toEqual(Uint8Array.of(KIND_CLOSE, 4))
    expect(r.push(closeMessage(new BusyError('handshakes')))).toMatchObject({ kind: 'close', reason: { name: 'BusyError', code: 'ERR_BUSY' } })
  })

  it('bad options throw TypeError', () => {
    expect(() => resolveInit({ chunkBytes: 1 })).toThrow(TypeError)
    expect(() => resolveInit({ chunkBytes: 70_000 })).toThrow(TypeError)
    expect(() => resolveInit({ connectTimeout: 0 })).toThrow(TypeError)
    expect(resolveInit({}).rtcConfig).toEqual({ iceServers: [] })
    expect(resolveInit({ iceServers: [{ urls: 'stun:example.org' }] }).rtcConfig.iceServers).toHaveLength(1)
  })
})

describe('signals from the network', () => {
  it('passes offers, answers, candidates and renegotiation with only the fields simple-peer needs', () => {
    expect(sanitizeSignal({ type: 'offer', sdp: 'v=0', extra: 1 })).toEqual({ type: 'offer', sdp: 'v=0' })
    expect(sanitizeSignal({ type: 'answer', sdp: 'v=0' })).toEqual({ type: 'answer', sdp: 'v=0' })
    expect(sanitizeSignal({ type: 'candidate', candidate: { candidate: 'candidate:1 1 UDP 1 10.0.0.1 1 typ host', sdpMid: '0', sdpMLineIndex: 0 } }))
      .toEqual({ type: 'candidate', candidate: { candidate: 'candidate:1 1 UDP 1 10.0.0.1 1 typ host', sdpMid: '0', sdpMLineIndex: 0 } })
    expect(sanitizeSignal({ type: 'renegotiate', renegotiate: true })).toEqual({ type: 'renegotiate', renegotiate: true })
  })

  it('drops everything else', () => {
    for (const bad of [null, 1, 'offer', {}, { type: 'offer' }, { type: 'offer', sdp: '' }, { type: 'offer', sdp: 'x'.repeat(40_000) },
      { type: 'candidate' }, { type: 'candidate', candidate: { candidate: 1 } }, { type: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: -1 } },
      { type: 'transceiverRequest', transceiverRequest: { kind: 'audio' } }, { type: 'renegotiate' }]) {
      expect(sanitizeSignal(bad), JSON.stringify(bad)).toBeUndefined()
    }
  })

  it('the dialler strips candidates from its offer and holds its trickled ones until the answer', () => {
    const sent: unknown[] = []
    const gate = new CandidateGate(true, d => sent.push(d))
    gate.send({ type: 'offer', sdp: 'v=0\r\na=candidate:1 1 UDP 1 10.0.0.1 9 typ host\r\na=end-of-candidates\r\na=mid:0' })
    gate.send({ type: 'candidate', candidate: { candidate: 'c1' } })
    expect(sent).toEqual([{ type: 'offer', sdp: 'v=0\r\na=mid:0' }])
    gate.open()
    gate.send({ type: 'candidate', candidate: { candidate: 'c2' } })
    expect(sent.slice(1)).toEqual([{ type: 'candidate', candidate: { candidate: 'c1' } }, { type: 'candidate', candidate: { candidate: 'c2' } }])
    // the answerer holds nothing
    const direct: unknown[] = []
    new CandidateGate(false, d => direct.push(d)).send({ type: 'candidate', candidate: { candidate: 'c' } })
    expect(direct).toHaveLength(1)
    expect(stripCandidates('a\nb')).toBe('a\r\nb')
  })
})
