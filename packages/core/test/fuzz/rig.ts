/**
 * A victim node on a memory network with every protocol switched on (overlay, announce,
 * relay middleware, streams, broadcast streams, state, events), an honest bystander linked to
 * it, and an attacker that writes raw frames on its own authenticated link. Frames reach the
 * victim through its real inbound path: secure channel, envelope decoder, protocol handlers.
 */
import {
  ConnectionClosedError, createNode, decodeValue, encodeEnvelope, encodeValue, MemoryNetwork, relay, seededRandom
} from '../../src/index.js'
import type { HearsayNode, Logger, NodeOptions, Peer } from '../../src/index.js'

export type Mode = 'flood' | 'plumtree'

export interface RigOptions {
  mode: Mode
  seed: number
  /** Extra options for the victim. */
  victim?: NodeOptions
}

/** What the victim did wrong while being fed: each one fails the target. */
export interface Failure { what: string, detail: string }

const WAIT_MS = 10_000

export class Rig {
  /** Protocol messages (type → decoded wire form) that honest nodes sent during the warm-up. */
  readonly corpus = new Map<string, unknown[]>()
  private recording = true
  private attackerLink: Peer | undefined
  redials = 0

  private constructor (
    readonly failures: Failure[],
    readonly net: MemoryNetwork,
    readonly victim: HearsayNode,
    readonly bystander: HearsayNode,
    readonly attacker: HearsayNode
  ) {}

  static async start (o: RigOptions): Promise<Rig> {
    const net = new MemoryNetwork()
    const random = seededRandom(o.seed)
    const failures: Failure[] = []
    const common = (host: string): NodeOptions => ({
      transports: [net.transport(host)],
      listen: [`memory:${host}`],
      random,
      broadcast: o.mode,
      shuffleInterval: 300,
      heartbeatInterval: 1_000,
      healInterval: 0,
      state: { gossipInterval: 50 },
      rttInterval: 0,
      purgeInterval: 0,
      // the attacker sends undecodable frames on purpose and must be able to come back
      abuse: { maxInvalidFrames: 0 }
    })
    const victim = createNode({ ...common('victim'), logger: failureLogger(failures), ...o.victim })
    const bystander = createNode({ ...common('bystander'), seeds: ['memory:victim'] })
    const attacker = createNode({ ...common('attacker'), seeds: ['memory:victim'] })
    for (const n of [victim, bystander, attacker]) n.use(relay())
    const rig = new Rig(failures, net, victim, bystander, attacker)
    for (const n of [victim, bystander, attacker]) rig.record(n)
    try {
      await rig.wire()
      await rig.warmUp()
    } catch (err) {
      await rig.stop()
      throw err
    }
    rig.recording = false
    return rig
  }

  /** Every protocol message an honest node sends during the warm-up is kept as a seed. */
  private record (n: HearsayNode): void {
    // protocol modules send through the node's context
    const ctx = n.context
    const send = ctx.send
    ctx.send = (peer, type, data) => {
      if (this.recording) {
        const list = this.corpus.get(type) ?? []
        if (list.length < 40) { list.push(decodeValue(encodeValue(data))); this.corpus.set(type, list) }
      }
      return send(peer, type, data)
    }
  }

  private async wire (): Promise<void> {
    const v = this.victim
    v.on('error', (err) => { this.failures.push({ what: 'error event', detail: String(err) }) })
    v.route('*', () => {})
    v.on('request', (req) => { req.reply({ ok: true }) })
    v.on('stream', (s) => {
      // read everything; echo nothing: the victim must survive whatever the stream carries
      s.readable.pipeTo(new WritableStream()).catch(() => {})
    })
    await v.start()
    for (const n of [this.bystander, this.attacker]) {
      n.route('*', () => {})
      n.on('request', (req) => { req.reply('seen') })
      n.on('stream', (s) => { s.readable.pipeTo(new WritableStream()).catch(() => {}) })
      await n.start()
    }
    v.state.on('set', () => {})
    v.events.hear('**', () => {})
    const reader = v.createBroadcastStream({ name: 'fz' }).readable.getReader()
    const drain = async (): Promise<void> => { for (;;) { const r = await reader.read(); if (r.done) return } }
    drain().catch(() => {})
    await until(() => v.overlay!.active.length === 2 && v.getPeer(this.attacker.id) !== undefined, 'the overlay to form')
  }

