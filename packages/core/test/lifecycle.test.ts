import { afterEach, describe, expect, it } from 'vitest'
import { setImmediate as macrotask } from 'node:timers/promises'
import { createNode, MemoryNetwork, plainChannel } from '../src/index.js'
import type { Clock, HearsayNode, NodeOptions } from '../src/index.js'
import { FailureDetector } from '../src/overlay/phi-accrual.js'
import { followPage } from '../src/node/page-lifecycle.js'
import type { PageHost } from '../src/node/page-lifecycle.js'
import type { PeerId } from '../src/wire/identity.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

const PEER = 'a'.repeat(52) as PeerId

/** A hidden tab under Chrome's intensive throttling: its timers fire once a minute, on the minute. */
const MINUTE = 60_000

describe('failure detector: paused peers', () => {
  /** Downs reported for a peer that beats every `period` ms for `ms`, checked every second. */
  function downs (fd: FailureDetector, period: number, from: number, ms: number): number {
    let n = 0
    for (let t = from + 1_000; t <= from + ms; t += 1_000) {
      if (t % period === 0) fd.heartbeat(PEER, t)
      n += fd.check(t).down.length
    }
    return n
  }

  it('a hidden tab beating once a minute is declared dead over and over unless it said it is paused (false deaths counted)', () => {
    const run = (announce: boolean): number => {
      const fd = new FailureDetector({ firstHeartbeatEstimateMs: 1_000, acceptableHeartbeatPauseMs: 1_000 })
      for (let t = 0; t <= 60_000; t += 1_000) { fd.heartbeat(PEER, t); fd.check(t) }
      if (announce) fd.setPaused(PEER, true, 60_000)
      return downs(fd, MINUTE, 60_000, 10 * MINUTE)
    }
    // each minute the tab goes silent past phi's few seconds, is declared down, and returns
    expect(run(false)).toBe(10)
    expect(run(true)).toBe(0)
  })

  it('a paused peer that falls silent is declared down once pausedToleranceMs have passed, not before', () => {
    const fd = new FailureDetector({ pausedToleranceMs: 90_000 })
    for (let t = 0; t <= 10_000; t += 1_000) fd.heartbeat(PEER, t)
    fd.setPaused(PEER, true, 10_000)
    for (let t = 10_000; t < 100_000; t += 100) expect(fd.check(t).down).toEqual([])
    expect(fd.check(100_000).down).toEqual([PEER])
    expect(fd.isPaused(PEER)).toBe(true)
  })

  it('the pause is not learned: after resuming, a silence of a few intervals is detected as before', () => {
    const fd = new FailureDetector()
    for (let t = 0; t <= 10_000; t += 1_000) fd.heartbeat(PEER, t)
    fd.setPaused(PEER, true, 10_000)
    for (let t = 70_000; t <= 250_000; t += MINUTE) { fd.heartbeat(PEER, t); expect(fd.check(t).down).toEqual([]) }
    fd.setPaused(PEER, false, 251_000)
    for (let t = 252_000; t <= 260_000; t += 1_000) fd.heartbeat(PEER, t)
    // had the minutes been learned, phi would stay low for a minute
    let down = 0
    for (let t = 260_000; down === 0 && t < 320_000; t += 100) if (fd.check(t).down.length > 0) down = t - 260_000
    expect(down).toBeGreaterThan(1_000)
    expect(down).toBeLessThan(5_000)
  })

  it('grace: a silence that was this node\'s own is forgiven once, a dead peer is still found a few intervals on', () => {
    const fd = new FailureDetector()
    for (let t = 0; t <= 10_000; t += 1_000) fd.heartbeat(PEER, t)
    fd.grace(600_000)
    expect(fd.check(600_000).down).toEqual([])
    expect(fd.check(605_000).down).toEqual([PEER])
  })

  it('rejects a negative pausedToleranceMs', () => {
    expect(() => new FailureDetector({ pausedToleranceMs: -1 })).toThrow(TypeError)
  })
})

/**
 * A discrete-event clock shared by the network and the nodes, driven by `run`; each node sees it
 * through `view`, which can throttle (a hidden tab) or hold (a frozen page, a sleeping machine)
 * that node's timers while the network and the other nodes go on.
 */
class SharedClock {
  t = 0
  #seq = 0
  readonly #timers = new Map<number, { at: number, fn: () => void }>()

