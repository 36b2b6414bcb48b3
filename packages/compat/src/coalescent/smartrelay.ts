/**
 * `coalescent.smartrelay()`: like tattletale, but each chunk is hashed (SHA-256) and a chunk
 * this app has already relayed is ignored: neither relayed nor passed on, and counted
 * (`drops.coalescent-smartrelay-duplicate` in `app.node.metrics`). coalescent remembered hashes
 * without a bound; here the memory holds 10,000 hashes for 30 s, one per app.
 */
import { createHash } from 'node:crypto'
import { Transform } from 'node:stream'
import type { TransformCallback } from 'node:stream'
import { ExpiringMap } from '@hearsay/core'
import type { CoalescentApp } from './app.js'
import type { CoalescentMiddleware } from './middleware.js'
import type { CoalescentSocket } from './socket.js'
import { relayToOthers } from './tattletale.js'

export const SMARTRELAY_MAX_ENTRIES = 10_000
export const SMARTRELAY_MAX_AGE_MS = 30_000

export class SmartRelay extends Transform {
  #app: CoalescentApp | undefined
  #socket: CoalescentSocket | undefined
  readonly #seen: ExpiringMap<string, true>

  constructor (seen: ExpiringMap<string, true>) {
    super({ decodeStrings: false })
    this.#seen = seen
  }

  _init (app: CoalescentApp, socket: CoalescentSocket): void { this.#app = app; this.#socket = socket }

  override _transform (chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    const hash = createHash('sha256').update(chunk).digest('hex')
    const now = Date.now()
    if (this.#seen.get(hash, now) !== undefined) {
      this.#app?.node?.metrics.drop('coalescent-smartrelay-duplicate')
      done()
      return
    }
    this.#seen.set(hash, true, now)
    if (this.#app !== undefined && this.#socket !== undefined) relayToOthers(this.#app, this.#socket, chunk)
    done(null, chunk)
  }
}

export function smartrelay (): CoalescentMiddleware<CoalescentApp> {
  // one memory for every socket of the app: a chunk is a duplicate whichever peer sent it
  const seen = new ExpiringMap<string, true>(SMARTRELAY_MAX_ENTRIES, SMARTRELAY_MAX_AGE_MS)
  return function smartrelay () { return new SmartRelay(seen) }
}
