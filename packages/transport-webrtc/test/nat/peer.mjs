// One hearsay node in a namespace of the NAT tests (nat.test.ts), driven by JSON lines on stdin;
// answers and events are JSON lines on stdout. Runs on the built packages (dist/).
//   argv[2]: JSON { seeds: string[], iceServers?: RtcIceServer[] }
// commands: { op: 'dial', id, to, timeout, ifNeeded } → { id, ok, ms, pair, error } (ifNeeded: not
//             when a WebRTC link to `to` is up already)
//           { op: 'broadcast', id, count } → { id, ok }
//           { op: 'received', id, count, timeout } → { id, count } (once count arrived, or at the timeout)
//           { op: 'hangup', id, to } → { id, ok }
//           { op: 'gone', id, peer, timeout } → { id, ok } (once no link to peer is left)
//           { op: 'reachable', id, to, timeout } → { id, ok, ms, pair, disconnects, relinkDials, relinks } (once a ping to
//             `to` over a WebRTC link answers: pings, 500 ms each, back to back until `timeout`;
//             disconnects: WebRTC links lost since the start; relinks: the overlay's, since the start)
import { createInterface } from 'node:readline'
import { createNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { webRTC } from '../../dist/index.node.js'

const options = JSON.parse(process.argv[2])
if (process.env.NAT_DEBUG) (await import('node-datachannel')).initLogger(process.env.NAT_DEBUG, (level, msg) => { process.stderr.write(`${level} ${msg}\n`) })
// log lines start with the wall clock's ms of the day (UTC), to line them up with the other processes' logs
const stamp = () => Date.now() % 86_400_000
const out = (msg) => { process.stdout.write(`${JSON.stringify(msg)}\n`) }
const init = options.iceServers === undefined ? {} : { iceServers: options.iceServers }
const node = createNode({
  transports: [webSockets(), webRTC({ ...init, connectTimeout: options.connectTimeout ?? 20_000 })],
  listen: ['webrtc:*'],
  seeds: options.seeds,
  // NAT_NODE_LOG=1: the node's debug log on stderr (in NAT_LOG_DIR with the rest)
  ...(process.env.NAT_NODE_LOG ? { logger: Object.fromEntries(['debug', 'info', 'warn', 'error'].map(l => [l, (msg, fields) => { process.stderr.write(`${stamp()} ${l} ${msg} ${fields?.err?.message ?? ''} ${fields?.peer?.slice?.(0, 8) ?? fields?.from?.slice?.(0, 8) ?? ''}${fields?.addrs !== undefined ? ` ${JSON.stringify(fields.addrs)}` : ''}\n`) }])) } : {}),
  // without the overlay a node dials no one by itself: the only WebRTC links are the test's
  // (signals still go through the relay, a common neighbour). The nodes that test the fallback
  // take part in the overlay: their broadcasts go through the relay.
  overlay: options.overlay === true,
  minPeers: 1
})
let received = 0
const waiters = new Set()
node.route('nat-test', () => { received++; for (const w of waiters) w() })
node.on('error', (err) => { process.stderr.write(`error event: ${err?.message}\n`) })
node.on('peer:connect', (p) => { process.stderr.write(`${stamp()} connect ${p.id.slice(0, 8)} ${p.address.slice(0, 20)}\n`) })
let disconnects = 0
node.on('peer:disconnect', ({ peer: p, reason }) => {
  if (p.address.startsWith('webrtc:')) disconnects++
  process.stderr.write(`${stamp()} disconnect ${p.id.slice(0, 8)} ${p.address.slice(0, 20)} ${reason?.message ?? ''}\n`) })
node.on('peer:down', ({ id }) => { process.stderr.write(`${stamp()} down ${id.slice(0, 8)}\n`) })
await node.start()
const relayUp = () => node.peers().some(p => p.address.startsWith('ws:'))
// ready once the relay's ICE servers are in (nodes with their own iceServers do not wait for them)
const ready = () => relayUp() && (options.iceServers !== undefined || node.metrics.get('ice.offers-received') > 0)
if (!ready()) {
  await new Promise(resolve => {
    const check = () => { if (ready()) { clearInterval(timer); resolve() } }
    const timer = setInterval(check, 20)
  })
}
out({ ready: true, peerId: node.id })

createInterface({ input: process.stdin }).on('line', async (line) => {
  const cmd = JSON.parse(line)
  try {
    if (cmd.op === 'dial') {
      const started = performance.now()
      const linked = node.getPeer(cmd.to)
      const peer = cmd.ifNeeded === true && linked?.address.startsWith('webrtc:') ? linked : await node.dial(`webrtc:${cmd.to}`, { signal: AbortSignal.timeout(cmd.timeout) })
      const ms = performance.now() - started
      process.stderr.write(`dial ${cmd.id}: linked after ${Math.round(ms)} ms\n`)
      // the WebRTC connection under the secure channel (internal fields: this is a test)
      const conn = peer.link.conn.raw ?? peer.link.conn
      const pair = await conn.candidatePair()
      out({ id: cmd.id, ok: true, ms, pair })
    } else if (cmd.op === 'broadcast') {
      for (let i = 0; i < cmd.count; i++) node.broadcast('nat-test', { i })
      out({ id: cmd.id, ok: true })
    } else if (cmd.op === 'received') {
      // answers once `count` messages have arrived, or with what arrived after `timeout` ms
      if (received < cmd.count) {
        await new Promise(resolve => {
          const timer = setTimeout(resolve, cmd.timeout)
          waiters.add(() => { if (received >= cmd.count) { clearTimeout(timer); resolve() } })
        })
      }
      out({ id: cmd.id, count: received })
    } else if (cmd.op === 'hangup') {
      out({ id: cmd.id, ok: await node.hangUp(cmd.to) })
    } else if (cmd.op === 'reachable') {
      const started = performance.now()
      let ok = false
      while (!ok && performance.now() - started < cmd.timeout) {
        const p = node.getPeer(cmd.to)
        if (p === undefined || !p.address.startsWith('webrtc:')) {
          // no WebRTC link (yet): wait for the next link event, or a little
          await new Promise(resolve => { const off = node.on('peer:connect', () => { off(); clearTimeout(t); resolve() }); const t = setTimeout(() => { off(); resolve() }, 200) })
          continue
        }
        ok = await node.ping(p, { timeout: 500 }).then(() => true, () => false)
      }
      const ms = performance.now() - started
      const p = node.getPeer(cmd.to)
      const conn = p?.link.conn.raw ?? p?.link.conn
      const m = (name) => node.metrics.get(name)
      out({ id: cmd.id, ok, ms, pair: ok ? await conn?.candidatePair?.() : undefined, disconnects, relinkDials: m('membership.relink-dials'), relinks: m('membership.relinks') })
    } else if (cmd.op === 'gone') {
      // answers once this node has no link to `peer` (it hung up on us), or false after `timeout`
      const gone = () => node.getPeer(cmd.peer) === undefined
      if (!gone()) {
        await new Promise(resolve => {
          const timer = setTimeout(() => { off(); resolve() }, cmd.timeout)
          const off = node.on('peer:disconnect', () => { if (gone()) { clearTimeout(timer); off(); resolve() } })
        })
      }
      out({ id: cmd.id, ok: gone() })
    }
  } catch (err) {
    out({ id: cmd.id, ok: false, error: `${err?.name}: ${err?.message}` })
  }
})
process.stdin.on('end', async () => { await node.stop(); process.exit(0) })
