import { afterEach, describe, expect, it } from 'vitest'
import { generateIdentity, plainChannel, secureChannel, systemClock, systemRandom } from '../src/index.js'
import type { Channel, Connection } from '../src/index.js'
import { dialledPair, withSend } from './conn-pair.js'

// The responder's `helloTimeoutMs` (a node under a handshake flood hurries only the hello): a
// connection that sends nothing is cut at it, and one that sent its hello gets the whole
// `timeoutMs` for the rest, however slow (a page on a starved CPU joining a relay, issue 19).

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => { while (cleanups.length > 0) await cleanups.pop()!() })

/** A dialled connection whose frames after the first are held back `delayMs`. */
async function rawPair (delayMs: number): Promise<{ client: Connection, server: Connection }> {
  const { raw, inbound } = await dialledPair()
  cleanups.push(() => { raw.close() })
  let sent = 0
  const client = withSend(raw, (f) => {
    if (sent++ === 0) raw.send(f)
    else setTimeout(() => { if (!raw.closed) raw.send(f) }, delayMs)
  })
  return { client, server: inbound }
}

const common = { clock: systemClock, random: systemRandom, maxFrameBytes: 64 * 1024 }

describe.each<[string, () => Channel]>([['secure', () => secureChannel()], ['plain', () => plainChannel()]])('%s channel, responder helloTimeoutMs', (_name, channel) => {
  it('cuts a connection that sends no hello at helloTimeoutMs, not at timeoutMs', async () => {
    const { server } = await rawPair(0)
    const t0 = Date.now()
    const err = await channel().upgrade(server, { ...common, role: 'responder', identity: generateIdentity(systemRandom), timeoutMs: 10_000, helloTimeoutMs: 100 }).then(() => undefined, (e: unknown) => e)
    expect((err as { code?: string } | undefined)?.code).toBe('ERR_TIMEOUT')
    expect(Date.now() - t0).toBeLessThan(5000)
  })
})

describe('secure channel, responder helloTimeoutMs', () => {
  it('lets a peer whose hello came in time finish the handshake after helloTimeoutMs', async () => {
    // the initiator's hello goes at once, its auth 400 ms later: past the 100 ms hello timeout
    const { client, server } = await rawPair(400)
    const [a, b] = await Promise.all([
      secureChannel().upgrade(client, { ...common, role: 'initiator', identity: generateIdentity(systemRandom), timeoutMs: 10_000 }),
      secureChannel().upgrade(server, { ...common, role: 'responder', identity: generateIdentity(systemRandom), timeoutMs: 10_000, helloTimeoutMs: 100 })
    ])
    cleanups.push(() => { a.conn.close(); b.conn.close() })
    expect(a.linkId).toBe(b.linkId)
  })
})
