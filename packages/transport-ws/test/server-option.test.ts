import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { webSockets } from '../src/index.node.js'
import { collect, nextConnection } from './helpers.js'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map(async s => { s.closeAllConnections(); await new Promise(resolve => s.close(resolve)) }))
})

function httpServer (): Server {
  const server = createServer((_req, res) => { res.end('plain http') })
  servers.push(server)
  return server
}

async function get (port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })
  return await res.text()
}

describe('ws transport (Node): attached to a user http.Server', () => {
  it('listens on the server port and path, shares it with plain HTTP and leaves it open on close', async () => {
    const server = httpServer()
    const t = webSockets({ server })
    const client = webSockets()
    const { accept, accepted } = nextConnection()
    // listen may start before the server listens: it waits for it
    const listening = t.listen('ws://127.0.0.1:0/hearsay', accept)
    server.listen(0, '127.0.0.1')
    const listener = await listening
    const port = (server.address() as { port: number }).port
    expect(listener.addresses).toEqual([`ws://127.0.0.1:${port}/hearsay`])

    const a = await client.dial(listener.addresses[0]!)
    const b = await accepted
    const ga = collect(a)
    const gb = collect(b)
    a.send(Uint8Array.of(1, 2, 3))
    b.send(Uint8Array.of(4, 5))
    await expect.poll(() => ga.frames.length + gb.frames.length).toBe(2)
    expect([...gb.frames[0]!]).toEqual([1, 2, 3])
    expect([...ga.frames[0]!]).toEqual([4, 5])
    expect(b.direction).toBe('inbound')
    expect(b.remoteAddress).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)

    expect(await get(port)).toBe('plain http')
    await expect(client.dial(`ws://127.0.0.1:${port}/elsewhere`)).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })

    // a second listener on another path of the same server; a used path is refused
    const second = await t.listen('ws://127.0.0.1:0/second', c => c.close())
    expect(second.addresses).toEqual([`ws://127.0.0.1:${port}/second`])
    await expect(t.listen('ws://127.0.0.1:0/hearsay', () => {})).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })

    await t.close()
    expect(await ga.closed).toBeDefined()
    expect(b.closed).toBe(true)
    expect(server.listening).toBe(true)
    expect(await get(port)).toBe('plain http')
    await expect(client.dial(listener.addresses[0]!)).rejects.toMatchObject({ code: 'ERR_DIAL_FAILED' })
    await client.close()
  })
})
