import { utf8 } from '../util/bytes.js'
import { ConnectionClosedError, NotStartedError, StreamResetError, TooLargeError } from '../util/errors.js'
import { DEFAULT_HIGH_WATER_MARK } from '../util/limits.js'
import type { ServiceContext } from './context.js'
import type { Link, Peer } from '../link/peer.js'
import { isInt, isRecord, isString } from '../overlay/validate.js'
import { utf8Length } from '../util/bytes.js'

declare module './context.js' {
  interface ServiceEvents {
    /** A peer opened a stream to this node (`peer.openStream`); without a listener streams are refused. */
    stream: PeerStream
  }
}

declare module '../link/peer.js' {
  interface Peer {
    /**
     * Opens an ordered, flow-controlled duplex byte stream to this peer (`{ readable, writable }`
     * Web Streams); the peer gets it from its node's `stream` event. `name` (≤ 64 bytes) tells the
     * receiver what it is. Throws `ConnectionClosedError` when the peer is gone, `TooLargeError`
     * for a long name or too many open streams, `UnsupportedError` when the node does not list
     * the streams service.
     */
    openStream (name?: string, options?: OpenStreamOptions): PeerStream
  }
}

/**
 * Per-peer duplex byte streams over the node's authenticated link (smokesignal's peer streams):
 * ordered, chunked below the frame limit and flow-controlled by credit, so that a slow reader
 * holds back the writer instead of growing memory. Wire messages `st.open`, `st.data`,
 * `st.credit`, `st.end`, `st.reset` (docs/protocol.md).
 */

export interface OpenStreamOptions {
  /** Bytes the remote may send before this side reads them (the receive window). @default the node's `streamWindow` (1 MiB) */
  window?: number
}

/** What a stream writer accepts: bytes, or a string (sent as UTF-8). */
export type StreamChunk = Uint8Array | string

export interface StreamServiceOptions {
  window: number
  maxStreamsPerPeer: number
  /** Largest `st.data` payload. */
  chunkBytes: number
}

const MAX_CREDIT = 2 ** 40
const MAX_REASON = 64

/**
 * One ordered, flow-controlled duplex byte stream with one peer. Write with `writable`, read with
 * `readable` (Web Streams); `node/toDuplex()` in `@hearsay/node-streams` turns it into a Node
 * `Duplex`.
 */
export class PeerStream {
  /** The stream's number on this link (the opener's side picks it). */
  readonly id: number
  /** The name given to `openStream(name)` (empty by default): lets the receiver tell streams apart. */
  readonly name: string
  readonly peer: Peer
  /** `true` on the side that called `openStream`. */
  readonly initiator: boolean
  /** Bytes from the peer, in order. Cancelling it resets the whole stream. */
  readonly readable: ReadableStream<Uint8Array>
  /** Bytes to the peer; `close()` ends this direction, `abort()` resets the stream. */
  readonly writable: WritableStream<StreamChunk>
  /** Resolves when both directions have ended cleanly; rejects with `StreamResetError` or `ConnectionClosedError`. */
  readonly closed: Promise<void>

  #svc: StreamService
  #link: Link
  #window: number
  #credit = 0
  #creditWaiter: { resolve: () => void, reject: (err: Error) => void } | undefined
  #granted = 0
  #received = 0
  #started = false
  #readDone = false
  #writeDone = false
  #error: Error | undefined
  #rc!: ReadableStreamDefaultController<Uint8Array>
  #wc!: WritableStreamDefaultController
  #resolveClosed!: () => void
  #rejectClosed!: (err: Error) => void

