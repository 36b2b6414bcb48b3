/** In-process relays and nodes for the relay tests, each stopped by `cleanup()` (afterEach). */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createNode } from '@hearsay/core'
import type { HearsayNode, NodeOptions } from '@hearsay/core'
import { tcp } from '@hearsay/transport-tcp'
import { webSockets } from '@hearsay/transport-ws'
import type { RelayConfig } from '../src/config.js'
import { startRelay } from '../src/relay.js'
import type { Relay } from '../src/relay.js'

const relays = new Set<Relay>()
const nodes = new Set<HearsayNode>()
const dirs = new Set<string>()

export interface TestRelay extends Relay {
  /** Every log line the relay wrote, parsed. */
  log: Array<Record<string, unknown>>
}

export function tempDir (): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearsay-relay-test-'))
  dirs.add(dir)
  return dir
}

export async function testRelay (config: Partial<RelayConfig> = {}): Promise<TestRelay> {
  const log: Array<Record<string, unknown>> = []
  const relay = await startRelay(
    { host: '127.0.0.1', port: 0, seeds: [], logLevel: 'warn', data: ':memory:', ...config },
    { write: (line) => { log.push(JSON.parse(line) as Record<string, unknown>) } }
  )
  relays.add(relay)
  return Object.assign(relay, { log })
}

export async function testNode (options: NodeOptions = {}): Promise<HearsayNode> {
  const node = createNode({ transports: [webSockets(), tcp()], defaultProtocol: 'ws', ...options })
  nodes.add(node)
  await node.start()
  return node
}

export function addressOf (relay: Relay, scheme: 'ws' | 'tcp'): string {
  const a = relay.node.addresses.find(x => x.startsWith(`${scheme}://`))
  if (a === undefined) throw new Error(`no ${scheme} address in ${JSON.stringify(relay.node.addresses)}`)
  return a
}


export async function cleanup (): Promise<void> {
  await Promise.all([...nodes].map(async n => { await n.stop() }))
  nodes.clear()
  await Promise.all([...relays].map(async r => { await r.stop() }))
  relays.clear()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
}

export { nextEvent } from '@hearsay/core/compliance'
