/**
 * Issue 18, "nothing for keyless clients", over TCP: a client without the network key (random
 * bytes, or a well-framed hello under another key) gets the connection closed without a byte
 * sent back, so it cannot tell it reached a hearsay node (docs/protocol.md). TCP was right
 * when the issue was filed (ws was not: transport-ws/test/keyless-client.test.ts); this keeps it so.
 */
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode, generateIdentity, initiator, toNetworkKey } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { assert } from '@hearsay/core/compliance'
import { encodeFrame, tcp } from '../src/index.js'

const nodes: HearsayNode[] = []
afterEach(async () => { for (const n of nodes.splice(0)) await n.stop() })

async function keyedNode (): Promise<{ node: HearsayNode, port: number }> {
  const node = createNode({ transports: [tcp()], listen: ['tcp://127.0.0.1:0'], networkKey: 'a closed network', handshakeTimeout: 300, overlay: false })
  nodes.push(node)
  await node.start()
  const port = Number(new URL(node.addresses.find(a => a.startsWith('tcp://'))!).port)
  return { node, port }
}

/** Opens a bare socket, writes `bytes`, and counts what comes back until the node closes it. */
async function probe (port: number, bytes?: Uint8Array): Promise<number> {
  const s = net.connect({ host: '127.0.0.1', port })
  let received = 0
  s.on('data', (d: Buffer) => { received += d.length })
  s.on('error', () => {})
  const closed = new Promise<void>(resolve => { s.once('close', () => { resolve() }) })
  await new Promise(resolve => s.once('connect', resolve))
  if (bytes !== undefined) s.write(bytes)
  await assert.within(closed, 10_000, 'the node to close the socket')
  return received
}

describe('a keyless client over TCP', () => {
  it('random bytes, a hello under another network key, or silence: closed with not a byte sent back', async () => {
    const { node, port } = await keyedNode()
    const hello = await initiator({ identity: generateIdentity(), networkKey: toNetworkKey('not the key') }).hello()
    expect(await probe(port, crypto.getRandomValues(new Uint8Array(64)))).toBe(0)
    expect(await probe(port, encodeFrame(hello))).toBe(0)
    expect(await probe(port)).toBe(0)
    await assert.eventually(() => node.metrics.get('handshake.failures') >= 3, 5000, 'the failures counted')
  })
})
