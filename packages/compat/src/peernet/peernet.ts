/**
 * The peernet instance over one hearsay node: the level database becomes the node's peer store
 * (`levelStore({ db })`), peernet's intervals become the node's peer exchange and purge, its
 * announcements hearsay announcements whose replies stream back, and `createStream()` an inbound
 * link of the node. Nothing here keeps peers or routes of its own.
 */
import { EventEmitter } from 'node:events'
import { Readable } from 'node:stream'
import type { Duplex } from 'node:stream'
import { createNode, NotStartedError, silentLogger } from '@hearsay/core'
import type { HearsayNode, Logger, PeerId, Request } from '@hearsay/core'
import { levelStore } from '@hearsay/store-level'
import type { LevelDatabase, LevelPeerStore } from '@hearsay/store-level'
import { tcp } from '@hearsay/transport-tcp'
import { webSockets } from '@hearsay/transport-ws'
import { callback } from '../shared/callback.js'
import type { Callback } from '../shared/callback.js'
import { ANNOUNCE_TYPE, checkMessage, fromWire, hearsayId, replyDistance, toWire } from './messages.js'
import type { PeernetMessage, PeernetRow } from './messages.js'
import { resolveOptions } from './options.js'
import type { PeernetOptions } from './options.js'
import { STREAM_LISTEN_ADDRESS, StreamTransport } from './stream-transport.js'

/** What the `request` event gives: the announcement and `reply(msg)`. */
export interface PeernetRequest extends PeernetRow {
  /** The node the announcement came from (as it claims) and the neighbour that passed it on. */
  origin: PeerId
  from: PeerId
  /** Sends `msg` back (object fields default to the request's, hops to 0; a Buffer or string is the data). */
  reply: (msg?: PeernetMessage | Buffer | Uint8Array | string) => void
}

/** `pn.getStats(addr, cb)`'s stats. */
export interface PeernetStats { connections: { ok: number, fail: number }, nodes: { rx: number, tx: number } }

/** Diagnostics on stderr, as peernet's `debug: true` printed them. */
function stderrLogger (): Logger {
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>): void => {
    if (fields === undefined) console.error(`peernet ${level}: ${msg}`)
    else console.error(`peernet ${level}: ${msg}`, fields)
  }
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
}

function isLevel (db: unknown): db is LevelDatabase {
  const d = db as Record<string, unknown> | null
  return d !== null && typeof d === 'object' && typeof d.iterator === 'function' && typeof d.batch === 'function' &&
    typeof d.getMany === 'function' && typeof d.open === 'function'
}

function addressList (what: string, nodes: unknown): string[] {
  if (!Array.isArray(nodes) || nodes.some(n => typeof n !== 'string' || n.length === 0)) throw new TypeError(`peernet: ${what}(nodes) needs an array of address strings`)
  return nodes as string[]
}

export class Peernet extends EventEmitter {
  /** The hearsay node under this instance. */
  readonly node: HearsayNode
  /** The peer store on the application's database. */
  readonly store: LevelPeerStore
  readonly #streams = new StreamTransport()
  readonly #started: Promise<void>
  readonly #debug: boolean
  #closing: Promise<void> | undefined

