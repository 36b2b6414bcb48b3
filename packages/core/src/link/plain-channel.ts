import { AbstractConnection, forwardPause } from './abstract-connection.js'
import type { AbortOptions } from '../util/abort.js'
import { fromUtf8, toHex, utf8 } from '../util/bytes.js'
import type { Channel, UpgradeOptions, UpgradedConnection } from './channel.js'
import { HandshakeError, PeerIdMismatchError, SelfDialError } from '../util/errors.js'
import { FramePump } from './frame-pump.js'
import { isPeerId } from '../wire/identity.js'
import type { Connection } from './transport.js'

/**
 * NOT SECURE. Each side simply states its peer id. For the simulator and tests that measure
 * protocol logic without paying for crypto; never use it on a real network.
 */
export function plainChannel (): Channel {
  return {
    name: 'plain',
    overhead: 0,
    async upgrade (conn: Connection, o: UpgradeOptions): Promise<UpgradedConnection> {
      const pump = new FramePump(conn, o.maxFrameBytes)
      const nonce = toHex(o.random.bytes(8))
      conn.send(utf8(`${o.identity.id}:${nonce}`))
      let remote: string
      let remoteNonce: string
      try {
        const text = fromUtf8(await pump.next({ clock: o.clock, at: o.clock.now() + Math.min(o.timeoutMs, o.helloTimeoutMs ?? o.timeoutMs), signal: o.signal }))
        ;[remote = '', remoteNonce = ''] = text.split(':')
        if (!isPeerId(remote)) throw new HandshakeError('plain channel: the remote sent no peer id')
        if (remote === o.identity.id) throw new SelfDialError()
        if (o.expectedPeer !== undefined && o.expectedPeer !== remote) throw new PeerIdMismatchError(o.expectedPeer, remote)
      } catch (err) {
        conn.close(err as Error)
        throw err
      }
      const c = new PassThrough(conn, o.maxFrameBytes)
      pump.takeover(c)
      return { remotePeer: remote, conn: c, linkId: o.role === 'initiator' ? nonce + remoteNonce : remoteNonce + nonce }
    }
  }
}

class PassThrough extends AbstractConnection {
  readonly pause: Connection['pause']
  readonly resume: Connection['resume']

  constructor (private readonly raw: Connection, maxFrameBytes: number) {
    super({ remoteAddress: raw.remoteAddress, direction: raw.direction, maxFrameBytes })
    ;({ pause: this.pause, resume: this.resume } = forwardPause(raw))
  }

  // the pump's sink: methods, not an object of closures per link (10k simulated nodes add up)
  onMessage (f: Uint8Array): void { this._receive(f) }
  onClose (r?: Error): void { this._closed(r) }

  get bufferedAmount (): number { return this.raw.bufferedAmount }
  override async drained (options?: AbortOptions): Promise<void> { await this.raw.drained(options) }
  protected _send (frame: Uint8Array): void { this.raw.send(frame) }
  protected _close (reason?: Error): void { this.raw.close(reason) }
}