  readonly base: Clock = {
    now: () => this.t,
    // whole milliseconds, as real timers fire (Plumtree's root duty spins at 0 ms on a fractional
    // time where `heardAt + interval` rounds up to `now` but `now - heardAt` stays below it)
    setTimeout: (fn, ms) => { const id = ++this.#seq; this.#timers.set(id, { at: Math.ceil(this.t + Math.max(0, ms)), fn }); return id },
    clearTimeout: (h) => { this.#timers.delete(h as number) }
  }

  /** Runs every timer due up to `now + ms`, in order, letting promise chains settle after each. */
  async run (ms: number): Promise<void> {
    const end = this.t + ms
    for (;;) {
      let next: [number, { at: number, fn: () => void }] | undefined
      for (const e of this.#timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e
      if (next === undefined) break
      this.#timers.delete(next[0])
      this.t = Math.max(this.t, next[1].at)
      next[1].fn()
      await macrotask()
    }
    this.t = end
    await macrotask()
  }

  /** A node's clock: `mode` says what happens to that node's timers. */
  view (): Clock & { mode: 'running' | 'throttled' | 'held', release: () => void } {
    const held: Array<() => void> = []
    const cancelled = new Set<object>()
    const handles = new Map<object, unknown>()
    const view = {
      mode: 'running' as 'running' | 'throttled' | 'held',
      now: () => this.t,
      setTimeout: (fn: () => void, ms: number) => {
        const handle = {}
        const fire = (): void => {
          if (cancelled.has(handle)) return
          if (view.mode === 'held') { held.push(fire); return }
          // intensive throttling: timers run in one batch on the minute
          if (view.mode === 'throttled' && this.t % MINUTE !== 0) { handles.set(handle, this.base.setTimeout(fire, MINUTE - this.t % MINUTE)); return }
          handles.delete(handle)
          fn()
        }
        handles.set(handle, this.base.setTimeout(fire, ms))
        return handle
      },
      clearTimeout: (h: unknown) => {
        const handle = h as object
        cancelled.add(handle)
        const inner = handles.get(handle)
        if (inner !== undefined) this.base.clearTimeout(inner)
        handles.delete(handle)
      },
      /** Back to running: what was held fires now, late. */
      release: () => { view.mode = 'running'; for (const fire of held.splice(0)) fire() }
    }
    return view
  }
}

describe('neighbours of a paused node (injected clock)', () => {
  const opts: NodeOptions = { channel: plainChannel(), heartbeatInterval: 1_000, shuffleInterval: 10_000, healInterval: 0, rejoinDelay: 1_000, rttInterval: 0, purgeInterval: 0, services: [] }

  async function pair (tolerance: number): Promise<{ clock: SharedClock, net: MemoryNetwork, page: HearsayNode, relay: HearsayNode, view: ReturnType<SharedClock['view']>, downs: { page: number, relay: number } }> {
    const clock = new SharedClock()
    const net = new MemoryNetwork({ clock: clock.base, latency: 20 })
    const view = clock.view()
    const relay = createNode({ ...opts, clock: clock.base, transports: [net.transport('relay')], listen: ['memory:relay'], pausedToleranceMs: tolerance })
    const page = createNode({ ...opts, clock: view, transports: [net.transport('page')], seeds: ['memory:relay'], pausedToleranceMs: tolerance })
    cleanups.push(async () => { view.release(); await Promise.all([page.stop(), relay.stop()]) })
    const downs = { page: 0, relay: 0 }
    relay.on('peer:down', () => { downs.relay++ })
    page.on('peer:down', () => { downs.page++ })
    await relay.start()
    await page.start()
    await clock.run(5_000)
    expect(relay.overlay?.active).toEqual([page.id])
    expect(page.overlay?.active).toEqual([relay.id])
    return { clock, net, page, relay, view, downs }
  }

  it('a hidden tab (timers once a minute) is not declared dead once it said it is paused: false deaths before and after', async () => {
    const falseDeaths = async (announce: boolean): Promise<{ page: number, relay: number }> => {
      const { clock, page, view, downs } = await pair(300_000)
      if (announce) page.pause()
      view.mode = 'throttled'
      await clock.run(5 * MINUTE)
      return downs
    }
    const before = await falseDeaths(false)
    const after = await falseDeaths(true)
    // measured: 6 false deaths in 5 minutes before (each time the tab rejoins, it dies again), 0 after;
    // the tab's own failure detector hears the relay's beats on time and declares nobody dead
    expect(before.relay).toBeGreaterThanOrEqual(4)
    expect(before.page).toBe(0)
    expect(after).toEqual({ page: 0, relay: 0 })
  })

  it('a frozen page that said it is paused is declared dead after pausedToleranceMs, not before', async () => {
    const tolerance = 90_000
    const { clock, net, page, relay, view, downs } = await pair(tolerance)
    page.pause()
    await clock.run(1_000)
    const frozenAt = clock.t
    // frozen: the page runs nothing, so it neither sends nor hears
    view.mode = 'held'
    net.partition(['page'], ['relay'])
    let downAt: number | undefined
    relay.on('peer:down', () => { downAt ??= clock.t })
    await clock.run(tolerance - 2_000)
    expect(downs.relay).toBe(0)
    await clock.run(5_000)
    expect(downs.relay).toBe(1)
    expect(downAt! - frozenAt).toBeGreaterThanOrEqual(tolerance)
    expect(downAt! - frozenAt).toBeLessThanOrEqual(tolerance + 2_000)
    expect(relay.metrics.get('peers.down-paused')).toBe(1)
    expect(page.status).toBe('running')
  })

  it('a node that slept (its timers fired 10 minutes late, nothing heard) declares nobody dead and rejoins at once', async () => {
    const { clock, net, page, relay, view, downs } = await pair(300_000)
    // asleep: the page's timers are held and nothing reaches it
    view.mode = 'held'
    net.partition(['page'], ['relay'])
    await clock.run(10 * MINUTE)
    expect(downs.relay).toBe(1)
    net.heal()
    const wokeAt = clock.t
    view.release()
    await clock.run(0)
    expect(page.metrics.get('membership.wakes')).toBe(1)
    // the first late tick blamed nobody for its own silence
    expect(downs.page).toBe(0)
    // the relay gave up on it; the page finds out within a few beats and rejoins with no backoff
    let rejoined: number | undefined
    relay.on('peer:connect', () => { rejoined ??= clock.t })
    for (let i = 0; i < 20 && rejoined === undefined; i++) await clock.run(500)
    expect(rejoined! - wokeAt).toBeLessThan(6_000)
    await clock.run(3_000)
    expect(relay.overlay?.active).toEqual([page.id])
  })

  it('a node frozen before its first heartbeat tick sees that tick as late: it declares nobody dead (e2e: a page frozen right after start)', async () => {
    const clock = new SharedClock()
    const net = new MemoryNetwork({ clock: clock.base, latency: 20 })
    const view = clock.view()
    const relay = createNode({ ...opts, clock: clock.base, transports: [net.transport('relay')], listen: ['memory:relay'] })
    const page = createNode({ ...opts, clock: view, transports: [net.transport('page')], seeds: ['memory:relay'] })
    cleanups.push(async () => { view.release(); await Promise.all([page.stop(), relay.stop()]) })
    let downs = 0
    page.on('peer:down', () => { downs++ })
    await relay.start()
    await page.start()
    // linked, and under the first tick (heartbeatInterval 1 s)
    await clock.run(200)
    expect(page.overlay?.active).toEqual([relay.id])
    // frozen: no timer runs, nothing arrives, for 6 s (late: 3 intervals + 1 s)
    view.mode = 'held'
    net.partition(['page'], ['relay'])
    await clock.run(6_000)
    net.heal()
    view.release()
    await clock.run(0)
    expect(page.metrics.get('membership.wakes')).toBe(1)
    expect(downs).toBe(0)
  })

  it('pause() and resume() need a running node with the overlay', async () => {
    const node = createNode({ ...opts, overlay: false })
    expect(() => { node.pause() }).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }))
    await node.start()
    cleanups.push(async () => { await node.stop() })
    expect(() => { node.resume() }).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }))
  })

  it('a malformed hs.pause is dropped and counted', async () => {
    const { clock, page, relay } = await pair(300_000)
    page.sendProtocol(page.getPeer(relay.id)!, 'hs.pause', { paused: 'yes' })
    await clock.run(100)
    expect(relay.metrics.get('drops.pause-invalid')).toBe(1)
  })
})

