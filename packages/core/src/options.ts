import type { Channel } from './channel.js'
import type { Clock, Random } from './clock.js'
import type { Identity } from './identity.js'
import type { Limits } from './limits.js'
import type { Logger } from './logger.js'
import type { PeerStore } from './peer-store.js'
import type { Transport } from './transport.js'

/** Every option of `createNode()`. Defaults live in `DEFAULTS` below and in docs/api.md. */
export interface NodeOptions {
  /** Transports the node dials and listens with. @default [] (the `hearsay` package adds the platform's) */
  transports?: Transport[]
  /** Addresses to listen on, e.g. `ws://127.0.0.1:0`. @default [] */
  listen?: string[]
  /** Addresses dialled at start and when the node loses every peer. @default [] */
  seeds?: string[]
  /** Where peers, stats and the identity are kept. @default memoryStore() */
  store?: PeerStore
  /** The node's identity, or its 64-byte secret key. @default loaded from the store, else generated and saved */
  identity?: Identity | Uint8Array
  /** Closed-network key (32 bytes or a passphrase). @default the public network */
  networkKey?: Uint8Array | string
  /** @default silentLogger */
  logger?: Logger
  /** Size limits. @default { maxFrameBytes: 262144, maxTypeBytes: 64, maxIdBytes: 64 } */
  limits?: Partial<Limits>
  /** Time allowed for the secure handshake, in ms. @default 10000 */
  handshakeTimeout?: number
  /** Time allowed for a transport dial, in ms. @default 10000 */
  dialTimeout?: number
  /** Protocol for bare `host:port` addresses. @default 'tcp' ('ws' in browsers through the `hearsay` package) */
  defaultProtocol?: string
  /** How long a duplicate-closed link waits for its replacement before reporting a disconnect, in ms. @default 5000 */
  duplicateGraceMs?: number
  /** Injected time source (the simulator's virtual clock). @default systemClock */
  clock?: Clock
  /** Injected randomness. @default systemRandom (crypto.getRandomValues) */
  random?: Random
  /** How raw connections are authenticated. @default secureChannel({ networkKey }) — `plainChannel()` is for simulation only */
  channel?: Channel
}

export const DEFAULTS = Object.freeze({
  handshakeTimeout: 10_000,
  dialTimeout: 10_000,
  defaultProtocol: 'tcp',
  duplicateGraceMs: 5_000,
  pingTimeout: 3_000
})
