import { MemoryNetwork } from '../src/index.js'
import type { Connection } from '../src/index.js'
import { eventually } from '../src/testing/compliance/assert.js'

/** A connection dialled over a fresh memory network, and the listener's end of it. */
export async function dialledPair (): Promise<{ raw: Connection, inbound: Connection }> {
  const network = new MemoryNetwork()
  let inbound: Connection | undefined
  await network.transport('b').listen('memory:b', (c) => { inbound = c })
  const raw = await network.transport('a').dial('memory:b')
  await eventually(() => inbound !== undefined)
  return { raw, inbound: inbound! }
}

/** `raw` with its own `send` (which may call `raw.send`), and anything else in `extra`; the rest passes through. */
export function withSend (raw: Connection, send: (frame: Uint8Array) => void, extra: Partial<Connection> = {}): Connection {
  return {
    remoteAddress: raw.remoteAddress,
    direction: raw.direction,
    get closed () { return raw.closed },
    get bufferedAmount () { return raw.bufferedAmount },
    send,
    drained: async (o) => { await raw.drained(o) },
    setHandlers: (h) => { raw.setHandlers(h) },
    close: (r) => { raw.close(r) },
    ...extra
  }
}
