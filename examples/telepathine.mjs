// telepathine → hearsay: every feature docs/migration.md maps for telepathine, on an in-memory
// network with the real secure channel and a closed-network key.
// Run after `pnpm build`: `node examples/telepathine.mjs` (exits 0).
import { createNode, createTestnet, MemoryNetwork } from '@hearsay/core'

const deadline = setTimeout(() => { console.error('telepathine example: timed out'); process.exit(1) }, 45_000)
const say = (line) => { console.log(`telepathine: ${line}`) }
const until = (check) => new Promise((resolve) => { const t = setInterval(() => { if (check()) { clearInterval(t); resolve() } }, 5) })

// new Telepathine(port, seeds, { gossipIntervalMS, heartBeatIntervalMS, network key (darknet) })
const networkKey = 'our private darknet'
const options = (i) => ({
  networkKey,
  seeds: i === 0 ? [] : ['memory:node-0'],
  state: { gossipInterval: 50, sweepInterval: 20 }, // gossipIntervalMS
  heartbeatInterval: 50, // heartBeatIntervalMS; phi-accrual failure detection as telepathine
  healInterval: 200,
  rejoinDelay: 50,
  minPeers: 2
})
const network = new MemoryNetwork()
const net = await createTestnet(3, { network, topology: 'none', node: options })
const [a, b, c] = net.nodes
const ups = []
c.on('peer:connect', () => ups.push('peer:new'))
await until(() => net.nodes.every(n => n.peers().length === 2))
say(`three nodes share the network key and see each other (start() resolved: telepathine's 'start')`)

// a node without the key cannot even finish a handshake (telepathine's darknet, done with a MAC)
const stranger = createNode({ transports: [network.transport('stranger')], networkKey: 'wrong key', overlay: false })
await stranger.start()
const refused = await stranger.dial('memory:node-0').then(() => 'joined?!', (err) => err.code)
say(`a node with the wrong key: ${refused}`)
await stranger.stop()

// ---- set / get / getRemote / keys, with change events and wildcards (know)
const seen = []
b.state.on('set:status.*', (ch) => { if (!ch.local) seen.push(`${ch.key}=${ch.value}`) })
a.state.set('status.mood', 'busy')
a.state.set('status.room', 'kitchen')
a.state.set('motd', 'hello')
await until(() => seen.length === 2 && b.state.getRemote(a.id, 'motd') === 'hello')
say(`b knows a's ${JSON.stringify(b.state.keys(a.id))}; 'set:status.*' fired for ${JSON.stringify(seen.sort())}`)
say(`a.get('motd') = ${a.state.get('motd')}, b.getRemote(a, 'motd') = ${b.state.getRemote(a.id, 'motd')}`)

// ---- believe: copy what another node says into one's own state
await until(() => c.state.getRemote(a.id, 'status.room') === 'kitchen')
c.state.believe('status.room', a.id)
say(`c believes a: c.get('status.room') = ${c.state.get('status.room')}`)

// ---- expiry: a value with a ttl disappears everywhere, with an 'expire' event
const expired = new Promise((resolve) => { b.state.once('expire:flash', (ch) => resolve(ch.key)) })
a.state.set('flash', 'now you see me', { ttl: 200 })
say(`expired on b: ${await expired}; b.getRemote(a, 'flash') = ${b.state.getRemote(a.id, 'flash')}`)

// ---- delete leaves a tombstone that replicates
a.state.delete('motd')
await until(() => b.state.getRemote(a.id, 'motd') === undefined)
say(`after a deleted motd, b.getRemote(a, 'motd') = ${b.state.getRemote(a.id, 'motd')}`)

// ---- the event bus: say / hear / hearOnce, wildcards, one's own events not heard
const heard = []
b.events.hear('room.*', (data, from) => heard.push(`b heard ${data} from ${from === a.id ? 'a' : '?'}`))
a.events.hear('room.*', () => heard.push('a heard itself?!'))
const once = c.events.hearOnce('room.**')
a.events.say('room.join', 'alice')
const first = await once
await until(() => heard.length === 1)
say(`${heard[0]}; c.hearOnce got ${first.name} (${first.data})`)

// ---- duration: an event said with a duration reaches a node that joins later
a.events.say('news.flash', 'breaking', { duration: 5_000 })
const late = createNode({ transports: [network.transport('late')], ...options(3) })
const lateHeard = late.events.hearOnce('news.*')
await late.start()
const news = await lateHeard
say(`a node that joined later still heard ${news.name}: ${news.data}`)

// ---- peer:down / peer:up: the failure detector (phi accrual), as telepathine's peer events
const watchers = [a, b, late]
const down = new Promise((resolve) => { for (const n of watchers) n.on('peer:down', ({ id }) => { if (id === c.id) resolve(n) }) })
network.partition(['node-0', 'node-1', 'late'], ['node-2']) // c falls silent
const judge = await down
say('c was declared down (peer:down)')
const up = new Promise((resolve) => { judge.on('peer:up', ({ id }) => { if (id === c.id) resolve() }) })
network.heal()
await up
say('c was heard from again after the network healed (peer:up)')

// ---- after / every: timers tied to the node's life, cleared by stop()
// (waits for the ticks themselves: on a loaded machine a 100 ms timer may fire before a 20 ms
// one has repeated three times, and that would say nothing about hearsay)
let ticks = 0
await new Promise((resolve) => { const stop = a.every(20, () => { if (++ticks === 3) { stop(); resolve() } }) })
await new Promise((resolve) => { a.after(20, resolve) })
say(`every(20) ticked ${ticks} times until cancelled, then after(20) fired`)

await late.stop()
await net.stop()
clearTimeout(deadline)
say('OK')
