// Write your own service: a small presence service on the node's context, the way the built-in
// services (state, events, streams, broadcast streams) are written. Three nodes in memory list it
// in `services` next to a built-in one; each sees the others' status through `node.services.presence`.
// Run after `pnpm build`: `node examples/presence.mjs` (exits 0). docs/api.md, "Write your own service".
import { createNode, MemoryNetwork, memoryTransport, plainChannel, eventsService } from '@hearsay/core'

const deadline = setTimeout(() => { console.error('presence example: timed out'); process.exit(1) }, 30_000)
const say = (line) => { console.log(`presence: ${line}`) }
const until = (check) => new Promise((resolve) => { const t = setInterval(() => { if (check()) { clearInterval(t); resolve() } }, 5) })

/**
 * A service is `{ name, create(ctx) }`. `create` runs once, in the node's constructor, with the
 * node's context (clock, random, logger, metrics, limits, id, store, peers, handle/send, route/
 * broadcast, life-bound timers and signal, node events); what it returns is `node.services.<name>`.
 * The optional lifecycle hooks `start`, `afterStart` and `beforeStop` on that object are called
 * by the node. A service never sees the node itself.
 */
function presenceService ({ interval = 200, ttl = 5_000 } = {}) {
  return {
    name: 'presence',
    create (ctx) {
      let status = 'here'
      /** peer id → { status, at } as last heard */
      const seen = new Map()
      const listeners = new Set()
      const expire = () => {
        for (const [id, s] of seen) if (ctx.clock.now() - s.at > ttl) seen.delete(id)
      }
      // an application message type, through the middleware and the overlay like node.broadcast
      ctx.route('presence', (msg) => {
        const next = msg.data?.status
        if (typeof next !== 'string') { ctx.metrics.drop('presence-malformed'); return }
        const before = seen.get(msg.origin)?.status
        seen.set(msg.origin, { status: next, at: ctx.clock.now() })
        if (before !== next) for (const fn of listeners) fn({ id: msg.origin, status: next })
      })
      // a peer that leaves is gone at once (without waiting for the ttl)
      ctx.on('peer:disconnect', ({ peer }) => { seen.delete(peer.id) })
      const tell = () => { ctx.broadcast('presence', { status }) }
      return {
        // lifecycle: the node runs; timers on ctx.timers are cleared by stop()
        afterStart () {
          tell()
          ctx.timers.every(interval, () => { expire(); tell() })
        },
        /** This node's status, told to every node of the network. */
        set (next) {
          status = String(next)
          if (ctx.status === 'running') tell()
        },
        /** Every other node heard from within `ttl`, with its status. */
        list () {
          expire()
          return [...seen].map(([id, s]) => ({ id, status: s.status }))
        },
        /** Calls `fn({ id, status })` when a node's status changes; returns the remover. */
        onChange (fn) {
          listeners.add(fn)
          return () => { listeners.delete(fn) }
        }
      }
    }
  }
}

const network = new MemoryNetwork()
const fast = { shuffleInterval: 300, heartbeatInterval: 100, rejoinDelay: 100, healInterval: 500, minPeers: 2, maxPeers: 4 }
const nodes = ['alice', 'bob', 'carol'].map((name, i) => createNode({
  transports: [memoryTransport({ network, host: name })],
  channel: plainChannel(),
  listen: [`memory:${name}`],
  seeds: i === 0 ? [] : ['memory:alice'],
  ...fast,
  // a service of the application next to a built-in one; unlisted built-ins stay out
  services: [presenceService(), eventsService()]
}))
for (const node of nodes) await node.start()
const [alice, bob, carol] = nodes
const names = new Map(nodes.map((n, i) => [n.id, ['alice', 'bob', 'carol'][i]]))

await until(() => nodes.every(n => n.services.presence.list().length === 2))
say(`every node sees the other two: ${nodes.map(n => n.services.presence.list().length).join(', ')}`)

const changed = new Promise((resolve) => { carol.services.presence.onChange((c) => { if (c.status === 'away') resolve(c) }) })
bob.services.presence.set('away')
const change = await changed
say(`carol heard ${names.get(change.id)} is ${change.status}`)
say(`alice lists: ${alice.services.presence.list().map(p => `${names.get(p.id)}=${p.status}`).sort().join(' ')}`)
say(`built-in events listed: ${typeof alice.events.say}; state not listed: ${(() => { try { return alice.state } catch (err) { return err.code } })()}`)

await bob.stop()
await until(() => alice.services.presence.list().length === 1)
say(`bob stopped: alice lists ${alice.services.presence.list().map(p => names.get(p.id)).join(' ')}`)

await Promise.all(nodes.map(n => n.stop()))
clearTimeout(deadline)
say('OK')
