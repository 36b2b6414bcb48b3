import { afterEach, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as nodeCrypto from 'node:crypto'
import { resetCipherSuites } from '../src/wire/cipher-suite.js'
import type { CipherSuite } from '../src/wire/cipher-suite.js'
import {
  aes256Gcm, installCipherSuite, webCryptoAes256Gcm, xsalsa20Poly1305,
  createNode, encodeEnvelope, generateIdentity, InvalidFrameError, MemoryNetwork, secureChannel, systemClock, systemRandom
} from '../src/index.js'
import type { UpgradedConnection } from '../src/index.js'
import { BATCH_MARKER, decodeBatch, encodeBatch, isBatch } from '../src/wire/frame-batch.js'
import { FrameCoalescer, MAX_BATCH_BYTES } from '../src/wire/frame-coalescer.js'
import { eventually } from '../src/testing/compliance/assert.js'
import { dialledPair, withSend } from './conn-pair.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs)
const split = (batch: Uint8Array): Uint8Array[] => { const out: Uint8Array[] = []; decodeBatch(batch, f => { out.push(f.slice()) }); return out }

describe('batch codec', () => {
  it('round-trips frames in order and is told apart from an envelope by its first byte', () => {
    const frames = [bytes(0x93, 1, 2, 3), bytes(0x93, 4), new Uint8Array(300).fill(9)]
    const batch = encodeBatch(frames)
    expect(batch[0]).toBe(BATCH_MARKER)
    expect(isBatch(batch)).toBe(true)
    expect(isBatch(encodeEnvelope({ type: 'chat', data: 'hi' }))).toBe(false)
    expect(split(batch)).toEqual(frames)
    // wire layout: marker, then u32 BE length + bytes per entry
    expect([...encodeBatch([bytes(7, 8)])]).toEqual([0xc1, 0, 0, 0, 2, 7, 8])
  })

  it('rejects malformed batches before delivering anything', () => {
    const bad = [
      bytes(0x93, 0, 0, 0, 1, 5), // no marker
      bytes(0xc1), // empty
      bytes(0xc1, 0, 0, 0, 0), // empty entry
      bytes(0xc1, 0, 0, 0, 1, 5, 0, 0), // header cut short
      bytes(0xc1, 0, 0, 0, 1, 5, 0, 0, 0, 9, 1) // second entry runs past the end
    ]
    for (const b of bad) {
      const seen: Uint8Array[] = []
      expect(() => { decodeBatch(b, f => { seen.push(f) }) }).toThrow(InvalidFrameError)
      expect(seen).toEqual([])
    }
    expect(() => encodeBatch([])).toThrow(TypeError)
  })

  it('property: any frames round-trip; any bytes after the marker decode or throw InvalidFrameError, nothing else', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 20 }), (frames) => {
      expect(split(encodeBatch(frames))).toEqual(frames)
    }))
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
      try { decodeBatch(new Uint8Array([0xc1, ...tail]), () => {}) } catch (err) { expect(err).toBeInstanceOf(InvalidFrameError) }
    }))
  })
})

describe('FrameCoalescer', () => {
  function coalescer (max = 64): { c: FrameCoalescer, writes: Uint8Array[] } {
    const writes: Uint8Array[] = []
    // a batch is readable only during the write (the shared buffer): keep a copy
    return { c: new FrameCoalescer(max, (p) => { writes.push(p.slice()) }, (err) => { throw err }), writes }
  }
  const turn = async (): Promise<void> => { await Promise.resolve() }

  it('writes the frames of one turn as one batch, a lone frame as itself, with nothing in between', async () => {
    const { c, writes } = coalescer()
    c.push(bytes(1)); c.push(bytes(2, 2)); c.push(bytes(3))
    expect(writes).toEqual([])
    expect(c.pendingBytes).toBe(4)
    await turn()
    expect(writes.length).toBe(1)
    expect(split(writes[0]!)).toEqual([bytes(1), bytes(2, 2), bytes(3)])
    c.push(bytes(4))
    await turn()
    expect(writes[1]).toEqual(bytes(4))
    expect(c.pendingBytes).toBe(0)
  })

  it('writes every batch from one shared buffer (no allocation per batch), a lone frame as it was pushed', async () => {
    const seen: Uint8Array[] = []
    const contents: Uint8Array[][] = []
    const c1 = new FrameCoalescer(MAX_BATCH_BYTES, (p) => { seen.push(p); if (isBatch(p)) contents.push(split(p)) }, (err) => { throw err })
    const c2 = new FrameCoalescer(MAX_BATCH_BYTES, (p) => { seen.push(p); if (isBatch(p)) contents.push(split(p)) }, (err) => { throw err })
    c1.push(bytes(1)); c1.push(bytes(2)); c2.push(bytes(3)); c2.push(bytes(4, 4))
    await turn()
    c1.push(bytes(5)); c1.push(bytes(6))
    await turn()
    expect(contents).toEqual([[bytes(1), bytes(2)], [bytes(3), bytes(4, 4)], [bytes(5), bytes(6)]])
    expect(new Set(seen.map(p => p.buffer)).size).toBe(1)
    const lone = bytes(7, 7)
    c1.push(lone)
    await turn()
    expect(seen[3]).toBe(lone)
  })

  it('flushes early at the size cap and sends a frame above it alone, keeping the order', async () => {
    const { c, writes } = coalescer(20)
    c.push(new Uint8Array(6).fill(1)) // batch: 1 + 10
    c.push(new Uint8Array(6).fill(2)) // 1 + 20 > 20: the first goes out alone first
    expect(writes).toEqual([new Uint8Array(6).fill(1)])
    c.push(new Uint8Array(30).fill(3)) // too big to batch: flush, then itself
    expect(writes.slice(1)).toEqual([new Uint8Array(6).fill(2), new Uint8Array(30).fill(3)])
    c.push(bytes(4)); c.clear()
    await turn()
    expect(writes.length).toBe(3)
  })
})

