/**
 * The relay itself: a full hearsay node (overlay on) listening on WebSocket and TCP, with a
 * LevelDB peer store, and an HTTP server on the WebSocket port that serves the chat demo, the
 * status page, `/healthz` and `/metrics` (http-routes.ts). No process globals: `cli.ts` wires
 * it to argv, the environment and signals; tests start it in-process.
 */
import * as nodeCrypto from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { aes256Gcm, createNode, installCipherSuite, installEd25519, jsonLogger, memoryStore, nodeEd25519 } from '@hearsay/core'
import type { HearsayNode, IceServerOffer, Logger, NodeOptions, PeerStore } from '@hearsay/core'
import { levelStore } from '@hearsay/store-level'
import { tcp } from '@hearsay/transport-tcp'
import { webSockets } from '@hearsay/transport-ws'
import type { RelayConfig } from './config.js'
import { DEFAULT_TURN_TTL, listenAddresses, MEMORY_DATA, RELAY_MAX_CONNS_PER_IP, RELAY_MAX_FORWARD_JOINS, RELAY_MAX_PEERS, RELAY_STEP_BACK_ABOVE } from './config.js'
import { createRoutes } from './http-routes.js'
import { readSecretFile } from './secret-file.js'
import { startStunServer } from './stun.js'
import type { StunServer } from './stun.js'
import { parseTurnUrl, readTurnSecret, turnOffer } from './turn.js'
import { RELAY_ABUSE_DEFAULTS } from './abuse-config.js'
import { reclaimAfterFloods } from './reclaim.js'

export interface RelayOptions {
  /** Where log lines go, one JSON object per call. @default console.log */
  write?: (line: string) => void
}

export interface Relay {
  /** The running node: its id, addresses, peers, metrics and events. */
  readonly node: HearsayNode
  /** Logs at the configured level through the relay's writer. */
  readonly logger: Logger
  /** The HTTP base URL of the WebSocket port, e.g. `http://127.0.0.1:8080` (chat at `/`, `/status`, `/healthz`, `/metrics`). */
  readonly url: string
  /** The UDP port of the STUN server; undefined with `stunPort: false`. */
  readonly stunPort: number | undefined
  /**
   * Stops the relay: `/healthz` turns 503, the node says goodbye to every peer, closes its links
   * and listeners, writes its pending stats and closes the store; then the HTTP server closes.
   * Idempotent.
   */
  stop: () => Promise<void>
}

/** The status page's files: `public/` of this package (one level above both `src/` and `dist/`). */
export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url))
/**
 * The chat demo's build, served at `/` unless `chatDir` says otherwise: `chat/` of this package
 * (the published package ships it there; `pnpm pack` copies it in), else `apps/chat/dist/web`
 * of this checkout.
 */
export const DEFAULT_CHAT_DIR = [
  fileURLToPath(new URL('../chat/', import.meta.url)),
  fileURLToPath(new URL('../../chat/dist/web/', import.meta.url))
].find(dir => existsSync(path.join(dir, 'index.html'))) ?? fileURLToPath(new URL('../chat/', import.meta.url))

/** The closed-network passphrase in `path`: its contents, trimmed; an empty file is an error. */
export async function readNetworkKey (path: string): Promise<string> {
  return await readSecretFile(path, 'network key')
}

/** The peer store `data` names: LevelDB in that directory (created if missing), or memory. */
async function openStore (data: string | undefined): Promise<{ store: PeerStore, location: string }> {
  if (data === undefined || data === MEMORY_DATA) return { store: memoryStore(), location: MEMORY_DATA }
  const location = path.resolve(data)
  try {
    await mkdir(location, { recursive: true })
  } catch (err) {
    throw new Error(`cannot create the data directory ${location}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  return { store: levelStore({ location }), location }
}

async function listen (server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => { reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`, { cause: err })) }
    server.once('error', onError)
    server.listen({ host, port }, () => { server.off('error', onError); resolve() })
  })
  // accept() failures such as EMFILE are reported here; the server keeps listening
  server.on('error', () => {})
  return (server.address() as AddressInfo).port
}

async function closeServer (server: Server): Promise<void> {
  if (!server.listening) return
  const closed = new Promise<void>(resolve => server.close(() => { resolve() }))
  // keep-alive connections (the status page polls) would hold close() open
  server.closeAllConnections()
  await closed
}

/**
 * Starts a relay and resolves once it listens, after writing one `relay ready` line (always,
 * whatever the log level) with the node's id, real addresses, HTTP URL and data directory.
 * Rejects if the key file cannot be read, a listener cannot bind or the store cannot be opened
 * (locked by another relay, say); nothing is left running then.
 */