  constructor (db: unknown, opts?: PeernetOptions) {
    super()
    if (!isLevel(db)) throw new TypeError('peernet(db, opts): db must be a level database (abstract-level: `new Level(path)` from level ≥ 8, classic-level, a sublevel)')
    const o = resolveOptions(opts)
    this.#debug = o.debug
    this.store = levelStore({ db })
    this.node = createNode({
      transports: [...(o.transports ?? [webSockets(), tcp()]), this.#streams],
      listen: [STREAM_LISTEN_ADDRESS],
      store: this.store,
      // the store wraps the application's db: closing the store flushes it and leaves the db open
      closeStore: true,
      logger: o.debug ? stderrLogger() : silentLogger,
      shuffleInterval: o.interval,
      purgeInterval: o.purge,
      minPeers: o.connections,
      // HyParView needs room above its floor to take joiners without churning (docs/api.md, "Overlay sizing")
      maxPeers: Math.max(o.connections, 4)
    })
    this.node.on('request', (req) => { this.#onRequest(req) })
    this.#started = this.node.start()
    this.#started.catch((err: unknown) => { this.emit('error', err) })
  }

  /** Saves `nodes` (address strings) to the database; the node connects to them by itself while it has fewer than `connections` peers. */
  save (nodes: string[], cb?: Callback<void>): Promise<void> | undefined {
    const list = addressList('save', nodes)
    return callback(this.store.save(list), cb)
  }

  /** Removes `nodes` from the database (tombstoned, so peer exchange does not bring them back at once). */
  remove (nodes: string[], cb?: Callback<void>): Promise<void> | undefined {
    const list = addressList('remove', nodes)
    return callback(this.store.remove(list), cb)
  }

  /** Every known peer as a readable object stream of `{ address }` rows. */
  known (): Readable {
    const store = this.store
    return Readable.from((async function * () {
      for await (const row of store.known()) yield { address: row.address }
    })(), { objectMode: true })
  }

  /** Connection statistics of `addr`: `{ connections: { ok, fail }, nodes: { rx, tx } }`. */
  getStats (addr: string, cb?: Callback<PeernetStats>): Promise<PeernetStats> | undefined {
    if (typeof addr !== 'string' || addr.length === 0) throw new TypeError('peernet: getStats(addr, cb) needs an address string')
    return callback((async () => {
      // the node batches its stat events: write the waiting ones so the answer is current
      if (this.node.status === 'running') await this.node.flushStats()
      const s = await this.store.getStats(addr)
      return { connections: { ok: s.connections.ok, fail: s.connections.fail }, nodes: { rx: s.nodes.rx, tx: s.nodes.tx } }
    })(), cb)
  }

  /** Connects to `addr`; `cb(err)` once linked (the peer becomes an overlay neighbour) or failed. */
  connect (addr: string, cb?: Callback<void>): Promise<void> | undefined {
    if (typeof addr !== 'string' || addr.length === 0) throw new TypeError('peernet: connect(addr, cb) needs an address string')
    if (cb !== undefined && typeof cb !== 'function') throw new TypeError('peernet: connect(addr, cb): cb must be a function')
    return callback((async () => {
      await this.#running()
      const peer = await this.node.dial(addr)
      this.#log(`connected to ${addr} (${peer.id})`)
    })(), cb)
  }

  /** Disconnects from `addr` (the address dialled, or a peer id). */
  disconnect (addr: string): Promise<boolean> {
    if (typeof addr !== 'string' || addr.length === 0) throw new TypeError('peernet: disconnect(addr) needs an address string')
    return this.node.status === 'running' ? this.node.hangUp(addr) : Promise.resolve(false)
  }

  /** A duplex stream for a connection the application's own server accepted (one frame per chunk). */
  createStream (): Duplex {
    if (this.#closing !== undefined) throw new NotStartedError('peernet: createStream() after close()')
    return this.#streams.createStream()
  }

  /** The connected peers: the address this node dialled, or the peer id for inbound links. */
  connections (): string[] {
    return this.node.peers().map(p => p.direction === 'outbound' ? p.address : p.id)
  }

  /** Announces `msg` to the network; replies stream back as rows (the stream ends after hearsay's `announceTimeout`, 5 s). */
  announce (msg: PeernetMessage = {}): Readable {
    const m = checkMessage(msg)
    const node = this.node
    const running = this.#running()
    const id = hearsayId(m.id)
    const abort = new AbortController()
    const rows = Readable.from((async function * () {
      await running
      const replies = node.announce({ type: ANNOUNCE_TYPE, data: toWire(m), id, hops: m.hops, signal: abort.signal, ...(m.limit === undefined ? {} : { limit: m.limit }) })
      for await (const reply of replies) {
        const row = fromWire(reply.data, replyDistance(reply.data))
        if (row === undefined) { node.metrics.drop('peernet-malformed-reply'); continue }
        yield row
      }
    })(), { objectMode: true })
    // destroying the stream stops waiting for replies
    rows.once('close', () => { abort.abort() })
    return rows
  }

  /** Stops the node (every link, interval and pending announcement); the database stays open. */
  close (cb?: Callback<void>): Promise<void> | undefined {
    this.#closing ??= (async () => {
      await this.#started.catch(() => {})
      await this.node.stop()
    })()
    return callback(this.#closing, cb)
  }

  async #running (): Promise<void> {
    await this.#started
    if (this.node.status !== 'running') throw new NotStartedError('peernet: the instance was closed')
  }

  #onRequest (req: Request): void {
    if (req.type !== ANNOUNCE_TYPE) return
    const row = fromWire(req.data, req.hops)
    if (row === undefined) {
      this.node.metrics.drop('peernet-malformed-request')
      this.#log(`ignored a malformed announcement from ${req.origin}`)
      return
    }
    const request: PeernetRequest = {
      ...row,
      origin: req.origin,
      from: req.from,
      reply: (msg) => {
        const defaults = { id: row.id, ...(row.type === undefined ? {} : { type: row.type }), ...(row.data === undefined ? {} : { data: row.data }), ...(row.limit === undefined ? {} : { limit: row.limit }) }
        const answer = checkMessage(msg ?? {}, defaults)
        req.reply(toWire(answer, req.hops))
      }
    }
    if (this.listenerCount('request') === 0) this.node.metrics.drop('peernet-unanswered-request')
    this.emit('request', request)
  }

  #log (line: string): void { if (this.#debug) console.error(`peernet: ${line}`) }
}