interface Pair { a: UpgradedConnection, b: UpgradedConnection, wireFrames: () => number }

/** Two secure connections over the memory network; counts the sealed frames a → b. */
async function securePair (opts: { coalesceA?: boolean, coalesceB?: boolean, suitesA?: CipherSuite[], suitesB?: CipherSuite[], flipAfterHandshake?: boolean, batchBytesA?: number } = {}): Promise<Pair> {
  const { raw, inbound } = await dialledPair()
  let frames = 0
  const counted = withSend(raw, (f) => {
    frames++
    // the handshake is two frames this way (hello, auth); what follows is sealed
    if (opts.flipAfterHandshake === true && frames > 2) { f = f.slice(); f[0]! ^= 1 }
    raw.send(f)
  }, opts.batchBytesA === undefined ? {} : { batchBytes: opts.batchBytesA })
  const common = { clock: systemClock, random: systemRandom, timeoutMs: 5000, maxFrameBytes: 256 * 1024 }
  const [a, b] = await Promise.all([
    secureChannel({ coalesce: opts.coalesceA, cipherSuites: opts.suitesA }).upgrade(counted, { ...common, role: 'initiator', identity: generateIdentity(systemRandom) }),
    secureChannel({ coalesce: opts.coalesceB, cipherSuites: opts.suitesB }).upgrade(inbound, { ...common, role: 'responder', identity: generateIdentity(systemRandom) })
  ])
  cleanups.push(() => { a.conn.close(); b.conn.close() })
  const handshakeFrames = frames
  return { a, b, wireFrames: () => frames - handshakeFrames }
}

