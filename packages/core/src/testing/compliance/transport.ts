import type { Connection, Transport } from '../../link/transport.js'
import type { ComplianceCase } from './case.js'
import { bytesEqual, equal, eventually, ok, rejects, within } from './assert.js'

export interface TransportHarness {
  /** Creates a transport instance; called once per endpoint in a case. */
  create: () => Transport | Promise<Transport>
  /** An address that listens on a free port, e.g. `ws://127.0.0.1:0`. */
  listenAddress: () => string
  /** An address where nothing listens, for the refused-dial case. */
  deadAddress: () => string
  /** A malformed address for this transport's protocol. */
  invalidAddress?: string
}

interface Pair { a: Connection, b: Connection, cleanup: () => Promise<void> }

/**
 * The behaviour every `Transport` must show. Each implementation runs this same list (as
 * abstract-level's suite is run by every backend); the memory transport runs it too.
 */
export function transportCompliance (h: TransportHarness): ComplianceCase[] {
  const open = async (opts: { listenMax?: number, dialMax?: number } = {}): Promise<Pair> => {
    const server = await h.create()
    const client = await h.create()
    let accepted: (c: Connection) => void = () => {}
    const inbound = new Promise<Connection>(resolve => { accepted = resolve })
    const listener = await server.listen(h.listenAddress(), c => accepted(c), opts.listenMax === undefined ? {} : { maxFrameBytes: opts.listenMax })
    ok(listener.addresses.length > 0, 'listener has no address')
    const a = await within(client.dial(listener.addresses[0]!, opts.dialMax === undefined ? {} : { maxFrameBytes: opts.dialMax }), 5000, 'dial')
    const b = await within(inbound, 5000, 'accept')
    return {
      a,
      b,
      cleanup: async () => {
        a.close(); b.close()
        await listener.close()
        await client.close(); await server.close()
      }
    }
  }
  const collect = (c: Connection): { frames: Uint8Array[], closes: Array<Error | undefined> } => {
    const got = { frames: [] as Uint8Array[], closes: [] as Array<Error | undefined> }
    c.setHandlers({ onMessage: f => got.frames.push(f), onClose: r => got.closes.push(r) })
    return got
  }
  const bytes = (n: number, seed = 1): Uint8Array => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff
    return out
  }

  return [
    {
      name: 'listen reports a dialable address and dial yields an outbound/inbound pair',
      fn: async () => {
        const p = await open()
        try {
          equal(p.a.direction, 'outbound')
          equal(p.b.direction, 'inbound')
          equal(p.a.closed, false)
          ok(typeof p.b.remoteAddress === 'string' && p.b.remoteAddress.length > 0, 'inbound has a remote address')
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'one send arrives as exactly one frame, in order, both ways',
      fn: async () => {
        const p = await open()
        try {
          const ga = collect(p.a)
          const gb = collect(p.b)
          const sizes = [1, 0, 5, 1000, 65536, 3]
          sizes.forEach((n, i) => p.a.send(bytes(n, i)))
          sizes.forEach((n, i) => p.b.send(bytes(n, i + 100)))
          await eventually(() => gb.frames.length === sizes.length && ga.frames.length === sizes.length, 5000, 'frames')
          sizes.forEach((n, i) => { bytesEqual(gb.frames[i]!, bytes(n, i)); bytesEqual(ga.frames[i]!, bytes(n, i + 100)) })
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'frames that arrive before setHandlers are buffered and delivered in order',
      fn: async () => {
        const p = await open()
        try {
          for (let i = 0; i < 10; i++) p.a.send(bytes(10, i))
          await new Promise(resolve => setTimeout(resolve, 50))
          const gb = collect(p.b)
          await eventually(() => gb.frames.length === 10, 5000, 'buffered frames')
          for (let i = 0; i < 10; i++) bytesEqual(gb.frames[i]!, bytes(10, i))
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'a frame at the limit passes; one byte more throws TooLargeError and nothing is sent',
      fn: async () => {
        const max = 100_000
        const p = await open({ listenMax: max, dialMax: max })
        try {
          const gb = collect(p.b)
          collect(p.a)
          p.a.send(bytes(max))
          await rejects(() => p.a.send(bytes(max + 1)), 'ERR_TOO_LARGE')
          p.a.send(bytes(7))
          await eventually(() => gb.frames.length === 2, 5000, 'frames at the limit')
          equal(gb.frames[0]!.length, max)
          equal(gb.frames[1]!.length, 7)
          equal(p.b.closed, false)
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'a receiver closes a connection whose peer sends a frame above the receiver limit',
      fn: async () => {
        const p = await open({ listenMax: 1000, dialMax: 1_000_000 })
        try {
          const gb = collect(p.b)
          collect(p.a)
          p.a.send(bytes(5000))
          await eventually(() => gb.closes.length === 1, 5000, 'receiver close')
          equal(gb.frames.length, 0, 'the oversized frame must not be delivered')
          ok(gb.closes[0] !== undefined, 'the close carries a reason')
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'send rejects non-bytes with TypeError; a throwing consumer closes the connection with its error',
      fn: async () => {
        const p = await open()
        try {
          let threw = false
          try { p.a.send('text' as unknown as Uint8Array) } catch (err) { threw = err instanceof TypeError }
          ok(threw, 'a string frame must throw TypeError')
          const closes: Array<Error | undefined> = []
          p.b.setHandlers({ onMessage: () => { throw new Error('consumer bug') }, onClose: r => closes.push(r) })
          collect(p.a)
          p.a.send(bytes(3))
          await eventually(() => closes.length === 1, 5000, 'close after consumer threw')
          equal(closes[0]?.message, 'consumer bug')
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'close on one side reports onClose exactly once on both; send afterwards throws',
      fn: async () => {
        const p = await open()
        try {
          const ga = collect(p.a)
          const gb = collect(p.b)
          p.a.close()
          p.a.close()
          await eventually(() => gb.closes.length === 1 && ga.closes.length === 1, 5000, 'close on both sides')
          equal(p.b.closed, true)
          await rejects(() => p.a.send(bytes(1)), 'ERR_CONNECTION_CLOSED')
          await rejects(() => p.b.send(bytes(1)), 'ERR_CONNECTION_CLOSED')
          await new Promise(resolve => setTimeout(resolve, 20))
          equal(ga.closes.length, 1)
          equal(gb.closes.length, 1)
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'frames sent just before close are delivered before the close',
      fn: async () => {
        const p = await open()
        try {
          collect(p.a)
          const gb = collect(p.b)
          for (let i = 0; i < 5; i++) p.a.send(bytes(100, i))
          p.a.close()
          await eventually(() => gb.closes.length === 1, 5000, 'close')
          equal(gb.frames.length, 5)
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'dialling an address where nothing listens rejects with DialError',
      fn: async () => {
        const t = await h.create()
        try { await within(rejects(() => t.dial(h.deadAddress()), 'ERR_DIAL_FAILED'), 10_000, 'refused dial') } finally { await t.close() }
      }
    },
    {
      name: 'dial with an aborted signal rejects with AbortError',
      fn: async () => {
        const t = await h.create()
        try {
          const ac = new AbortController()
          ac.abort()
          await rejects(() => t.dial(h.deadAddress(), { signal: ac.signal }), 'ERR_ABORTED')
        } finally { await t.close() }
      }
    },
    {
      name: 'an invalid address rejects with InvalidAddressError',
      fn: async () => {
        const t = await h.create()
        try { await rejects(() => t.dial(h.invalidAddress ?? 'nope://'), 'ERR_INVALID_ADDRESS') } finally { await t.close() }
      }
    },
    {
      name: 'after listener.close new dials fail and accepted connections keep working',
      fn: async () => {
        const server = await h.create()
        const client = await h.create()
        const accepted: Connection[] = []
        const listener = await server.listen(h.listenAddress(), c => accepted.push(c))
        const addr = listener.addresses[0]!
        const a = await client.dial(addr)
        await eventually(() => accepted.length === 1, 5000, 'accept')
        const gb = collect(accepted[0]!)
        collect(a)
        await listener.close()
        await rejects(() => client.dial(addr), 'ERR_DIAL_FAILED')
        a.send(bytes(3))
        await eventually(() => gb.frames.length === 1, 5000, 'frame after listener close')
        a.close()
        await client.close(); await server.close()
      }
    },
    {
      name: 'many concurrent connections stay isolated',
      fn: async () => {
        const server = await h.create()
        const client = await h.create()
        const inbound: Connection[] = []
        const echoes = new Map<number, Uint8Array[]>()
        const listener = await server.listen(h.listenAddress(), c => {
          inbound.push(c)
          c.setHandlers({ onMessage: f => c.send(f), onClose: () => {} })
        })
        const conns = await Promise.all(Array.from({ length: 20 }, async () => await client.dial(listener.addresses[0]!)))
        conns.forEach((c, i) => {
          echoes.set(i, [])
          c.setHandlers({ onMessage: f => echoes.get(i)!.push(f), onClose: () => {} })
          c.send(bytes(50, i))
        })
        await eventually(() => [...echoes.values()].every(v => v.length === 1), 10_000, 'echoes')
        conns.forEach((_c, i) => bytesEqual(echoes.get(i)![0]!, bytes(50, i)))
        for (const c of conns) c.close()
        await listener.close()
        await client.close(); await server.close()
      }
    },
    {
      name: 'bufferedAmount reports queued bytes and drained() resolves once they are sent',
      fn: async () => {
        const p = await open()
        try {
          const gb = collect(p.b)
          collect(p.a)
          const chunk = bytes(64 * 1024)
          for (let i = 0; i < 64; i++) p.a.send(chunk)
          ok(p.a.bufferedAmount >= 0, 'bufferedAmount is a number')
          await within(p.a.drained(), 10_000, 'drained')
          await eventually(() => gb.frames.length === 64, 10_000, 'all frames')
          await eventually(() => p.a.bufferedAmount === 0, 5000, 'empty buffer')
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'drained() rejects with AbortError when its signal aborts while bytes are queued',
      fn: async () => {
        const p = await open()
        try {
          collect(p.b)
          collect(p.a)
          const chunk = bytes(64 * 1024)
          for (let i = 0; i < 128; i++) p.a.send(chunk)
          ok(p.a.bufferedAmount > 0, 'a burst of 8 MiB must show up in bufferedAmount')
          const ac = new AbortController()
          const waiting = p.a.drained({ signal: ac.signal })
          ac.abort()
          await rejects(() => waiting, 'ERR_ABORTED')
          const pre = new AbortController()
          pre.abort()
          await rejects(() => p.a.drained({ signal: pre.signal }), 'ERR_ABORTED')
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'pause() stops reading: the sender\'s buffer fills and does not drain; resume() delivers every frame in order',
      fn: async () => {
        const p = await open()
        try {
          // optional in the contract (a WebRTC data channel cannot stop reading): both or neither
          equal(p.b.pause === undefined, p.b.resume === undefined, 'pause and resume come together')
          if (p.b.pause === undefined || p.b.resume === undefined) return
          const gb = collect(p.b)
          collect(p.a)
          p.b.pause()
          p.b.pause()
          // 32 MiB: more than the kernel's socket buffers take while nobody reads them
          const n = 512
          for (let i = 0; i < n; i++) p.a.send(bytes(64 * 1024, i))
          // the one place that waits for something not to happen: how long decides how sure the
          // check is, never whether a transport that pauses passes (unread, it never drains)
          let drained = false
          const draining = p.a.drained().then(() => { drained = true })
          await new Promise(resolve => setTimeout(resolve, 500))
          ok(!drained, 'the sender drained while the receiver was paused: nothing pushed back')
          ok(gb.frames.length < n / 2, `the paused receiver read ${gb.frames.length} of ${n} frames`)
          p.b.resume()
          await within(draining, 20_000, 'drained after resume')
          await eventually(() => gb.frames.length === n, 20_000, 'every frame after resume')
          for (let i = 0; i < n; i++) equal(gb.frames[i]![0], i & 0xff, `frame ${i} out of order`)
          equal(p.b.closed, false)
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'a peer cannot grow the pre-handler buffer without bound',
      fn: async () => {
        const p = await open({ listenMax: 64 * 1024, dialMax: 64 * 1024 })
        try {
          collect(p.a)
          const chunk = bytes(60 * 1024)
          // nobody reads b: past its cap (max(1 MiB, 2 frames)) it must close instead of buffering
          for (let i = 0; i < 64 && !p.a.closed; i++) { p.a.send(chunk); await p.a.drained() }
          await eventually(() => p.b.closed, 10_000, 'unread connection closed')
        } finally { await p.cleanup() }
      }
    },
    {
      name: 'transport.close releases listeners so the address refuses new dials',
      fn: async () => {
        const server = await h.create()
        const client = await h.create()
        const listener = await server.listen(h.listenAddress(), c => c.close())
        const addr = listener.addresses[0]!
        await server.close()
        await rejects(() => client.dial(addr), 'ERR_DIAL_FAILED')
        await listener.close()
        await client.close()
      }
    }
  ]
}
