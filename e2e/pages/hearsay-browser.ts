/**
 * Browser entry: the `hearsay` package's browser build, driven by the test through
 * `window.__hearsay`: start a node on a named (or the default) store, stop it, delete IndexedDB
 * databases. Errors come back as values, never as page errors.
 */
import { createNode, DEFAULT_STORE } from 'hearsay'
import type { HearsayNode, Logger } from 'hearsay'

export interface StartResult { id?: string, error?: { name: string, code?: string, message: string }, warnings: string[] }

export interface HearsayPage {
  defaultStore: string
  start: (store?: string) => Promise<StartResult>
  stop: () => Promise<void>
  deleteDatabase: (name: string) => Promise<void>
  databases: () => Promise<string[]>
}

declare global {
  interface Window { __hearsay?: HearsayPage }
}

let node: HearsayNode | undefined
const warnings: string[] = []
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (msg: string) => { warnings.push(msg) },
  error: (msg: string) => { warnings.push(msg) }
}

window.__hearsay = {
  defaultStore: DEFAULT_STORE,
  start: async (store) => {
    warnings.length = 0
    node = createNode({ ...(store === undefined ? {} : { store }), logger, overlay: false })
    try {
      await node.start()
      return { id: node.id, warnings: [...warnings] }
    } catch (err) {
      const e = err as Error & { code?: string }
      return { error: { name: e.name, ...(e.code === undefined ? {} : { code: e.code }), message: e.message }, warnings: [...warnings] }
    }
  },
  stop: async () => { await node?.stop(); node = undefined },
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
