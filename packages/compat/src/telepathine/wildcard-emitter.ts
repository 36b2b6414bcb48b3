/**
 * The event side of telepathine: EventEmitter2-style wildcard listeners (`on('set:*')`,
 * `on('**')`), called with `this` set to the emitter, whose `event` property names the event
 * being dispatched (EventEmitter2's `this.event`). Patterns are hearsay's (`compilePattern`):
 * segments split on `:` and `.`, `*` one segment, `**` any number.
 */
import { compilePattern } from '@hearsay/core'
import type { Matcher } from '@hearsay/core'

/** A handler: `this` is the emitter (the `Telepathine`), with `this.event` set. */
export type TelepathineHandler<This = any> = (this: This, ...args: any[]) => void

interface Entry { pattern: string, match: Matcher, fn: TelepathineHandler, once: boolean }

export class WildcardEmitter {
  /** The name of the event being dispatched, inside a handler. */
  event: string | undefined
  #entries: Entry[] = []

  /** Calls `handler` for every event whose name matches `pattern`. */
  on (pattern: string, handler: TelepathineHandler<this>): this {
    this.#add(pattern, handler, false)
    return this
  }

  /** Like `on`, for the first matching event only. */
  once (pattern: string, handler: TelepathineHandler<this>): this {
    this.#add(pattern, handler, true)
    return this
  }

  /** Removes a handler added for `pattern`. */
  off (pattern: string, handler: TelepathineHandler<this>): this {
    const i = this.#entries.findIndex(e => e.pattern === pattern && e.fn === handler)
    if (i >= 0) this.#entries = this.#entries.filter((_e, j) => j !== i)
    return this
  }

  removeListener (pattern: string, handler: TelepathineHandler<this>): this { return this.off(pattern, handler) }

  /** Removes every handler, or those added for `pattern`. */
  removeAllListeners (pattern?: string): this {
    this.#entries = pattern === undefined ? [] : this.#entries.filter(e => e.pattern !== pattern)
    return this
  }

  /** How many handlers `name` would reach. */
  listenerCount (name: string): number {
    return this.#entries.filter(e => e.match(name)).length
  }

  /**
   * Dispatches `name` to every matching handler, in the order they were added. A handler that
   * throws does not stop the others; its error is reported on `error` (or thrown, as an
   * EventEmitter does, when nobody listens to `error`). True if a handler ran.
   */
  emit (name: string, ...args: unknown[]): boolean {
    const hits = this.#entries.filter(e => e.match(name))
    if (hits.length === 0) {
      if (name === 'error') throw args[0] instanceof Error ? args[0] : new Error(`Unhandled error event: ${String(args[0])}`)
      return false
    }
    this.#entries = this.#entries.filter(e => !(e.once && hits.includes(e)))
    for (const e of hits) {
      const previous = this.event
      this.event = name
      try {
        e.fn.apply(this, args)
      } catch (err) {
        if (name === 'error') throw err
        this.emit('error', err)
      } finally {
        this.event = previous
      }
    }
    return true
  }

  #add (pattern: string, fn: TelepathineHandler, once: boolean): void {
    if (typeof fn !== 'function') throw new TypeError(`a handler for "${String(pattern)}" must be a function`)
    this.#entries.push({ pattern, match: compilePattern(pattern), fn, once })
  }
}
