/**
 * Every protocol message type fed to a running node through its real inbound path (secure
 * channel → envelope decoder → handler), with fast-check inputs: real messages recorded from
 * honest traffic and then mutated field by field, blown up to the frame limit, or replaced by any
 * msgpack value. For each type: no handler throws (`drops.handler-error` stays 0, nothing is
 * logged as failed, no `error` event), nothing is rejected unhandled, bad input is counted in
 * `drops.*`, no frame costs the victim much more CPU than a heartbeat carrying the same bytes,
 * the heap stays bounded, and the node still answers pings and delivers messages afterwards.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeEnvelope, encodeEnvelope, seededRandom } from '../../src/index.js'
import { hostileValues, inputArb, applyOps } from './arbitraries.js'
import type { Input } from './arbitraries.js'
import { Rig, settle } from './rig.js'
import type { Mode } from './rig.js'
import { heapAfterGc, mutate, NODE_RUNS, report, SEED } from './support.js'

/**
 * A frame that costs the victim more than FAST_MS of CPU is timed again (best of 3) against a
 * heartbeat carrying the same data (decoded, then ignored): more than SLOW_FACTOR times that is
 * a finding (an amplification: little on the wire, much work). An absolute bound would flag a
 * busy machine.
 */
const FAST_MS = 15
const SLOW_FACTOR = 4
/** `FUZZ_TYPES=hv.join,kv.ack` runs only those types. */
const ONLY = process.env.FUZZ_TYPES?.split(',').filter(t => t !== '')
/** Types whose data the node accepts whatever it is (nothing to drop). */
const ACCEPT_ANYTHING = new Set(['hs.hb', 'hs.bye', 'hs.ping', 'chat'])

const COMMON = [
  'hs.ping', 'hs.pong', 'hs.hb', 'hs.bye', 'hs.pause',
  'hv.join', 'hv.fjoin', 'hv.nbr', 'hv.nbr-reply', 'hv.disc', 'hv.sb', 'hv.shuffle', 'hv.shuffle-reply',
  'rr.reply', 'fl.relay', 'st.open', 'st.data', 'st.credit', 'st.end', 'st.reset', 'st.bc',
  'kv.syn', 'kv.ack', 'kv.delta', 'ev.replay', 'rtc.signal', 'rtc.error', 'ice.servers', 'chat'
]
const BY_MODE: Record<Mode, string[]> = {
  flood: [...COMMON, 'fl.gossip', 'ev.fl.gossip'],
  plumtree: ['pt.gossip', 'pt.ihave', 'pt.graft', 'pt.prune', 'ev.pt.gossip', 'ev.pt.ihave', 'ev.pt.graft', 'ev.pt.prune']
}

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
beforeAll(() => { process.on('unhandledRejection', onUnhandled) })
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled.map(String)).toEqual([])
})