  /** @internal */
  constructor (svc: StreamService, peer: Peer, id: number, name: string, initiator: boolean, window: number, credit: number) {
    this.#svc = svc
    this.peer = peer
    this.#link = peer.link
    this.id = id
    this.name = name
    this.initiator = initiator
    this.#window = window
    this.#credit = credit
    this.closed = new Promise<void>((resolve, reject) => { this.#resolveClosed = resolve; this.#rejectClosed = reject })
    this.closed.catch(() => {})
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => { this.#rc = c },
      pull: () => { this.#grant(false) },
      cancel: (reason) => { this.#fail(new StreamResetError('cancelled', { cause: reason }), 'cancelled') }
    }, { highWaterMark: window, size: (c) => c.byteLength })
    this.writable = new WritableStream<StreamChunk>({
      start: (c) => { this.#wc = c },
      write: async (chunk) => { await this.#write(chunk) },
      close: () => { this.#end() },
      abort: (reason) => { this.#fail(new StreamResetError('aborted', { cause: reason }), 'aborted') }
    }, { highWaterMark: svc.opts.chunkBytes, size: chunkSize })
  }

  /** Resets both directions at once; the peer's side fails with `StreamResetError(reason)`. */
  reset (reason = 'reset'): void {
    const r = String(reason).slice(0, MAX_REASON)
    this.#fail(new StreamResetError(r), r)
  }

  /** @internal the opener granted its window in `st.open` */
  granted (bytes: number): void { this.#granted = bytes; this.#started = true }

  /** @internal grants the initial window to the opener (sent when a stream is accepted). */
  accept (): void { this.#started = true; this.#grant(true) }

  /** @internal */
  onData (d: unknown): void {
    if (this.#error !== undefined) return
    if (this.#readDone || !(d instanceof Uint8Array)) { this.#violation('protocol'); return }
    if (this.#received + d.length > this.#granted) { this.#violation('flow-control'); return }
    this.#received += d.length
    if (d.length === 0) return
    this.#svc.ctx.metrics.inc('stream.bytes.in', d.length)
    // a plain view: no Buffer leaves core, and no copy is made
    this.#rc.enqueue(d.constructor === Uint8Array ? d : new Uint8Array(d.buffer, d.byteOffset, d.byteLength))
  }

  /** @internal */
  onCredit (c: unknown): void {
    if (this.#error !== undefined) return
    if (!isInt(c, 1, MAX_CREDIT) || this.#credit + c > MAX_CREDIT) { this.#violation('protocol'); return }
    this.#credit += c
    const w = this.#creditWaiter
    this.#creditWaiter = undefined
    w?.resolve()
  }

  /** @internal */
  onEnd (): void {
    if (this.#error !== undefined) return
    if (this.#readDone) { this.#violation('protocol'); return }
    this.#readDone = true
    try { this.#rc.close() } catch { /* cancelled by the reader */ }
    this.#maybeDone()
  }

  /** @internal the remote reset the stream */
  onReset (reason: unknown): void {
    const r = typeof reason === 'string' ? reason.slice(0, MAX_REASON) : 'unspecified'
    this.#fail(new StreamResetError(r, { remote: true }), undefined)
  }

  /** @internal the link is gone or the node stops */
  onLinkLost (err: Error): void { this.#fail(err, undefined) }

  #violation (reason: string): void {
    this.#svc.ctx.metrics.drop(`stream-${reason}`)
    this.#fail(new StreamResetError(reason), reason)
  }

  #send (type: string, data: unknown): void {
    const link = this.peer.link
    if (link !== this.#link || link.conn.closed) throw new ConnectionClosedError('the link this stream ran on is closed')
    if (!this.#svc.ctx.send(this.peer, type, data)) throw new ConnectionClosedError('the stream could not be sent on')
  }

  #grant (force: boolean): void {
    if (!this.#started || this.#readDone || this.#error !== undefined) return
    const queued = this.#window - (this.#rc.desiredSize ?? 0)
    const outstanding = this.#granted - this.#received
    const g = this.#window - queued - outstanding
    if (g <= 0) return
    // batch grants while the writer still has credit: one st.credit per half window read
    if (!force && outstanding > 0 && g < this.#window / 2) return
    try { this.#send('st.credit', { s: this.id, c: g }) } catch (err) { this.#fail(err as Error, undefined); return }
    this.#granted += g
  }

  async #write (chunk: StreamChunk): Promise<void> {
    const bytes = typeof chunk === 'string' ? utf8(chunk) : chunk
    if (!(bytes instanceof Uint8Array)) throw new TypeError('a stream chunk must be a Uint8Array or a string')
    const max = this.#svc.opts.chunkBytes
    let off = 0
    while (off < bytes.length) {
      if (this.#credit === 0) await this.#waitCredit()
      if (this.#error !== undefined) throw this.#error
      const n = Math.min(this.#credit, max, bytes.length - off)
      this.#send('st.data', { s: this.id, d: bytes.subarray(off, off + n) })
      this.#credit -= n
      off += n
      this.#svc.ctx.metrics.inc('stream.bytes.out', n)
      const conn = this.#link.conn
      if (conn.bufferedAmount > DEFAULT_HIGH_WATER_MARK) await conn.drained({ signal: this.#svc.ctx.signal })
    }
  }

  async #waitCredit (): Promise<void> {
    if (this.#error !== undefined) throw this.#error
    await new Promise<void>((resolve, reject) => { this.#creditWaiter = { resolve, reject } })
  }

  #end (): void {
    if (this.#error !== undefined) throw this.#error
    this.#send('st.end', { s: this.id })
    this.#writeDone = true
    this.#maybeDone()
  }

  #maybeDone (): void {
    if (!this.#readDone || !this.#writeDone || this.#error !== undefined) return
    this.#svc.remove(this)
    this.#resolveClosed()
  }

  /** Fails both directions once; `notify` is the reason sent to the peer in `st.reset`, if any. */
  #fail (err: Error, notify: string | undefined): void {
    if (this.#error !== undefined) return
    const finished = this.#readDone && this.#writeDone
    this.#error = err
    this.#svc.remove(this)
    if (finished) return
    if (notify !== undefined) {
      try { this.#send('st.reset', { s: this.id, r: notify }) } catch { /* the link is gone: the peer learns from that */ }
    }
    this.#rc.error(err)
    this.#wc.error(err)
    const w = this.#creditWaiter
    this.#creditWaiter = undefined
    w?.reject(err)
    this.#rejectClosed(err)
  }
}

function chunkSize (c: StreamChunk): number {
  if (typeof c === 'string') return utf8Length(c)
  return c instanceof Uint8Array ? c.byteLength : 1
}

interface PeerStreams { next: number, streams: Map<number, PeerStream> }

/** Opens, accepts and routes the streams of every peer. @internal */
export class StreamService {
  readonly #byPeer = new Map<Peer, PeerStreams>()

  constructor (readonly ctx: ServiceContext, readonly opts: StreamServiceOptions) {
    if (!isInt(opts.window, 1, MAX_CREDIT)) throw new TypeError('streamWindow must be a positive integer')
    ctx.handle('st.open', (peer, data) => { this.#onOpen(peer, data) })
    ctx.handle('st.data', (peer, data) => { this.#find(peer, data)?.onData((data as { d?: unknown }).d) })
    ctx.handle('st.credit', (peer, data) => { this.#find(peer, data)?.onCredit((data as { c?: unknown }).c) })
    ctx.handle('st.end', (peer, data) => { this.#find(peer, data)?.onEnd() })
    ctx.handle('st.reset', (peer, data) => { this.#find(peer, data, false)?.onReset((data as { r?: unknown }).r) })
    ctx.on('peer:disconnect', ({ peer, reason }) => { this.#lose(peer, new ConnectionClosedError('the peer disconnected', { cause: reason })) })
    ctx.onEveryStop(() => {
      for (const peer of [...this.#byPeer.keys()]) this.#lose(peer, new ConnectionClosedError('the node stopped'))
    })
  }

  /** Streams open right now, over all peers. */
  get size (): number {
    let n = 0
    for (const p of this.#byPeer.values()) n += p.streams.size
    return n
  }

  open (peer: Peer, name: string, options: OpenStreamOptions): PeerStream {
    if (this.ctx.status !== 'running') throw new NotStartedError(`The node is ${this.ctx.status}`)
    if (typeof name !== 'string' || utf8Length(name) > this.ctx.limits.maxTypeBytes) {
      if (typeof name === 'string') throw new TooLargeError(`a stream name is at most ${this.ctx.limits.maxTypeBytes} bytes`)
      throw new TypeError('a stream name must be a string')
    }
    const window = options.window ?? this.opts.window
    if (!isInt(window, 1, MAX_CREDIT)) throw new TypeError('window must be a positive integer')
    if (!peer.connected || this.ctx.getPeer(peer.id) !== peer) throw new ConnectionClosedError('not connected to that peer')
    const ps = this.#streamsOf(peer)
    if (ps.streams.size >= this.opts.maxStreamsPerPeer) throw new TooLargeError(`at most ${this.opts.maxStreamsPerPeer} streams per peer`)
    const id = ps.next
    ps.next += 2
    const stream = new PeerStream(this, peer, id, name, true, window, 0)
    if (!this.ctx.send(peer, 'st.open', { s: id, n: name, c: window })) throw new ConnectionClosedError('not connected to that peer')
    stream.granted(window)
    ps.streams.set(id, stream)
    this.ctx.metrics.inc('streams.opened')
    return stream
  }

  /** @internal */
  remove (stream: PeerStream): void {
    const ps = this.#byPeer.get(stream.peer)
    if (ps?.streams.get(stream.id) === stream) ps.streams.delete(stream.id)
  }

  #streamsOf (peer: Peer): PeerStreams {
    let ps = this.#byPeer.get(peer)
    if (ps === undefined) {
      // the two sides number their streams with different parities: the lower peer id takes even numbers
      ps = { next: this.ctx.id < peer.id ? 0 : 1, streams: new Map() }
      this.#byPeer.set(peer, ps)
    }
    return ps
  }

  #onOpen (peer: Peer, data: unknown): void {
    if (!isRecord(data) || !isInt(data.s, 0, Number.MAX_SAFE_INTEGER) || !isInt(data.c, 0, MAX_CREDIT) ||
      !(data.n === undefined || isString(data.n, this.ctx.limits.maxTypeBytes) || data.n === '')) {
      this.ctx.metrics.drop('stream-malformed')
      return
    }
    const ps = this.#streamsOf(peer)
    const id = data.s
    const name = typeof data.n === 'string' ? data.n : ''
    // the peer's ids have the other parity; reusing a live id is a protocol error
    if (id % 2 === ps.next % 2 || ps.streams.has(id)) { this.ctx.metrics.drop('stream-malformed'); return }
    if (ps.streams.size >= this.opts.maxStreamsPerPeer) { this.#refuse(peer, id); return }
    const stream = new PeerStream(this, peer, id, name, false, this.opts.window, data.c)
    ps.streams.set(id, stream)
    if (!this.ctx.emit('stream', stream)) {
      ps.streams.delete(id)
      this.#refuse(peer, id)
      return
    }
    this.ctx.metrics.inc('streams.accepted')
    stream.accept()
  }

  #refuse (peer: Peer, id: number): void {
    this.ctx.metrics.drop('stream-refused')
    this.ctx.send(peer, 'st.reset', { s: id, r: 'refused' })
  }

  #find (peer: Peer, data: unknown, count = true): PeerStream | undefined {
    const s = isRecord(data) ? data.s : undefined
    if (!isInt(s, 0, Number.MAX_SAFE_INTEGER)) { this.ctx.metrics.drop('stream-malformed'); return undefined }
    const stream = this.#byPeer.get(peer)?.streams.get(s)
    // frames that cross a reset in flight land here: dropped, never answered
    if (stream === undefined && count) this.ctx.metrics.drop('stream-unknown')
    return stream
  }

  #lose (peer: Peer, err: Error): void {
    const ps = this.#byPeer.get(peer)
    if (ps === undefined) return
    this.#byPeer.delete(peer)
    for (const s of [...ps.streams.values()]) s.onLinkLost(err)
  }
}