export async function startRelay (config: RelayConfig, options: RelayOptions = {}): Promise<Relay> {
  const write = options.write ?? ((line: string) => { console.log(line) })
  const logger = jsonLogger({ level: config.logLevel, write })
  const networkKey = config.networkKeyFile === undefined ? undefined : await readNetworkKey(config.networkKeyFile)
  const turnUrl = config.turnUrl === undefined ? undefined : parseTurnUrl(config.turnUrl)
  const turnSecret = config.turnSecretFile === undefined ? undefined : await readTurnSecret(config.turnSecretFile)
  const turnTtl = config.turnTtl ?? DEFAULT_TURN_TTL
  const { store, location } = await openStore(config.data)

  let phase: 'starting' | 'running' | 'stopping' = 'starting'
  const server = createServer()
  const { ws, tcp: tcpAddress } = listenAddresses(config)
  const nodeOptions: NodeOptions = {
    // with a server passed in, the ws listen address only gives the path; the port is the server's
    transports: [webSockets({ server }), tcp()],
    listen: [ws, tcpAddress],
    seeds: config.seeds,
    store,
    closeStore: true,
    logger
  }
  if (networkKey !== undefined) nodeOptions.networkKey = networkKey
  nodeOptions.maxPeers = config.maxPeers ?? RELAY_MAX_PEERS
  if (config.minPeers !== undefined) nodeOptions.minPeers = config.minPeers
  nodeOptions.stepBackAbove = config.stepBackAbove ?? RELAY_STEP_BACK_ABOVE
  nodeOptions.maxForwardJoins = RELAY_MAX_FORWARD_JOINS
  nodeOptions.abuse = { ...RELAY_ABUSE_DEFAULTS, maxConnectionsPerAddress: config.maxConnsPerIp ?? RELAY_MAX_CONNS_PER_IP, ...config.abuse }
  // ICE servers for the peers that join through this relay (`ice.servers`): its STUN port, and
  // TURN credentials for each peer (every peer here passed the secure handshake: its id is proven)
  let stun: StunServer | undefined
  nodeOptions.offerIceServers = (peer) => {
    const offers: IceServerOffer[] = []
    if (stun !== undefined) offers.push({ scheme: 'stun', port: stun.port })
    if (turnUrl !== undefined && turnSecret !== undefined) offers.push(turnOffer(turnUrl, turnSecret, peer.id, Date.now(), turnTtl))
    return offers
  }
  if (turnUrl !== undefined) nodeOptions.iceOfferRefresh = turnTtl * 1000 / 2
  // native AES-256-GCM for the links of peers that have it (hearsay's Node entries install it too)
  installCipherSuite(aes256Gcm(nodeCrypto))
  installEd25519(nodeEd25519(nodeCrypto))
  const node = createNode(nodeOptions)
  node.on('error', (err) => { logger.error('node error', { err }) })
  // The relay consumes no application messages: it forwards broadcasts (chat lines) through the
  // overlay. This listener keeps them from counting as `drops.unknown-type`.
  node.on('message', () => {})

  const started = { at: Date.now(), clock: 0 }
  const chatDir = config.chatDir ?? DEFAULT_CHAT_DIR
  server.on('request', createRoutes({
    node,
    started,
    phase: () => phase,
    chatDir,
    publicDir: PUBLIC_DIR,
    logger
  }))
  // the HTTP server listens first: the ws transport attaches to it (its port is the ws port)
  const port = await listen(server, config.host, config.port)
  try {
    if (config.stunPort !== false) stun = await startStunServer({ host: config.host, port: config.stunPort ?? (config.port === 0 ? 0 : port), metrics: node.metrics, logger })
    await node.start()
  } catch (err) {
    await stun?.close()
    await closeServer(server)
    throw err
  }
  started.at = Date.now()
  started.clock = node.clock.now()
  phase = 'running'
  // a flood (of connections, or of frames over a peer's share) leaves garbage an idle relay never collects (reclaim.ts)
  const stopReclaim = reclaimAfterFloods({ count: () => node.metrics.get('connections.inbound') + node.metrics.get('drops.rate-limit'), logger })
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  const url = `http://${host}:${port}`
  jsonLogger({ level: 'debug', write }).info('relay ready', { id: node.id, addresses: node.addresses, http: url, data: location, stun: stun?.port ?? null, turn: config.turnUrl ?? null })
  if (existsSync(path.join(chatDir, 'index.html'))) logger.info('chat demo', { url: `${url}/`, dir: chatDir })
  else logger.info('chat demo not built; / says how to build it', { dir: chatDir })

  let stopped: Promise<void> | undefined
  return {
    node,
    logger,
    url,
    stunPort: stun?.port,
    stop: async () => {
      stopped ??= (async () => {
        phase = 'stopping'
        stopReclaim()
        try {
          await node.stop()
        } finally {
          await stun?.close()
          await closeServer(server)
        }
        logger.info('relay stopped')
      })()
      await stopped
    }
  }
}
