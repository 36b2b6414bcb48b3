// One hearsay node in a namespace of the NAT tests (nat.test.ts), driven by JSON lines on stdin;
// answers and events are JSON lines on stdout. Runs on the built packages (dist/).
//   argv[2]: JSON { seeds: string[], iceServers?: RtcIceServer[] }
// commands: { op: 'dial', id, to, timeout } → { id, ok, ms, pair, error }
//           { op: 'broadcast', id, count } → { id, ok }
//           { op: 'received', id } → { id, count }
import { createInterface } from 'node:readline'
import { createNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'
import { webRTC } from '../../dist/index.node.js'

const options = JSON.parse(process.argv[2])
if (process.env.NAT_DEBUG) (await import('node-datachannel')).initLogger(process.env.NAT_DEBUG, (level, msg) => { process.stderr.write(`${level} ${msg}\n`) })
const out = (msg) => { process.stdout.write(`${JSON.stringify(msg)}\n`) }
const init = options.iceServers === undefined ? {} : { iceServers: options.iceServers }
const node = createNode({
  transports: [webSockets(), webRTC({ ...init, connectTimeout: options.connectTimeout ?? 20_000 })],
  listen: ['webrtc:*'],
  seeds: options.seeds,
  // the test's nodes keep one another: only the links the test dials
  maxPeers: 16
})
let received = 0
node.route('nat-test', () => { received++ })
node.on('error', () => {})
await node.start()
const relayUp = () => node.peers().some(p => p.address.startsWith('ws:'))
const ready = () => relayUp() && node.metrics.get('ice.offers-received') > 0
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
      const peer = await node.dial(`webrtc:${cmd.to}`, { signal: AbortSignal.timeout(cmd.timeout) })
      const ms = performance.now() - started
      // the WebRTC connection under the secure channel (internal fields: this is a test)
      const conn = peer.link.conn.raw ?? peer.link.conn
      const pair = await conn.candidatePair()
      out({ id: cmd.id, ok: true, ms, pair })
    } else if (cmd.op === 'broadcast') {
      for (let i = 0; i < cmd.count; i++) node.broadcast('nat-test', { i })
      out({ id: cmd.id, ok: true })
    } else if (cmd.op === 'received') {
      out({ id: cmd.id, count: received })
    }
  } catch (err) {
    out({ id: cmd.id, ok: false, error: `${err?.name}: ${err?.message}` })
  }
})
process.stdin.on('end', async () => { await node.stop(); process.exit(0) })
