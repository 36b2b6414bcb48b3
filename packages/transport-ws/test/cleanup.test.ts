import { createHook } from 'node:async_hooks'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import type { Connection } from '@hearsay/core'
import { webSockets } from '../src/index.node.js'
import { collect } from './helpers.js'

/** Records the timers, servers and sockets created while it is enabled and not yet released. */
function liveResources (): { live: () => Record<string, number>, stop: () => void } {
  const kinds = new Set(['Timeout', 'TCPSERVERWRAP', 'TCPWRAP'])
  const alive = new Map<number, string>()
  const hook = createHook({
    init (id, type) { if (kinds.has(type)) alive.set(id, type) },
    destroy (id) { alive.delete(id) }
  }).enable()
  return {
    live: () => {
      const count: Record<string, number> = {}
      for (const type of alive.values()) count[type] = (count[type] ?? 0) + 1
      return count
    },
    stop: () => { hook.disable() }
  }
}

/** Waits on immediates (never timers, which would be counted) until `check()` holds. */
async function until (check: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !check(); i++) await new Promise(resolve => setImmediate(resolve))
}

describe('ws transport (Node): transport.close', () => {
  it('releases servers, sockets and timers, including a close handshake the peer never answers', async () => {
    const resources = liveResources()
    try {
      const t = webSockets()
      const client = webSockets()
      const inbound: Connection[] = []
      const listener = await t.listen('ws://127.0.0.1:0', c => inbound.push(c))
      const a = await client.dial(listener.addresses[0]!)
      const ga = collect(a)
      await until(() => inbound.length === 1)
      a.send(Uint8Array.of(1))
      const gb = collect(inbound[0]!)
      await until(() => gb.frames.length === 1)

      // a peer that completes the handshake and then ignores everything: our close() waits on it
      const port = Number(new URL(listener.addresses[0]!).port)
      const raw = connect(port, '127.0.0.1')
      raw.on('error', () => {})
      raw.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
      await until(() => inbound.length === 2)
      inbound[1]!.close()
      // timers: ws's 30 s closing-handshake timer and the http server's connection check;
      // sockets: both ends of the pair and of the raw peer
      await until(() => resources.live().Timeout === 2)
      expect(resources.live()).toEqual({ TCPSERVERWRAP: 1, TCPWRAP: 4, Timeout: 2 })

      await t.close()
      await client.close()
      expect(await ga.closed).toBeDefined()
      expect(gb.closes).toHaveLength(1)
      // only the raw peer's socket may remain: it belongs to the test
      await until(() => JSON.stringify(resources.live()) === '{"TCPWRAP":1}')
      expect(resources.live()).toEqual({ TCPWRAP: 1 })
      raw.destroy()
      await until(() => Object.keys(resources.live()).length === 0)
      expect(resources.live()).toEqual({})
    } finally { resources.stop() }
  })
})
