/**
 * The test harness of the `hearsay` browser pages, driven through `window.__hearsay`: start a
 * node on a named (or the default) store, dial a Node node over ws and exchange messages, stop
 * it, delete IndexedDB databases. Errors come back as values, never as page errors. Each page
 * passes the `createNode` of the entry it tests (`hearsay`, `hearsay/lite`).
 */
import type { HearsayNode, Logger, Peer } from '@hearsay/core'

/** What the harness asks of an entry's `createNode`. */
export type CreateNode = (options: { store?: string, networkKey?: string, logger: Logger, overlay: boolean }) => HearsayNode

export interface PageError { name: string, code?: string, message: string }
export interface StartResult { id?: string, error?: PageError, warnings: string[] }
export interface DialResult { remoteId?: string, error?: PageError }

export interface HearsayPage {
  defaultStore: string
  /** Starts a node (no overlay) on `store` (default: the default store) with `networkKey` (default: the public network). */
  start: (store?: string, networkKey?: string) => Promise<StartResult>
  /** Dials `address` (ws://…) from the started node. */
  dial: (address: string) => Promise<DialResult>
  /** Sends an application message to the dialled peer. */
  send: (type: string, data: unknown) => void
  /** Application messages received so far. */
  messages: () => Array<{ from: string, type: string, data: unknown }>
  stop: () => Promise<void>
  deleteDatabase: (name: string) => Promise<void>
  databases: () => Promise<string[]>
}

declare global {
  interface Window { __hearsay?: HearsayPage }
}

let node: HearsayNode | undefined
let peer: Peer | undefined
const received: Array<{ from: string, type: string, data: unknown }> = []
const warnings: string[] = []
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (msg: string) => { warnings.push(msg) },
  error: (msg: string) => { warnings.push(msg) }
}

function describe (err: unknown): PageError {
  const e = err as Error & { code?: string }
  return { name: e.name, ...(typeof e.code === 'string' ? { code: e.code } : {}), message: e.message }
}

/** Installs `window.__hearsay` around one entry's `createNode`. */
export function installHarness (createNode: CreateNode, defaultStore: string): void {
  window.__hearsay = {
    defaultStore,
    start: async (store, networkKey) => {
      warnings.length = 0
      received.length = 0
      node = createNode({ ...(store === undefined ? {} : { store }), ...(networkKey === undefined ? {} : { networkKey }), logger, overlay: false })
      node.on('message', ({ from, type, data }) => { received.push({ from: from.id, type, data }) })
      try {
        await node.start()
        return { id: node.id, warnings: [...warnings] }
      } catch (err) {
        return { error: describe(err), warnings: [...warnings] }
      }
    },
    dial: async (address) => {
      try {
        peer = await node!.dial(address, { timeout: 10_000 })
        return { remoteId: peer.id }
      } catch (err) {
        return { error: describe(err) }
      }
    },
    send: (type, data) => { peer!.send(type, data) },
    messages: () => [...received],
    stop: async () => { await node?.stop(); node = undefined; peer = undefined },
    deleteDatabase: async (name) => {
      await new Promise<void>((resolve, reject) => {
        const req = indexedDB.deleteDatabase(name)
        req.onsuccess = () => { resolve() }
        req.onerror = () => { reject(req.error ?? new Error(`could not delete ${name}`)) }
        req.onblocked = () => { reject(new Error(`deleting ${name} is blocked`)) }
      })
    },
    databases: async () => (await indexedDB.databases()).map(d => d.name ?? '')
  }
  }
