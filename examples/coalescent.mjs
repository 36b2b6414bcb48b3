// coalescent → hearsay: every feature docs/migration.md maps for coalescent, on nodes talking
// real TCP on 127.0.0.1. Run after `pnpm build`: `node examples/coalescent.mjs` (exits 0).
import { Writable } from 'node:stream'
import { createNode, DEFAULTS, smartRelay } from '@hearsay/core'
import { toDuplex } from '@hearsay/node-streams'
import { tcp } from '@hearsay/transport-tcp'

const deadline = setTimeout(() => { console.error('coalescent example: timed out'); process.exit(1) }, 30_000)
const say = (line) => { console.log(`coalescent: ${line}`) }
const names = new Map()
const nameOf = (id) => names.get(id) ?? id.slice(0, 8)
const until = (check) => new Promise((resolve) => { const t = setInterval(() => { if (check()) { clearInterval(t); resolve() } }, 5) })

// coalescent's `logger` option: any object with info / warn / error (hearsay also calls debug)
const logger = { debug () {}, info () {}, warn (msg, f) { console.error('warn', msg, f ?? '') }, error (msg, f) { console.error('error', msg, f ?? '') } }

// coalescent's courier + router as one hearsay plugin: it adds `node.ping(peer)` (typed in TS)
// and greets every peer that connects (coalescent's `_connect(socket)` hook)
function courier () {
  return {
    name: 'courier',
    plugin: (node) => ({ pingAll: () => { for (const p of node.peers()) p.send('ping', { at: Date.now() }) } }),
    connection: (peer, node) => { peer.send('hello', { from: node.id }) }
  }
}

// ---- part 1: coalescent's app shape: point-to-point links, seeds as host:port, relayMessages
const got = []
async function app (n, seeds = []) {
  // coalescent({ seeds: ['host:port'], logger }) — a bare host:port is TCP in Node
  const node = createNode({ transports: [tcp()], listen: ['tcp://127.0.0.1:0'], seeds, logger, overlay: false })
  // coalescent's relayMessages (tattletale / smart relay): loop-safe, hash-deduplicated
  node.use(smartRelay())
  // a transform middleware, as coalescent's through() streams were
  node.use((msg, ctx, next) => { if (msg.type !== 'spam') next() })
  node.use(courier())
  node.on('error', (err) => { console.error('error event', err) })
  // coalescent's router: app.route(type, (socket, message) => …) with a '*' fallback
  node.route('hello', (msg) => got.push(`${n} hello from ${nameOf(msg.origin)} (${msg.via})`))
  node.route('ping', (msg, peer) => { peer.send('pong', msg.data) })
  node.route('pong', (msg) => got.push(`${n} pong from ${nameOf(msg.from.id)}`))
  node.route('chat', (msg) => got.push(`${n} chat "${msg.data.text}" from ${nameOf(msg.origin)} via ${msg.via}, ${msg.hops} hops`))
  node.route('*', (msg) => got.push(`${n} '*' route got "${msg.type}"`))
  await node.start()
  names.set(node.id, n)
  return node
}

const a = await app('a')
const b = await app('b', [a.addresses[0].replace('tcp://', '')])
const c = await app('c', [b.addresses[0].replace('tcp://', '')])
const connects = []
a.on('peer:connect', (p) => connects.push(`a+${nameOf(p.id)}`))
const disconnects = []
a.on('peer:disconnect', ({ peer }) => disconnects.push(`a-${nameOf(peer.id)}`))
await until(() => a.peers().length === 1 && c.peers().length === 1 && b.peers().length === 2)
say(`line a-b-c formed over tcp (a has ${a.peers().length} peer, b has ${b.peers().length})`)


// coalescent's `_connect(socket)` hook: the courier greeted every peer when it connected
await until(() => got.includes('a hello from b (direct)') && got.includes('c hello from b (direct)'))
say('a and c got hello from b (connection hook)')

// courier: socket.send(type, body) → peer.send(type, data); app.broadcast → node.broadcast
a.pingAll()
await until(() => got.includes('a pong from b'))
say('a pinged b and got its pong (courier + router)')
a.broadcast('chat', { text: 'hello, line' })
await until(() => got.some(l => l.startsWith('c chat')))
for (const l of got.filter(l => l.includes('chat'))) say(l)
a.peers()[0].send('mystery', 1)
a.peers()[0].send('spam', 1)
await until(() => got.includes(`b '*' route got "mystery"`))
say(`b '*' route got "mystery"; "spam" was dropped by a middleware`)

// the node as a duplex stream: coalescent's `app.pipe(process.stdout)` / `app.write(...)`
const out = []
const bStream = toDuplex(b.createBroadcastStream())
bStream.pipe(new Writable({ write (chunk, _e, cb) { out.push(chunk.toString()); cb() } }))
const aStream = toDuplex(a.createBroadcastStream())
aStream.write('beep boop\n')
await until(() => out.length === 1)
say(`b read "${out[0].trim()}" from a's duplex stream`)
aStream.destroy()
bStream.destroy()

await c.stop()
await b.stop()
await until(() => disconnects.length === 1)
say(`events: ${connects.join(' ')} ${disconnects.join(' ')}`)
await a.stop()

// ---- part 2: the overlay keeps between minPeers (3) and maxPeers (12) links and broadcasts
// reach every node, not only direct peers
say(`defaults: minPeers ${DEFAULTS.minPeers}, maxPeers ${DEFAULTS.maxPeers}`)
const seed = createNode({ transports: [tcp()], listen: ['tcp://127.0.0.1:0'], logger })
await seed.start()
const others = []
for (let i = 0; i < 4; i++) {
  const n = createNode({ transports: [tcp()], listen: ['tcp://127.0.0.1:0'], seeds: [seed.addresses[0]], logger, minPeers: 2, maxPeers: 3 })
  await n.start()
  others.push(n)
}
const all = [seed, ...others]
await until(() => all.every(n => n.overlay.active.length >= 2))
const heard = new Set()
for (const n of all) n.route('news', (msg) => { heard.add(n.id) })
others[3].broadcast('news', 'to everyone')
await until(() => heard.size === 4)
say(`overlay of ${all.length}: a broadcast reached ${heard.size} other nodes`)
await Promise.all(all.map(n => n.stop()))

clearTimeout(deadline)
say('OK')
