/**
 * `coalescent.tattletale()`: relays every chunk a peer sends to every other connected peer
 * (never back to its sender), and passes it on. As in coalescent, nothing stops a chunk that
 * comes back around a cycle of tattletales; the README's answer for meshes is `smartrelay()`.
 */
import { Transform } from 'node:stream'
import type { TransformCallback } from 'node:stream'
import type { CoalescentApp } from './app.js'
import type { CoalescentMiddleware } from './middleware.js'
import type { CoalescentSocket } from './socket.js'

/** Writes `chunk` to every connected socket except `from`. */
export function relayToOthers (app: CoalescentApp, from: CoalescentSocket, chunk: unknown): void {
  for (const other of app.connections()) if (other !== from && other.writable) other.write(chunk as Buffer | string)
}

export class Tattletale extends Transform {
  #app: CoalescentApp | undefined
  #socket: CoalescentSocket | undefined

  constructor () { super({ decodeStrings: false, encoding: undefined }) }

  _init (app: CoalescentApp, socket: CoalescentSocket): void { this.#app = app; this.#socket = socket }

  override _transform (chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#app !== undefined && this.#socket !== undefined) relayToOthers(this.#app, this.#socket, chunk)
    done(null, chunk)
  }
}

export function tattletale (): CoalescentMiddleware<CoalescentApp> {
  return function tattletale () { return new Tattletale() }
}