describe('followPage', () => {
  function fakePage (state: 'visible' | 'hidden'): PageHost & { fire: (target: 'document' | 'window', type: string, init?: object) => void, document: PageHost['document'] & EventTarget } {
    const doc = Object.assign(new EventTarget(), { visibilityState: state as string })
    const win = new EventTarget()
    return Object.assign(win, {
      document: doc,
      fire: (target: 'document' | 'window', type: string, init: object = {}) => { (target === 'document' ? doc : win).dispatchEvent(Object.assign(new Event(type), init)) }
    })
  }

  it('maps visibility, freeze/resume, pagehide, pageshow and online to pause, resume, wake and goodbye; stops following', () => {
    const page = fakePage('hidden')
    const calls: string[] = []
    const stop = followPage(page, {
      setPaused: (p: boolean) => { calls.push(p ? 'pause' : 'resume') },
      wake: () => { calls.push('wake') }
    }, () => { calls.push('bye') })
    expect(calls).toEqual(['pause'])
    page.fire('document', 'freeze')
    page.fire('document', 'resume')
    page.document.visibilityState = 'visible'
    page.fire('document', 'visibilitychange')
    page.fire('window', 'online')
    page.fire('window', 'pageshow', { persisted: false })
    page.fire('window', 'pageshow', { persisted: true })
    page.fire('window', 'pagehide')
    expect(calls).toEqual(['pause', 'pause', 'wake', 'resume', 'wake', 'wake', 'bye'])
    stop()
    page.fire('window', 'online')
    expect(calls.length).toBe(7)
  })
})