/** Hand-written messages of every type, for the ones honest traffic did not produce. */
function fallbacks (rig: Rig, stream: number): Record<string, unknown[]> {
  const A = rig.attacker.id
  const B = rig.bystander.id
  const expires = Date.now() + 60_000
  const bcPayload = { o: A, ty: 'chat', d: { text: 'x' }, nr: true }
  const evPayload = { i: 'e'.repeat(32), o: A, n: 'room.x', d: { v: 1 }, x: expires }
  const entry = { id: B, addrs: ['memory:bystander'] }
  return {
    'hs.ping': [{ n: 1 }],
    'hs.pong': [{ n: 1 }],
    'hs.hb': [null],
    'hs.bye': [{ reason: 'shutdown' }],
    'hs.pause': [{ paused: true }, { paused: false }],
    'hv.sb': [{ peers: [entry] }],
    'hv.join': [{ addrs: ['memory:attacker'] }],
    'hv.fjoin': [{ newId: B, newAddrs: ['memory:bystander'], ttl: 3 }],
    'hv.nbr': [{ priority: 'high', addrs: ['memory:attacker'] }],
    'hv.nbr-reply': [{ accepted: false, peers: [entry] }, { accepted: true }],
    'hv.disc': [{}],
    'hv.shuffle': [{ origin: B, originAddrs: ['memory:bystander'], ttl: 2, peers: [entry] }],
    'hv.shuffle-reply': [{ peers: [entry] }],
    'fl.gossip': [{ id: 'a'.repeat(32), hops: 1, limit: 6, payload: bcPayload }, { id: 'b'.repeat(32), hops: 1, limit: 6, payload: { o: A, ty: 'st.bc', d: { n: 'fz', d: new Uint8Array(10) }, nr: true } }],
    'pt.gossip': [{ id: 'a'.repeat(32), hops: 1, limit: 6, payload: bcPayload }],
    'pt.ihave': [{ ids: [{ id: 'c'.repeat(32), hops: 1 }] }],
    'pt.graft': [{ ids: ['a'.repeat(32)] }],
    'pt.prune': [{}],
    'ev.fl.gossip': [{ id: evPayload.i, hops: 1, limit: 6, payload: evPayload }],
    'ev.pt.gossip': [{ id: evPayload.i, hops: 1, limit: 6, payload: evPayload }],
    'ev.pt.ihave': [{ ids: [{ id: 'f'.repeat(32), hops: 1 }] }],
    'ev.pt.graft': [{ ids: [evPayload.i] }],
    'ev.pt.prune': [{}],
    'ev.replay': [{ e: [evPayload] }],
    'rr.reply': [{ id: 'a'.repeat(32), r: A, d: 1, h: 0 }],
    'fl.relay': [{ id: 'r'.repeat(32), o: B, h: 2, l: 6, ty: 'chat', d: { text: 'x' } }],
    'st.open': [{ s: stream + 2, n: 'files', c: 65_536 }],
    'st.data': [{ s: stream, d: new Uint8Array(100) }],
    'st.credit': [{ s: stream, c: 1_000 }],
    'st.end': [{ s: stream }],
    'st.reset': [{ s: stream, r: 'cancelled' }],
    'st.bc': [{ n: 'fz', d: new Uint8Array(10) }],
    'kv.syn': [{ f: new Uint8Array(8), t: null, d: new Uint8Array(16) }],
    'kv.ack': [{ r: new Uint8Array(16) }],
    'kv.delta': [{ g: [] }],
    'rtc.signal': [{ from: A, to: rig.victim.id, sid: 's1', n: 0, hops: 1, data: { type: 'offer', sdp: 'v=0' } }, { from: A, to: B, sid: 's2', n: 1, hops: 1, data: {} }],
    'rtc.error': [{ from: A, to: rig.victim.id, sid: 's1', hops: 1, code: 'unreachable', peer: B }, { from: A, to: B, sid: 's2', hops: 1, code: 'busy', peer: A }],
    'ice.servers': [{ servers: [{ scheme: 'stun', port: 3478 }] }, { servers: [{ scheme: 'turn', port: 3478, transport: 'udp', username: '1:x', credential: 'c' }] }],
    chat: [{ text: 'hi' }]
  }
}

/** The attacker keeps one stream to the victim open, renewed every few inputs, so that `st.*` inputs can name a live stream. */
class LiveStream {
  id = 0
  private current: { reset: (r?: string) => void } | undefined
  constructor (private readonly rig: Rig) {}
  async renew (): Promise<void> {
    this.current?.reset('cancelled')
    const s = (await this.rig.link()).openStream('fz')
    this.id = s.id
    this.current = s
  }
}

async function bestOf (rig: Rig, type: string, data: unknown): Promise<number> {
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < 3; i++) best = Math.min(best, await rig.feed(type, data) as number)
  return best
}

