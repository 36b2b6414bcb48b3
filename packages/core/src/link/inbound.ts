import type { Clock, Random } from '../util/clock.js'
import type { Limits } from '../util/limits.js'
import type { Logger } from '../util/logger.js'
import type { Metrics } from '../util/metrics.js'
import type { Identity } from '../wire/identity.js'
import type { AbuseGuard } from './abuse-guard.js'
import { Admission } from './admission.js'
import type { Channel, UpgradedConnection } from './channel.js'
import type { NodeStatus } from './context.js'
import type { Connection } from './transport.js'

/** What the accept path needs of the node (the link manager's options have it all). */
export interface InboundOptions {
  clock: Clock
  random: Random
  logger: Logger
  metrics: Metrics
  limits: Readonly<Limits>
  guard: AbuseGuard
  channel: Channel
  identity: () => Identity
  status: () => NodeStatus
  whenStopping: (fn: (reason: unknown) => void) => () => void
  handshakeTimeout: number
}

/** What the accept path needs of the link manager (`LinkManager`). */
export interface InboundHost {
  readonly o: InboundOptions
  /** Holds a connection still in its handshake (closed if the node stops), or lets it go. */
  hold: (conn: Connection) => void
  letGo: (conn: Connection) => void
  /** The handshake is done: the link joins the node's peers (`admitted` is released when it closes). */
  addLink: (up: UpgradedConnection, address: string, admitted: Connection) => void
  /** Refuses a peer that proved a banned id. */
  cutOff: (conn: Connection, reason: string) => void
}

/** A node's accept path: what its listeners hand their connections to. */
export interface Inbound {
  accept: (raw: Connection) => void
  /** The link on an accepted connection closed. */
  released: (raw: Connection) => void
}

/** The `inbound` option of `HearsayNode` (`acceptInbound()`). */
export type InboundFactory = (host: InboundHost) => Inbound

/**
 * The accept path for nodes that listen (on by default with `createNode` and with `hearsay/lite`
 * in Node): admission under the abuse limits before any crypto is spent, then the responder's
 * handshake. A page that never listens (`hearsay/lite` in browsers, WebSocket client only)
 * leaves it out of its bundle; `listen` without it is a TypeError.
 */
export function acceptInbound (): InboundFactory {
  return (host) => {
    const { o } = host
    const gate = new Admission(o.guard, o.clock, o.metrics)
    return {
      released: (raw) => { gate.released(raw) },
      accept: (raw) => {
        if (o.status() !== 'running') { raw.close(); return }
        o.metrics.inc('connections.inbound')
        // bans, the concurrent-handshake cap and the per-address cap, before any crypto is spent
        if (!gate.admit(raw)) { raw.close(gate.refusal); return }
        host.hold(raw)
        const ac = new AbortController()
        const offStop = o.whenStopping((reason) => { ac.abort(reason) })
        o.channel.upgrade(raw, {
          role: 'responder',
          identity: o.identity(),
          timeoutMs: o.handshakeTimeout,
          // shorter under a handshake flood: half-open connections give their slots back sooner
          helloTimeoutMs: gate.helloTimeout(o.handshakeTimeout),
          clock: o.clock,
          random: o.random,
          maxFrameBytes: o.limits.maxFrameBytes,
          signal: ac.signal,
          onProven: () => { gate.proven(raw) }
        }).then(
          (up) => {
            offStop()
            host.letGo(raw)
            gate.settled(raw)
            const banned = o.guard.banned(up.remotePeer, undefined)
            if (o.status() !== 'running') up.conn.close()
            else if (banned !== undefined) { o.guard.refusedBanned(); host.cutOff(up.conn, banned) }
            // a transport that named the dialler (webrtc:<peerId>) must have named the one who proved itself
            else if (raw.remotePeer !== undefined && raw.remotePeer !== up.remotePeer) { o.metrics.inc('handshake.failures'); up.conn.close() }
            else { host.addLink(up, raw.remoteAddress, raw); return }
            // refused: the connection no longer counts against its address
            gate.released(raw)
          },
          (err: unknown) => {
            offStop()
            host.letGo(raw)
            gate.settled(raw, err)
            if (o.status() !== 'running') return
            o.metrics.inc('handshake.failures')
            o.logger.debug('inbound handshake failed', { remote: raw.remoteAddress, err })
          }
        )
      }
    }
  }
}
