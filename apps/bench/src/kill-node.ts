/**
 * One node process of the failure-injection bench (kill-bench.ts): a hearsay node with the ws
 * transport, listening on loopback, seeded with the relay. It tells the parent over IPC when it
 * is up, every link that opens or closes (with the peer id: the parent knows the relay's), and
 * the ids of the broadcasts it receives; on command it broadcasts a series of messages.
 */
import { createNode } from '@hearsay/core'
import { webSockets } from '@hearsay/transport-ws'

export type KillNodeCommand =
  | { cmd: 'broadcast', round: string, count: number, intervalMs: number }
  | { cmd: 'stop' }

export type KillNodeEvent =
  | { ev: 'ready', id: string, addresses: string[] }
  | { ev: 'link', peer: string, up: boolean }
  | { ev: 'received', ids: string[] }
  | { ev: 'sent', round: string, ids: string[] }
  | { ev: 'error', message: string }

const relay = process.argv[2]!
const index = Number(process.argv[3] ?? 0)
const healMs = Number(process.env.KILL_HEAL_MS ?? 2000)
const send = (e: KillNodeEvent): void => { if (process.connected) process.send!(e) }

const node = createNode({
  transports: [webSockets()],
  listen: ['ws://127.0.0.1:0'],
  seeds: [relay],
  // a short heal period so that a returning relay is found within seconds, not half a minute
  healInterval: healMs,
  rejoinDelay: 500,
  rejoinMaxDelay: 4000
})

// receipts go to the parent in batches: one IPC message per 100 ms, not per broadcast
let pending: string[] = []
const flush = setInterval(() => { if (pending.length > 0) { send({ ev: 'received', ids: pending }); pending = [] } }, 100)
node.route('kb', (msg) => { pending.push((msg.data as { id: string }).id) })
node.on('peer:connect', (p) => { send({ ev: 'link', peer: p.id, up: true }) })
node.on('peer:disconnect', ({ peer }) => { send({ ev: 'link', peer: peer.id, up: false }) })

async function broadcast (round: string, count: number, intervalMs: number): Promise<void> {
  const ids: string[] = []
  for (let k = 0; k < count; k++) {
    const id = `${round}:${index}:${k}`
    try { node.broadcast('kb', { id }); ids.push(id) } catch (err) { send({ ev: 'error', message: `broadcast ${id}: ${String(err)}` }) }
    if (k < count - 1) await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
  send({ ev: 'sent', round, ids })
}

process.on('message', (m: KillNodeCommand) => {
  if (m.cmd === 'broadcast') broadcast(m.round, m.count, m.intervalMs).catch((err: unknown) => { send({ ev: 'error', message: String(err) }) })
  else if (m.cmd === 'stop') {
    clearInterval(flush)
    node.stop().finally(() => { process.exit(0) })
  }
})
process.on('disconnect', () => { process.exit(0) })

await node.start()
send({ ev: 'ready', id: node.id, addresses: node.addresses })
