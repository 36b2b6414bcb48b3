/**
 * A client without the network key must learn nothing, not even that it reached a hearsay
 * node (docs/protocol.md): the responder closes a failed handshake with no reason text and no
 * hearsay-specific close code. It used to close with 1011 "handshake hello failed
 * authentication (wrong network key?)".
 */
import { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { createNode } from '@hearsay/core'
import type { HearsayNode } from '@hearsay/core'
import { webSockets } from '../src/index.node.js'

const nodes: HearsayNode[] = []
afterEach(async () => { for (const n of nodes.splice(0)) await n.stop() })

async function keyedNode (): Promise<HearsayNode> {
  const n = createNode({ transports: [webSockets()], listen: ['ws://127.0.0.1:0'], networkKey: 'a closed network', handshakeTimeout: 300 })
  nodes.push(n)
  await n.start()
  return n
}

/** A bare ws client: what it received, and the close code and reason it got. */
async function probe (address: string, send?: Uint8Array): Promise<{ messages: number, code: number, reason: string }> {
  const ws = new WebSocket(address)
  ws.on('error', () => {})
  let messages = 0
  ws.on('message', () => { messages++ })
  const closed = new Promise<{ code: number, reason: string }>(resolve => { ws.once('close', (code, reason) => { resolve({ code, reason: reason.toString() }) }) })
  await new Promise(resolve => ws.once('open', resolve))
  if (send !== undefined) ws.send(send)
  const { code, reason } = await closed
  return { messages, code, reason }
}

describe('a keyless client over ws', () => {
  it('64 random bytes: closed with no reason and a generic code, nothing sent', async () => {
    const n = await keyedNode()
    const got = await probe(n.addresses[0]!, crypto.getRandomValues(new Uint8Array(64)))
    expect(got).toEqual({ messages: 0, code: 1000, reason: '' })
    expect(n.metrics.get('handshake.failures')).toBe(1)
  })

  it('a wrong-length hello and a silent client: the same generic close', async () => {
    const n = await keyedNode()
    expect(await probe(n.addresses[0]!, new Uint8Array(3))).toEqual({ messages: 0, code: 1000, reason: '' })
    expect(await probe(n.addresses[0]!)).toEqual({ messages: 0, code: 1000, reason: '' })
  })
})
