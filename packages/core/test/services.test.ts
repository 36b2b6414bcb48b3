/**
 * The `services` option: `createNode()` carries every service unless told otherwise, a node
 * carries only the services listed, an unlisted one throws `UnsupportedError` where it is used,
 * and a node without a service sits in a network of nodes that use it without harm.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  allServices, broadcastStreamsService, createNode, createTestnet, eventsService, HearsayNode, plainChannel,
  signWith, stateService, streamsService, UnsupportedError, utf8, verifyFrom
} from '../src/index.js'
import type { NodeOptions, Service, ServiceContext, Testnet } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

/** Node 0 carries every service; node 1 the ones in `services`. Linked directly, no overlay. */
async function pair (services: NodeOptions['services'], extra: NodeOptions = {}): Promise<Testnet> {
  const t = await createTestnet(2, { node: (i) => ({ channel: plainChannel(), overlay: false, ...extra, ...(i === 1 ? { services } : {}) }) })
  cleanups.push(t.stop)
  return t
}

function unsupported (fn: () => unknown, factory: string): void {
  expect(fn).toThrow(UnsupportedError)
  expect(fn).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining(factory) }))
}

describe('services', () => {
  it('createNode() carries every service; new HearsayNode() and services: [] carry none', () => {
    const full = createNode()
    expect(typeof full.state.get).toBe('function')
    expect(typeof full.events.say).toBe('function')
    for (const bare of [new HearsayNode(), createNode({ services: [] })]) {
      unsupported(() => bare.state, 'stateService()')
      unsupported(() => bare.events, 'eventsService()')
      unsupported(() => bare.createBroadcastStream(), 'broadcastStreamsService()')
    }
    expect(allServices().map(s => s.name)).toEqual(['state', 'events', 'streams', 'broadcastStreams'])
  })

  it('refuses a services option that is not a list of distinct services', () => {
    expect(() => createNode({ services: stateService() as never })).toThrow(TypeError)
    expect(() => createNode({ services: [stateService(), stateService()] })).toThrow(/twice/)
    expect(() => createNode({ services: [{ name: 'state' }] as never })).toThrow(TypeError)
  })

  it('a node with some services has exactly those', async () => {
    const t = await pair([stateService(), streamsService()], { state: { gossipInterval: 20 } })
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    b.state.set('k', 'v')
    await eventually(() => a.state.getRemote(b.id, 'k') === 'v', 5000, 'state to arrive')
    unsupported(() => b.events, 'eventsService()')
    unsupported(() => b.createBroadcastStream(), 'broadcastStreamsService()')
    const incoming = new Promise(resolve => { b.once('stream', resolve) })
    a.getPeer(b.id)!.openStream('x')
    await incoming
  })

  it('a node without services drops state gossip, refuses streams at once, keeps the link, and opening a stream throws', async () => {
    const t = await pair([], { state: { gossipInterval: 20 } })
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    a.state.set('k', 'v')
    await eventually(() => b.metrics.get('drops.unknown-type') > 0, 5000, 'a dropped kv.* frame')
    // the opener hears `refused` as from a node without a stream listener
    const s = a.getPeer(b.id)!.openStream('x')
    await expect(s.closed).rejects.toMatchObject({ code: 'ERR_STREAM_RESET', reason: 'refused' })
    expect(b.metrics.get('drops.stream-refused')).toBe(1)
    unsupported(() => b.getPeer(a.id)!.openStream('y'), 'streamsService()')
    // events said by the full node are dropped, not fatal
    a.events.say('room.join', { who: 'a' })
    expect(a.getPeer(b.id)?.connected).toBe(true)
    expect(b.getPeer(a.id)?.connected).toBe(true)
  })

  it('a node with every service listed behaves as createNode()', async () => {
    const t = await pair([eventsService(), broadcastStreamsService(), stateService(), streamsService()])
    const b = t.nodes[1]!
    expect(() => b.state).not.toThrow()
    expect(() => b.events).not.toThrow()
    expect(() => b.createBroadcastStream({ name: 'n' })).not.toThrow()
  })

  it('takes services written by the application: created once with the context, typed under node.services, with lifecycle hooks', async () => {
    const calls: string[] = []
    // a counter service: counts `tick` messages from other nodes (an application message type)
    function counter (): Service<'counter', { count: () => number, tick: () => void, afterStart: () => void }> {
      return {
        name: 'counter',
        create: (ctx: ServiceContext) => {
          calls.push('create')
          let n = 0
          ctx.route('tick', () => { n++ })
          return {
            count: () => n,
            tick: () => { ctx.broadcast('tick', null) },
            afterStart: () => {
              // the identity is the node's, and signs as it
              const sig = signWith(ctx.identity, utf8('counter'))
              calls.push(`afterStart ${ctx.status} ${typeof ctx.id} ${String(ctx.identity.id === ctx.id && verifyFrom(ctx.id, utf8('counter'), sig))}`)
            }
          }
        }
      }
    }
    const t = await createTestnet(2, { node: () => ({ channel: plainChannel(), overlay: false, services: [counter(), stateService()] }) })
    cleanups.push(t.stop)
    const [a, b] = t.nodes as [HearsayNode, HearsayNode]
    // typed: createNode infers node.services from the list
    const typed = createNode({ services: [counter(), eventsService()] })
    const count: number = typed.services.counter.count()
    expect(count).toBe(0)
    expect(typeof typed.services.events.say).toBe('function')
    expect(calls.filter(c => c === 'create')).toHaveLength(3)
    expect(calls.filter(c => c.startsWith('afterStart'))).toEqual(['afterStart running string true', 'afterStart running string true'])
    const svc = (n: HearsayNode): { count: () => number, tick: () => void } => n.services.counter as { count: () => number, tick: () => void }
    await eventually(() => a.peers().length === 1 && b.peers().length === 1)
    svc(a).tick()
    await eventually(() => svc(b).count() === 1)
    expect(typeof a.state.get).toBe('function')
    expect(() => createNode({ services: [counter(), counter()] })).toThrow(/counter twice/)
  })
})