  /** Honest traffic of every kind, so that the corpus holds a real example of each message. */
  private async warmUp (): Promise<void> {
    const { victim: v, attacker: a, bystander: b } = this
    a.state.set('k', { v: 1, list: [1, 2, 3] })
    a.state.set('gone', 'x')
    a.state.delete('gone')
    b.state.set('k', 'b')
    await until(() => v.state.getRemote(a.id, 'k') !== undefined && v.state.getRemote(b.id, 'k') !== undefined, 'state to replicate')
    const heard = v.events.hearOnce('room.*', { timeout: WAIT_MS })
    a.events.say('room.join', { who: 'a' }, { duration: 60_000 })
    await heard
    a.broadcast('chat', { text: 'hello' })
    for await (const _ of a.announce({ type: 'who', data: 1, timeout: 2_000, maxReplies: 2 })) { /* replies recorded */ }
    const toVictim = a.getPeer(v.id)!
    toVictim.send('direct', { text: 'relayed to the bystander by the victim' })
    const s = toVictim.openStream('files')
    const w = s.writable.getWriter()
    await w.write(new Uint8Array(5_000).fill(7))
    await w.close()
    s.readable.cancel().catch(() => {})
    const bw = a.createBroadcastStream({ name: 'fz' }).writable.getWriter()
    await bw.write(new Uint8Array(100).fill(1))
    await a.ping(v.id)
    await b.ping(v.id)
    await until(() => v.metrics.get('relay.forwarded') > 0 && v.metrics.get('streams.accepted') > 0, 'relay and stream traffic')
    // one more membership round: shuffles and their replies
    await until(() => this.corpus.has('hv.shuffle'), 'a shuffle', 3_000).catch(() => {})
    await settle()
  }

  /** The attacker's link to the victim, redialled (and rejoined) if the victim closed it. */
  async link (): Promise<Peer> {
    // both ends must hold the same link: a frame sent on a link the victim already retired as a
    // duplicate (the victim may dial the attacker too, from its passive view) is dropped unread
    const agreed = (): boolean => {
      const a = this.attacker.getPeer(this.victim.id)
      const v = this.victim.getPeer(this.attacker.id)
      return a?.connected === true && v?.connected === true && a.link.linkId === v.link.linkId
    }
    const p = this.attackerLink
    if (p !== undefined && p.connected && agreed()) return p
    // a link the victim closed is gone on the attacker's side a moment later: redial only then
    await until(() => this.attacker.getPeer(this.victim.id)?.connected !== false, 'the closed link to go')
    if (this.attacker.getPeer(this.victim.id) === undefined) await this.attacker.dial('memory:victim', { neighbor: false })
    this.redials++
    // the victim checks the last handshake message after the attacker sent it
    await until(agreed, 'both ends to hold the same link')
    const peer = this.attacker.getPeer(this.victim.id)!
    this.timeVictim(this.victim.getPeer(this.attacker.id)!)
    this.attackerLink = peer
    return peer
  }

  /**
   * The victim's own CPU time for the attacker's frames: its link handler (envelope decoder,
   * protocol handler and whatever it sends in turn), without the attacker's or the bystander's
   * work, which shares this process. CPU time, not wall time: on a shared machine the handler
   * may be preempted, and a preempted frame is not a slow one.
   */
  private victimMs = 0
  private timeVictim (peer: Peer): void {
    const handlers = (peer.link.conn as unknown as { handlers: { onMessage: (f: Uint8Array) => void } }).handlers
    const onMessage = handlers.onMessage
    handlers.onMessage = (frame) => {
      const t0 = process.cpuUsage()
      try { onMessage(frame) } finally {
        const d = process.cpuUsage(t0)
        this.victimMs += (d.user + d.system) / 1000
      }
    }
  }

