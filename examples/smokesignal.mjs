// smokesignal → hearsay: every feature docs/migration.md maps for smokesignal, on an in-memory
// network (with a simulated netsplit) and over real WebSockets on 127.0.0.1.
// Run after `pnpm build`: `node examples/smokesignal.mjs` (exits 0).
import { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { createNode, createTestnet, DEFAULTS } from '@hearsay/core'
import { broadcastDuplex, toDuplex } from '@hearsay/node-streams'
import { webSockets } from '@hearsay/transport-ws'

const deadline = setTimeout(() => { console.error('smokesignal example: timed out'); process.exit(1) }, 45_000)
const say = (line) => { console.log(`smokesignal: ${line}`) }
const until = (check) => new Promise((resolve) => { const t = setInterval(() => { if (check()) { clearInterval(t); resolve() } }, 5) })
const collect = (out) => new Writable({ write (chunk, _e, cb) { out.push(chunk.toString()); cb() } })

// ---- smoke.createNode({ port, address, seeds, minPeerNo, maxPeerNo, pingTimeout, logger })
say(`defaults: minPeers ${DEFAULTS.minPeers} (minPeerNo), maxPeers ${DEFAULTS.maxPeers} (maxPeerNo), ping timeout ${DEFAULTS.pingTimeout} ms (pingTimeout)`)
const a = createNode({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'] })
const online = []
a.on('online', () => online.push('online')) // smokesignal's 'connect': the first peer arrived
a.on('offline', () => online.push('offline')) // smokesignal's 'disconnect': the last peer left
a.on('peer:connect', (peer) => online.push(`add ${peer.direction}`)) // peerlist 'add'
a.on('peer:disconnect', () => online.push('remove')) // peerlist 'remove'
await a.start()
const b = createNode({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], seeds: [a.addresses[0]] })
await b.start()
await until(() => a.peers().length === 1)
const peerB = a.peers()[0] // a Peer: smokesignal's Peer (id, remote address, close)
say(`a: ${online.join(', ')}; peer ${peerB.id === b.id ? 'b' : '?'} at ${peerB.address.startsWith('ws://127.0.0.1:') ? 'ws://127.0.0.1:…' : peerB.address}`)
const rtt = await a.ping(peerB, { timeout: DEFAULTS.pingTimeout })
say(`ping b: ${rtt >= 0 ? 'answered' : 'no answer'} within ${DEFAULTS.pingTimeout} ms`)

// ---- Peer is a duplex stream: peer.openStream() here, the 'stream' event there
const received = []
b.on('stream', (stream) => {
  const fromA = toDuplex(stream)
  fromA.pipe(collect(received))
  fromA.end() // b has nothing to say back: closing its half lets the stream finish cleanly
})
const toB = toDuplex(peerB.openStream('direct'))
toB.end('a private word for b\n')
await until(() => received.length === 1)
say(`b read from its peer stream: "${received[0].trim()}"`)
toB.resume() // drain b's (empty) half so the stream can finish
await finished(toB) // both halves closed: hanging up now cannot fail the stream

// ---- Peer#close → node.hangUp(peer)
await a.hangUp(peerB)
await until(() => online.includes('offline'))
say(`after hangUp: ${online.slice(-2).join(', ')}`)
await b.stop()
await a.stop()

// ---- node.broadcast is a duplex stream: the chat example, three nodes on one network
const chat = await createTestnet(3, { topology: 'none', node: (i) => ({ seeds: i === 0 ? [] : ['memory:node-0'], minPeers: 2 }) })
await until(() => chat.nodes.every(n => n.overlay.active.length === 2))
const lines = chat.nodes.map(() => [])
const duplexes = chat.nodes.map((n, i) => {
  const d = broadcastDuplex(n) // process.stdin.pipe(node.broadcast).pipe(process.stdout)
  d.pipe(collect(lines[i]))
  return d
})
duplexes[0].write('alice: hi all\n')
duplexes[2].write('carol: hello alice\n')
await until(() => lines[1].length === 2 && lines[0].length === 1 && lines[2].length === 1)
say(`chat: bob read ${JSON.stringify(lines[1].map(l => l.trim()).sort())}`)
for (const d of duplexes) d.destroy()
await chat.stop()

// ---- netsplit detection and automatic rejoin: a node cut off from everyone goes offline,
// and comes back by itself when the network heals (smokesignal pinged its seeds for this)
const fast = { heartbeatInterval: 50, phiThreshold: 8, rejoinDelay: 50, rejoinMaxDelay: 200, healInterval: 200, shuffleInterval: 200 }
const split = await createTestnet(4, { topology: 'none', node: (i) => ({ ...fast, seeds: i === 0 ? [] : ['memory:node-0'], minPeers: 2, maxPeers: 3 }) })
await until(() => split.nodes.every(n => n.overlay.active.length >= 2))
const lonely = split.nodes[3]
const events = []
lonely.on('offline', () => events.push('offline'))
lonely.on('online', () => events.push('online'))
split.network.partition(['node-0', 'node-1', 'node-2'], ['node-3'])
await until(() => events.includes('offline'))
say('netsplit: node 3 went offline')
split.network.heal()
await until(() => events.includes('online') && lonely.overlay.active.length >= 1)
say(`healed: node 3 is ${events.at(-1)} again with ${lonely.overlay.active.length >= 1 ? 'overlay peers' : 'no peers'}`)
await split.stop()

clearTimeout(deadline)
say('OK')