describe('secure channel with coalescing', () => {
  it('builds batches of up to 64 KiB, or the connection\'s batchBytes', async () => {
    for (const [batchBytesA, expected] of [[undefined, 2], [16 * 1024, 7]] as const) {
      const { a, b, wireFrames } = await securePair({ batchBytesA })
      const got: number[] = []
      b.conn.setHandlers({ onMessage: (f) => { got.push(f[1]!) }, onClose: () => {} })
      a.conn.setHandlers({ onMessage: () => {}, onClose: () => {} })
      // 100 frames of 1000 bytes in one turn: 100,401 bytes of batch
      for (let i = 0; i < 100; i++) { const f = new Uint8Array(1000).fill(0x93); f[1] = i; a.conn.send(f) }
      await eventually(() => got.length === 100)
      expect(got).toEqual([...Array(100).keys()])
      expect(wireFrames()).toBe(expected)
    }
  })

  it('sends the frames of one turn in one sealed frame; the receiver gets each, in order', async () => {
    const { a, b, wireFrames } = await securePair()
    const got: number[] = []
    b.conn.setHandlers({ onMessage: (f) => { got.push(f[1]!) }, onClose: () => {} })
    a.conn.setHandlers({ onMessage: () => {}, onClose: () => {} })
    for (let i = 0; i < 100; i++) a.conn.send(bytes(0x93, i, 0, 0))
    expect(a.conn.bufferedAmount).toBeGreaterThanOrEqual(400)
    await eventually(() => got.length === 100)
    expect(got).toEqual([...Array(100).keys()])
    expect(wireFrames()).toBe(1)
  })

  it('a link with coalescing off sends one frame per send, and each side reads the other whatever it chose', async () => {
    const { a, b, wireFrames } = await securePair({ coalesceA: false, coalesceB: true })
    const atB: number[] = []
    const atA: number[] = []
    b.conn.setHandlers({ onMessage: (f) => { atB.push(f[1]!) }, onClose: () => {} })
    a.conn.setHandlers({ onMessage: (f) => { atA.push(f[1]!) }, onClose: () => {} })
    for (let i = 0; i < 10; i++) { a.conn.send(bytes(0x93, i, 0, 0)); b.conn.send(bytes(0x93, i, 0, 0)) }
    await eventually(() => atB.length === 10 && atA.length === 10)
    expect(atA).toEqual(atB)
    expect(wireFrames()).toBe(10)
  })

  it('splits batches at MAX_BATCH_BYTES and delivers a frame larger than that on its own', async () => {
    const { a, b, wireFrames } = await securePair()
    const sizes: number[] = []
    b.conn.setHandlers({ onMessage: (f) => { sizes.push(f.length) }, onClose: () => {} })
    a.conn.setHandlers({ onMessage: () => {}, onClose: () => {} })
    const small = new Uint8Array(1000).fill(0x93)
    for (let i = 0; i < 40; i++) a.conn.send(small)
    a.conn.send(new Uint8Array(MAX_BATCH_BYTES + 1).fill(0x93))
    await eventually(() => sizes.length === 41)
    expect(sizes.slice(0, 40).every(s => s === 1000)).toBe(true)
    expect(sizes[40]).toBe(MAX_BATCH_BYTES + 1)
    // 40 KB of small frames in ≤ 16 KiB batches, then the big one
    expect(wireFrames()).toBe(Math.ceil(40 * 1004 / (MAX_BATCH_BYTES - 1)) + 1)
  })

  it('a frame sent right before close() still leaves, ahead of the close', async () => {
    const { a, b } = await securePair()
    const got: Uint8Array[] = []
    let closed = false
    b.conn.setHandlers({ onMessage: (f) => { got.push(f) }, onClose: () => { closed = true } })
    a.conn.setHandlers({ onMessage: () => {}, onClose: () => {} })
    a.conn.send(bytes(0x93, 1, 2, 3))
    a.conn.close()
    await eventually(() => closed)
    expect(got).toEqual([bytes(0x93, 1, 2, 3)])
  })

  it('a malformed batch closes the link with ERR_INVALID_FRAME and delivers none of it', async () => {
    const { a, b } = await securePair({ coalesceA: false })
    const got: Uint8Array[] = []
    let reason: Error | undefined
    b.conn.setHandlers({ onMessage: (f) => { got.push(f) }, onClose: (r) => { reason = r ?? new Error('none') } })
    a.conn.setHandlers({ onMessage: () => {}, onClose: () => {} })
    a.conn.send(bytes(0xc1, 0, 0, 0, 4, 0x93, 1, 2, 3, 0, 0, 0, 9))
    await eventually(() => reason !== undefined)
    expect((reason as InvalidFrameError).code).toBe('ERR_INVALID_FRAME')
    expect(got).toEqual([])
  })

  it('the link seals with the suite the handshake chose: AES-256-GCM when both ends have it, else XSalsa20-Poly1305', async () => {
    const aes = aes256Gcm(nodeCrypto)
    const suiteOf = (u: UpgradedConnection): string | undefined => (u.conn as { cipherSuite?: string }).cipherSuite
    for (const [suitesA, suitesB, expected] of [
      [[aes, xsalsa20Poly1305], [aes, xsalsa20Poly1305], 'aes-256-gcm'],
      [[aes, xsalsa20Poly1305], [xsalsa20Poly1305], 'xsalsa20-poly1305'],
      [[xsalsa20Poly1305], [aes, xsalsa20Poly1305], 'xsalsa20-poly1305'],
      [undefined, undefined, 'xsalsa20-poly1305']
    ] as const) {
      const { a, b } = await securePair({ suitesA: suitesA?.slice(), suitesB: suitesB?.slice() })
      expect([suiteOf(a), suiteOf(b)]).toEqual([expected, expected])
      const got: number[] = []
      b.conn.setHandlers({ onMessage: (f) => { got.push(f[1]!) }, onClose: () => {} })
      a.conn.setHandlers({ onMessage: () => {}, onClose: () => {} })
      for (let i = 0; i < 50; i++) a.conn.send(bytes(0x93, i, 0, 0))
      a.conn.send(new Uint8Array(MAX_BATCH_BYTES + 1).fill(0x93))
      await eventually(() => got.length === 51)
      expect(got.slice(0, 50)).toEqual([...Array(50).keys()])
    }
    expect(() => secureChannel({ cipherSuites: [] })).toThrow(TypeError)
    expect(() => secureChannel({ cipherSuites: [aes, aes] })).toThrow(TypeError)
  })

  it('an asynchronous suite (WebCrypto AES-256-GCM) keeps frame order both ways, counts what it is sealing as buffered, and interoperates with node:crypto\'s', async () => {
    const wc = webCryptoAes256Gcm()
    for (const [suitesA, suitesB] of [[[wc], [wc]], [[wc], [aes256Gcm(nodeCrypto)]], [[aes256Gcm(nodeCrypto)], [wc]]] as const) {
      const { a, b } = await securePair({ suitesA: suitesA.slice(), suitesB: suitesB.slice() })
      expect([(a.conn as { cipherSuite?: string }).cipherSuite, (b.conn as { cipherSuite?: string }).cipherSuite]).toEqual(['aes-256-gcm', 'aes-256-gcm'])
      const atB: number[] = []; const atA: number[] = []
      b.conn.setHandlers({ onMessage: (f) => { atB.push(f[1]! + 256 * f[2]!) }, onClose: () => {} })
      a.conn.setHandlers({ onMessage: (f) => { atA.push(f[1]! + 256 * f[2]!) }, onClose: () => {} })
      // several turns, frames too big to batch among them: each seals on its own and must not overtake
      for (let turn = 0; turn < 5; turn++) {
        for (let i = 0; i < 100; i++) {
          const n = turn * 100 + i
          const f = new Uint8Array(i % 37 === 0 ? MAX_BATCH_BYTES + 1 : 4).fill(0x93)
          f[1] = n & 255; f[2] = n >> 8
          a.conn.send(f); b.conn.send(f)
        }
        await Promise.resolve()
      }
      await eventually(() => atB.length === 500 && atA.length === 500, 5000, 'every frame')
      expect(atB).toEqual([...Array(500).keys()])
      expect(atA).toEqual([...Array(500).keys()])
      await a.conn.drained()
      expect(a.conn.bufferedAmount).toBe(0)
    }
  })

  it('an asynchronous suite: frames sent just before a close still arrive ahead of it; a tampered frame closes the link with ERR_DECRYPT', async () => {
    const wc = webCryptoAes256Gcm()
    const { a, b } = await securePair({ suitesA: [wc], suitesB: [wc] })
    const got: number[] = []
    let closedWith: Error | undefined | null = null
    b.conn.setHandlers({ onMessage: (f) => { got.push(f[1]!) }, onClose: (r) => { closedWith = r } })
    a.conn.setHandlers({ onMessage: () => {}, onClose: () => {} })
    for (let i = 0; i < 10; i++) a.conn.send(bytes(0x93, i, 0, 0))
    // still sealing when asked to close
    expect(a.conn.bufferedAmount).toBeGreaterThan(0)
    a.conn.close()
    await eventually(() => closedWith !== null, 5000, 'closed')
    expect(got).toEqual([...Array(10).keys()])

    // a frame altered on the wire
    const pair = await securePair({ suitesA: [wc], suitesB: [wc], flipAfterHandshake: true })
    let reason: Error | undefined
    pair.b.conn.setHandlers({ onMessage: () => {}, onClose: (r) => { reason = r } })
    pair.a.conn.setHandlers({ onMessage: () => {}, onClose: () => {} })
    pair.a.conn.send(bytes(0x93, 1, 0, 0))
    await eventually(() => reason !== undefined, 5000, 'closed on the bad frame')
    expect((reason as { code?: string }).code).toBe('ERR_DECRYPT')
  })

  it('installCipherSuite makes the default channel offer the suite ahead of XSalsa20-Poly1305', async () => {
    installCipherSuite(aes256Gcm(nodeCrypto))
    cleanups.push(() => { resetCipherSuites() })
    const { a, b } = await securePair()
    expect([(a.conn as { cipherSuite?: string }).cipherSuite, (b.conn as { cipherSuite?: string }).cipherSuite]).toEqual(['aes-256-gcm', 'aes-256-gcm'])
  })

  it('nodes exchange bursts end to end (goodbye included) with the default channel', async () => {
    const network = new MemoryNetwork()
    const x = createNode({ transports: [network.transport('x')], listen: ['memory:x'], overlay: false })
    const y = createNode({ transports: [network.transport('y')], overlay: false })
    cleanups.push(async () => { await x.stop(); await y.stop() })
    await x.start(); await y.start()
    const got: number[] = []
    x.on('message', (m) => { got.push(m.data as number) })
    const peer = await y.dial('memory:x')
    for (let i = 0; i < 500; i++) peer.send('n', i)
    await eventually(() => got.length === 500)
    expect(got).toEqual([...Array(500).keys()])
    const bye = new Promise<Error | undefined>(resolve => { x.once('peer:disconnect', ({ reason }) => { resolve(reason) }) })
    await y.hangUp(peer)
    expect(await bye).toBeUndefined()
  })
})
