/**
 * The relay itself: a full hearsay node (overlay on) listening on WebSocket and TCP. No process
 * globals: `cli.ts` wires it to argv, the environment and signals; tests start it in-process.
 */
import { readFile } from 'node:fs/promises'
import { createNode, jsonLogger } from '@hearsay/core'
import type { HearsayNode, Logger, NodeOptions } from '@hearsay/core'
import { tcp } from '@hearsay/transport-tcp'
import { webSockets } from '@hearsay/transport-ws'
import type { RelayConfig } from './config.js'
import { listenAddresses } from './config.js'

export interface RelayOptions {
  /** Where log lines go, one JSON object per call. @default console.log */
  write?: (line: string) => void
}

export interface Relay {
  /** The running node: its id, addresses, peers, metrics and events. */
  readonly node: HearsayNode
  /** Logs at the configured level through the relay's writer. */
  readonly logger: Logger
  /** Stops the node (says goodbye to every peer, closes listeners). Idempotent. */
  stop: () => Promise<void>
}

/** The closed-network passphrase in `path`: its contents, trimmed; an empty file is an error. */
export async function readNetworkKey (path: string): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new Error(`cannot read the network key file ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  const key = text.trim()
  if (key === '') throw new Error(`the network key file ${path} is empty`)
  return key
}

/**
 * Starts a relay and resolves once it listens, after writing one `relay ready` line (always,
 * whatever the log level) with the node's id and real addresses. Rejects if the key file cannot
 * be read or a listener cannot bind; nothing is left running then.
 */
export async function startRelay (config: RelayConfig, options: RelayOptions = {}): Promise<Relay> {
  const write = options.write ?? ((line: string) => { console.log(line) })
  const logger = jsonLogger({ level: config.logLevel, write })
  const { ws, tcp: tcpAddress } = listenAddresses(config)
  const nodeOptions: NodeOptions = {
    transports: [webSockets(), tcp()],
    listen: [ws, tcpAddress],
    seeds: config.seeds,
    logger
  }
  if (config.networkKeyFile !== undefined) nodeOptions.networkKey = await readNetworkKey(config.networkKeyFile)
  if (config.maxPeers !== undefined) nodeOptions.maxPeers = config.maxPeers
  if (config.minPeers !== undefined) nodeOptions.minPeers = config.minPeers
  const node = createNode(nodeOptions)
  node.on('error', (err) => { logger.error('node error', { err }) })
  await node.start()
  jsonLogger({ level: 'debug', write }).info('relay ready', { id: node.id, addresses: node.addresses })
  let stopped: Promise<void> | undefined
  return {
    node,
    logger,
    stop: async () => {
      stopped ??= node.stop().then(() => { logger.info('relay stopped') })
      await stopped
    }
  }
}