async function fuzzType (rig: Rig, type: string, runs: number, seed: number): Promise<void> {
  const hostile = hostileValues(rig.victim.limits.maxFrameBytes)
  const live = new LiveStream(rig)
  await live.renew()
  const samplesOf = (): unknown[] => {
    const recorded = rig.corpus.get(type) ?? []
    const s = type.startsWith('st.') && type !== 'st.bc'
      ? recorded.map(m => (typeof m === 'object' && m !== null && 's' in m) ? { ...m, s: live.id } : m)
      : recorded
    return [...s, ...(fallbacks(rig, live.id)[type] ?? [])].slice(0, 48)
  }
  const count = samplesOf().length
  expect(count, `a sample of ${type}`).toBeGreaterThan(0)
  const ids = [rig.attacker.id, rig.bystander.id, rig.victim.id]
  const build = (input: Input): unknown => input.kind === 'any' ? input.value : applyOps(samplesOf()[input.sample % count], input.ops, hostile)
  const dropsBefore = rig.drops()
  const redialsBefore = rig.redials
  const heapBefore = heapAfterGc()
  let fed = 0
  let unencodable = 0
  let slowest = 0
  const started = performance.now()
  await fc.assert(fc.asyncProperty(inputArb(count, ids), async (input) => { await one(input) }), { numRuns: runs, seed, endOnFailure: true })
  async function one (input: Input): Promise<void> {
    if (fed % 25 === 0 && type.startsWith('st.')) await live.renew()
    const data = build(input)
    const errors = rig.victim.metrics.get('drops.handler-error')
    const ms = await rig.feed(type, data)
    if (ms === 'unencodable') { unencodable++; return }
    fed++
    slowest = Math.max(slowest, ms)
    if (ms > FAST_MS) {
      const again = await bestOf(rig, type, build(input))
      const base = await bestOf(rig, 'hs.hb', build(input))
      if (again > SLOW_FACTOR * base + FAST_MS) throw new Error(`${type}: one frame took ${again.toFixed(0)} ms, a heartbeat with the same data ${base.toFixed(0)} ms`)
    }
    if (rig.victim.metrics.get('drops.handler-error') !== errors || rig.failures.length > 0) {
      throw new Error(`${type}: the victim failed: ${JSON.stringify(rig.failures.splice(0))}`)
    }
  }
  const ms = performance.now() - started
  await settle()
  const heapGrowth = heapAfterGc() - heapBefore
  const drops = rig.drops() - dropsBefore
  report(`node ${type}`, fed, ms, { unencodable, redials: rig.redials - redialsBefore, drops, slowestMs: Math.round(slowest), heapGrowthMiB: +(heapGrowth / 2 ** 20).toFixed(1) })
  if (!ACCEPT_ANYTHING.has(type)) expect(drops, `drops counted for ${type}`).toBeGreaterThan(0)
  expect(heapGrowth).toBeLessThan(48 * 2 ** 20)
  await rig.assertHealthy()
  expect(rig.failures).toEqual([])
}

for (const mode of ['flood', 'plumtree'] as const) {
  describe(`fuzz: every message type through a ${mode} node (${NODE_RUNS} inputs each, seed ${SEED})`, () => {
    let rig: Rig
    beforeAll(async () => { rig = await Rig.start({ mode, seed: SEED }) }, 60_000)
    afterAll(async () => { await rig?.stop() })

    for (const [i, type] of BY_MODE[mode].entries()) {
      if (ONLY !== undefined && !ONLY.includes(type)) continue
      it(type, async () => { await fuzzType(rig, type, NODE_RUNS, SEED + i) }, 60_000 + NODE_RUNS * 20)
    }

    it('every protocol type the node handles has a target here', () => {
      const handled = rig.victim.protocolTypes
      const covered = new Set([...BY_MODE.flood, ...BY_MODE.plumtree])
      expect(handled.filter(t => !covered.has(t))).toEqual([])
    })

    if (mode === 'flood' && ONLY === undefined) {
      it('mutated bytes of real frames of every type: handled or counted, never thrown', async () => {
        const r = seededRandom(SEED + 99)
        const frames = [...rig.corpus].flatMap(([type, list]) => list.map(data => encodeEnvelope({ type, data })))
        const errors = rig.victim.metrics.get('drops.handler-error')
        const invalidBefore = rig.victim.metrics.get('drops.invalid-frame')
        let fed = 0
        let undecodable = 0
        const started = performance.now()
        for (let i = 0; fed < NODE_RUNS; i++) {
          const input = mutate(r, frames[i % frames.length]!)
          let decodes = true
          try { decodeEnvelope(input, rig.victim.limits) } catch { decodes = false }
          // each undecodable frame costs a redial (the victim closes the link): one in ten is sent
          if (!decodes && undecodable++ % 10 !== 0) continue
          await rig.feedFrame(input)
          fed++
          if (rig.victim.metrics.get('drops.handler-error') !== errors || rig.failures.length > 0) {
            throw new Error(`the victim failed on frame ${i}: ${JSON.stringify(rig.failures.splice(0))}`)
          }
        }
        report('node mutated frames', fed, performance.now() - started, { undecodableSeen: undecodable, closedLinks: rig.victim.metrics.get('drops.invalid-frame') - invalidBefore })
        expect(rig.victim.metrics.get('drops.invalid-frame')).toBeGreaterThan(invalidBefore)
        await rig.assertHealthy()
      }, 60_000 + NODE_RUNS * 40)
    }

    it('undecodable frames close the link, are counted, and the attacker can come back', async () => {
      const before = rig.victim.metrics.get('drops.invalid-frame')
      const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), encodeEnvelope({ type: 'chat', data: 1 }).subarray(0, 5)]
      for (const f of frames) await rig.feedFrame(f)
      expect(rig.victim.metrics.get('drops.invalid-frame') - before).toBe(frames.length)
      await rig.assertHealthy()
    })
  })
}
