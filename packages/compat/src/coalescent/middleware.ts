/**
 * coalescent's middleware contract: `app.use(fn)` takes a function that is called with each
 * new peer's socket and returns a transform stream (a `stream.Transform`, or any classic
 * through-style stream with `write` / `end` / `pipe`, as the README's own `through` example
 * is). Implementors may add `_init(app, socket)` to the stream (called for every new
 * connection) and `_plugin(app)` to the function (called once, by `use()`).
 */
import type { Readable } from 'node:stream'
import type { CoalescentSocket } from './socket.js'

/** A stream in the chain: readable for the next one, writable for the previous one. */
export interface ChainStream extends NodeJS.EventEmitter {
  write: (...args: any[]) => unknown
  end: (...args: any[]) => unknown
  pipe: <T extends NodeJS.WritableStream>(dest: T, options?: { end?: boolean }) => T
  pause?: () => unknown
  resume?: () => unknown
  _init?: (app: any, socket: CoalescentSocket) => void
}

export interface CoalescentMiddleware<App = any> {
  (socket: CoalescentSocket): ChainStream
  _plugin?: (app: App) => void
}

function isChainStream (s: unknown): s is ChainStream {
  const o = s as Record<string, unknown> | null
  return o !== null && typeof o === 'object' && typeof o.write === 'function' && typeof o.end === 'function' &&
    typeof o.pipe === 'function' && typeof o.on === 'function'
}

/**
 * Builds one socket's chain: socket → each middleware's stream, in `use()` order. Returns its
 * tail (what becomes app output), or throws `TypeError` naming the middleware that returned no
 * stream.
 */
export function buildChain (app: unknown, socket: CoalescentSocket, stack: readonly CoalescentMiddleware[], onError: (err: Error) => void): Readable | ChainStream {
  let tail: Readable | ChainStream = socket
  for (const fn of stack) {
    const stream = fn(socket)
    if (!isChainStream(stream)) {
      throw new TypeError(`coalescent: middleware ${fn.name === '' ? '(anonymous)' : fn.name} must return a stream (a stream.Transform), got ${stream === null ? 'null' : typeof stream}`)
    }
    stream.on('error', onError)
    if (typeof stream._init === 'function') stream._init(app, socket)
    tail = (tail as Readable).pipe(stream as unknown as NodeJS.WritableStream) as unknown as ChainStream
  }
  return tail
}