  /** Encodes and sends one message from the attacker; resolves when the victim processed it, with the victim's CPU time for it (ms). */
  async feed (type: string, data: unknown): Promise<number | 'unencodable'> {
    // a value far above the frame limit (a big one repeated) would take seconds to encode and then fail
    if (roughSize(data, this.victim.limits.maxFrameBytes) > this.victim.limits.maxFrameBytes) return 'unencodable'
    let frame: Uint8Array
    try { frame = encodeEnvelope({ type, data }, this.victim.limits) } catch { return 'unencodable' }
    return await this.feedFrame(frame)
  }

  async feedFrame (frame: Uint8Array): Promise<number> {
    this.victimMs = 0
    // a link the victim is closing (the previous input's doing) may look open for a moment:
    // such a send fails at once, and the input goes over a fresh link
    for (let attempt = 1; ; attempt++) {
      const peer = await this.link()
      try { peer.link.conn.send(frame); break } catch (err) {
        if (!(err instanceof ConnectionClosedError) || attempt === 3) throw err
        await settle()
      }
    }
    await settle()
    return this.victimMs
  }

  /** Sum of the victim's `drops.*` counters. */
  drops (): number {
    let n = 0
    for (const [k, v] of Object.entries(this.victim.metrics.snapshot())) if (k.startsWith('drops.')) n += v
    return n
  }

  /** The victim still answers pings (from the bystander and from the attacker) and delivers a message. */
  async assertHealthy (): Promise<void> {
    const v = this.victim
    await this.bystander.ping(v.id, { timeout: 3_000 })
    // the last input may have been one the victim closes the link for, a moment after it looked open
    for (let attempt = 1; ; attempt++) {
      try { await this.attacker.ping(await this.link(), { timeout: 3_000 }); break } catch (err) {
        if (!(err instanceof ConnectionClosedError) || attempt === 3) throw err
        await settle()
      }
    }
    const got = new Promise<void>((resolve) => { const off = v.route('health', () => { off(); resolve() }) })
    this.bystander.getPeer(v.id)!.send('health', 1)
    await within(got, 3_000, 'a message after the fuzzing')
  }

  async stop (): Promise<void> {
    await Promise.all([this.attacker.stop(), this.bystander.stop(), this.victim.stop()])
  }
}

/** A lower bound of `v`'s msgpack size, walking no further than `budget` bytes. */
function roughSize (v: unknown, budget: number): number {
  let n = 0
  const stack: unknown[] = [v]
  while (stack.length > 0 && n <= budget) {
    const x = stack.pop()
    if (typeof x === 'string') n += x.length + 1
    else if (x instanceof Uint8Array) n += x.length + 2
    else if (Array.isArray(x)) { n += 1; for (const e of x) stack.push(e) }
    else if (typeof x === 'object' && x !== null) { n += 1; for (const [k, e] of Object.entries(x)) { n += k.length + 1; stack.push(e) } }
    else n += 1
  }
  return n
}

/** Drains the microtasks and one macrotask: memory links deliver through microtasks. */
export async function settle (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}

export async function until (cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`timed out waiting for ${what}`)) }, ms) })
  try { return await Promise.race([p, timeout]) } finally { clearTimeout(timer) }
}

/** Collects what only a bug logs: a handler, route or listener that threw. */
function failureLogger (failures: Failure[]): Logger {
  const noop = (): void => {}
  const warn = (msg: string, fields?: Record<string, unknown>): void => {
    if (/failed|threw/.test(msg) && !/dial|handshake|seed|store/.test(msg)) failures.push({ what: msg, detail: String(fields?.err) })
  }
  return { debug: noop, info: noop, warn, error: warn }
}
