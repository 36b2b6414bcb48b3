/**
 * AbstractConnection: a connection that received frames and then closed before its consumer
 * attached (the far end sends, hangs up and closes while this side still awaits an async
 * handshake step) reports the close when the handlers come. It returned early instead, and the
 * link stayed up with nobody on the other end (WebRTC NAT test: the next dial hung 20 s).
 */
import { describe, expect, it } from 'vitest'
import { AbstractConnection } from '../src/index.js'

class TestConnection extends AbstractConnection {
  get bufferedAmount (): number { return 0 }
  protected _send (): void {}
  protected _close (): void {}
  receive (frame: Uint8Array): void { this._receive(frame) }
  closeRemote (reason?: Error): void { this._closed(reason) }
}

describe('AbstractConnection', () => {
  it('reports a close that came before the handlers, after frames were buffered', () => {
    const conn = new TestConnection({ remoteAddress: 'test:a', direction: 'inbound' })
    conn.receive(new Uint8Array([1]))
    conn.closeRemote(new Error('gone'))
    const closes: Array<Error | undefined> = []
    conn.setHandlers({ onMessage: () => {}, onClose: (r) => { closes.push(r) } })
    expect(closes.map(r => r?.message)).toEqual(['gone'])
  })

  it('reports a close that came before the handlers with nothing buffered', () => {
    const conn = new TestConnection({ remoteAddress: 'test:a', direction: 'inbound' })
    conn.closeRemote()
    let closes = 0
    conn.setHandlers({ onMessage: () => {}, onClose: () => { closes++ } })
    expect(closes).toBe(1)
  })
})
