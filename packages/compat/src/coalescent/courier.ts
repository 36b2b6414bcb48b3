/**
 * `coalescent.courier()`: parses what peers send into messages `{ type, data }` (one JSON
 * object per line on the wire), gives every socket `send(type, data)` and the app
 * `broadcast(type, data)` (to every connected peer). A line that is not such a message is
 * reported as `error (err, socket)` and skipped, never passed on half-parsed.
 */
import { Transform } from 'node:stream'
import type { TransformCallback } from 'node:stream'
import type { CoalescentApp } from './app.js'
import type { CoalescentMiddleware } from './middleware.js'
import type { CoalescentSocket } from './socket.js'

/** A parsed courier message. `body` is the same value as `data` (older coalescent called it so). */
export interface CourierMessage { type: string, data: unknown, body: unknown }

/** The wire form: one JSON line. `TypeError` for a type that is not a non-empty string or data JSON cannot carry. */
export function encodeMessage (type: string, data: unknown): string {
  if (typeof type !== 'string' || type.length === 0) throw new TypeError('coalescent courier: type must be a non-empty string')
  const line = JSON.stringify({ type, data })
  if (line === undefined) throw new TypeError('coalescent courier: data cannot be encoded as JSON')
  return line + '\n'
}

export class MalformedMessageError extends Error {
  readonly code = 'ERR_COURIER_MALFORMED'
  override readonly name = 'MalformedMessageError'
}

export class Courier extends Transform {
  #app: CoalescentApp | undefined
  #socket: CoalescentSocket | undefined
  #partial = ''

  constructor () { super({ decodeStrings: false, readableObjectMode: true }) }

  _init (app: CoalescentApp, socket: CoalescentSocket): void {
    this.#app = app
    this.#socket = socket
    socket.send = (type: string, data?: unknown) => { socket.write(encodeMessage(type, data)) }
  }

  override _transform (chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    const lines = (this.#partial + chunk.toString()).split('\n')
    this.#partial = lines.pop() ?? ''
    for (const line of lines) this.#parse(line)
    done()
  }

  override _flush (done: TransformCallback): void {
    if (this.#partial.length > 0) this.#parse(this.#partial)
    this.#partial = ''
    done()
  }

  #parse (line: string): void {
    if (line.trim().length === 0) return
    let msg: unknown
    try { msg = JSON.parse(line) } catch { msg = undefined }
    const m = msg as { type?: unknown, data?: unknown } | undefined
    if (m === null || typeof m !== 'object' || typeof m.type !== 'string') {
      this.#app?.node?.metrics.drop('coalescent-courier-malformed')
      const err = new MalformedMessageError(`coalescent courier: not a message: ${line.slice(0, 80)}`)
      if (this.#app !== undefined) this.#app.emit('error', err, this.#socket)
      return
    }
    this.push({ type: m.type, data: m.data, body: m.data } satisfies CourierMessage)
  }
}

export function courier (): CoalescentMiddleware<CoalescentApp> {
  const middleware: CoalescentMiddleware<CoalescentApp> = function courier () { return new Courier() }
  middleware._plugin = (app) => {
    app.broadcast = (type: string, data?: unknown) => { app.write(encodeMessage(type, data)) }
  }
  return middleware
}
