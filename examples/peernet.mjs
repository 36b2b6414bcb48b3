// peernet → hearsay: every feature docs/migration.md maps for peernet, over real WebSockets on
// 127.0.0.1 with a LevelDB peer database in a temporary directory.
// Run after `pnpm build`: `node examples/peernet.mjs` (exits 0).
import { createServer } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createNode, DEFAULTS } from '@hearsay/core'
import { levelStore } from '@hearsay/store-level'
import { webSockets } from '@hearsay/transport-ws'

const deadline = setTimeout(() => { console.error('peernet example: timed out'); process.exit(1) }, 45_000)
const say = (line) => { console.log(`peernet: ${line}`) }
const until = (check) => new Promise((resolve) => { const t = setInterval(async () => { if (await check()) { clearInterval(t); resolve() } }, 10) })
const dir = mkdtempSync(path.join(os.tmpdir(), 'hearsay-peernet-example-'))
const nodes = []

say(`defaults: peer exchange every ${DEFAULTS.shuffleInterval} ms (interval), purge every ${DEFAULTS.purgeInterval} ms (purge), ${DEFAULTS.minPeers}..${DEFAULTS.maxPeers} connections (connections)`)

// ---- pn.createStream(): hook hearsay into the application's own server. peernet piped each
// accepted websocket-stream into pn.createStream(); hearsay's ws transport attaches to the server
const server = createServer((_req, res) => { res.end('the application’s own http server\n') })
const hub = createNode({ transports: [webSockets({ server })], listen: ['ws://127.0.0.1:0/p2p'] })
nodes.push(hub)
const started = hub.start()
server.listen(0, '127.0.0.1')
await started
const hubAddress = hub.addresses[0]
const page = await (await fetch(`http://127.0.0.1:${server.address().port}/`)).text()
say(`hub shares its http server (${page.trim()}) and listens on ws://127.0.0.1:…/p2p`)

// ---- pn.on('request', req => req.reply(...)): answer announcements
hub.on('request', (req) => { if (req.type === 'who-has' && req.data === 'song.mp3') req.reply({ have: true, by: 'hub' }) })

// ---- peernet(db, opts) with a LevelDB database; pn.save([...]) bootstraps a fresh database
const dbPath = path.join(dir, 'peers')
let store = levelStore({ location: dbPath })
let node = createNode({ transports: [webSockets()], store, closeStore: true })
await store.save([hubAddress])
nodes.push(node)
await node.start() // no seeds: it dials what the database knows (opts.bootstrap)
await until(() => node.getPeer(hub.id) !== undefined)
say('fresh node bootstrapped from its database and reached the hub')

// ---- pn.announce({ id, type, data, limit, hops }) → an async iterable of replies
const replies = []
for await (const r of node.announce({ id: 'q-1', type: 'who-has', data: 'song.mp3', limit: 6, hops: 0, timeout: 1000, maxReplies: 1 })) replies.push(r)
say(`announce got ${replies.length} reply: ${JSON.stringify(replies.map(r => ({ ...r.data, fromHub: r.from === hub.id })))}`)

// ---- pn.getStats(addr) and pn.known(): counters that really move (peernet's never did)
await node.flushStats()
const stats = await store.getStats(hubAddress)
say(`stats of the hub address: connections ok ${stats.connections.ok}, fail ${stats.connections.fail}`)
const known = []
for await (const row of store.known()) known.push(row.address)
say(`known() lists ${known.length} address (${known[0] === hubAddress ? 'the hub' : known[0]})`)

// ---- persistence: the same database after a restart still knows the hub, and so does the
// identity (peernet's ids were random per run)
const firstId = node.id
await node.stop() // closes the store too (closeStore)
store = levelStore({ location: dbPath })
node = createNode({ transports: [webSockets()], store, closeStore: true })
nodes.push(node)
await node.start()
await until(() => node.getPeer(hub.id) !== undefined)
say(`after a restart: same id ${node.id === firstId}, reconnected to the hub from the database`)

// ---- pn.remove([addr]): forget an address (tombstoned, so peer exchange does not re-add it at once)
await store.remove([hubAddress])
const after = []
for await (const row of store.known()) after.push(row.address)
say(`after remove: known() lists ${after.length} addresses`)

// ---- the dedup cache that breaks routing loops: the same announcement id is not delivered twice
let deliveries = 0
hub.on('request', (req) => { if (req.type === 'ping-loop') deliveries++ })
for (let i = 0; i < 2; i++) for await (const _ of node.announce({ id: 'same-id', type: 'ping-loop', timeout: 200 })) { /* no replies */ }
say(`an announcement id sent twice was delivered ${deliveries} time`)

for (const n of nodes.reverse()) await n.stop()
await new Promise(resolve => server.close(resolve))
rmSync(dir, { recursive: true, force: true })
clearTimeout(deadline)
say('OK')
