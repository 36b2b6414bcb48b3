import { memoryStore, StoreError } from '@hearsay/core'
import type { AbortOptions, KnownOptions, Logger, PeerRecord, PeerStore } from '@hearsay/core'
import { indexedDbStore, StoreLockedError } from '@hearsay/store-level'

/**
 * The browser's default store: the IndexedDB database `name`, or, when another tab of the same
 * origin holds it, a memory store (with a warning), so that a second tab still starts, with an
 * identity of its own instead of a copy of the first tab's.
 */
export function defaultBrowserStore (name: string, logger: Logger | undefined): PeerStore {
  const primary = indexedDbStore({ name })
  let chosen: Promise<PeerStore> | undefined
  let closed = false
  const pick = async (): Promise<PeerStore> => {
    if (closed) throw new StoreError('The store is closed')
    chosen ??= primary.open().then((): PeerStore => primary, (err: unknown): PeerStore => {
      if (!(err instanceof StoreLockedError)) throw err
      logger?.warn('the default IndexedDB store is open in another tab; this node keeps its peers and identity in memory', { store: name })
      return memoryStore()
    })
    return await chosen
  }
  return {
    save: async (entries, options?: AbortOptions) => { await (await pick()).save(entries, options) },
    remove: async (addresses, options?: AbortOptions) => { await (await pick()).remove(addresses, options) },
    known: async function * (options?: KnownOptions): AsyncGenerator<PeerRecord> { yield * (await pick()).known(options) },
    getStats: async (address, options?: AbortOptions) => await (await pick()).getStats(address, options),
    record: async (address, event, options?: AbortOptions) => { await (await pick()).record(address, event, options) },
    getIdentity: async (options?: AbortOptions) => await (await pick()).getIdentity(options),
    setIdentity: async (key, options?: AbortOptions) => { await (await pick()).setIdentity(key, options) },
    getMeta: async (key, options?: AbortOptions) => await (await pick()).getMeta(key, options),
    putMeta: async (key, value, options?: AbortOptions) => { await (await pick()).putMeta(key, value, options) },
    close: async () => {
      if (closed) return
      closed = true
      const store = chosen === undefined ? primary : await chosen.catch(() => primary)
      await store.close()
    }
  }
}
