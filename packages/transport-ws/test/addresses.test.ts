import { describe, expect, it } from 'vitest'
import { webSockets } from '../src/index.node.js'
import { deadPort } from './helpers.js'

describe('ws transport (Node): addresses and errors', () => {
  it('reports its name, protocols and capabilities', () => {
    const t = webSockets()
    expect(t.name).toBe('ws')
    expect(t.protocols).toEqual(['ws', 'wss'])
    expect(t.supports.listen).toBe(true)
  })

  it('rejects addresses it cannot use with InvalidAddressError', async () => {
    const t = webSockets()
    for (const bad of ['ws://', 'ws://:80', 'tcp://127.0.0.1:1', 'memory:x', 'ws://127.0.0.1:0', 'ws://127.0.0.1:99999']) {
      await expect(t.dial(bad), bad).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
    }
    await expect(t.listen('tcp://127.0.0.1:0', () => {})).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
    // TLS needs a user-supplied https server
    await expect(t.listen('wss://127.0.0.1:0', () => {})).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' })
    await t.close()
  })

  it('a refused dial rejects with DialError carrying the cause', async () => {
    const t = webSockets()
    const err = await t.dial(`ws://127.0.0.1:${await deadPort()}`).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_DIAL_FAILED', cause: { code: 'ECONNREFUSED' } })
    await t.close()
  })

  it('a listen on a port in use rejects with InvalidAddressError', async () => {
    const t = webSockets()
    const listener = await t.listen('ws://127.0.0.1:0', () => {})
    await expect(t.listen(listener.addresses[0]!, () => {})).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS', cause: { code: 'EADDRINUSE' } })
    await t.close()
  })

  it('bad limits throw TypeError', () => {
    expect(() => webSockets({ maxFrameBytes: 0 })).toThrow(TypeError)
    expect(() => webSockets({ highWaterMark: 1.5 })).toThrow(TypeError)
  })
})
