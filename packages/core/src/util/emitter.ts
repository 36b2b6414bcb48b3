/**
 * A small typed event emitter that works in every runtime (no Node `EventEmitter` in core).
 * A listener that throws does not stop the others; the error goes to `onListenerError`.
 */
export type EventListener<T> = (payload: T) => void

export class Emitter<Events extends Record<string, unknown>> {
  readonly #listeners = new Map<keyof Events, Set<EventListener<any>>>()
  /** Where listener exceptions go; the node routes them to its `error` event. */
  onListenerError: (err: unknown, event: PropertyKey) => void = (err) => { queueMicrotask(() => { throw err }) }

  on<K extends keyof Events>(event: K, fn: EventListener<Events[K]>): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) { set = new Set(); this.#listeners.set(event, set) }
    set.add(fn)
    return () => this.off(event, fn)
  }

  once<K extends keyof Events>(event: K, fn: EventListener<Events[K]>): () => void {
    const off = this.on(event, (payload) => { off(); fn(payload) })
    return off
  }

  off<K extends keyof Events>(event: K, fn: EventListener<Events[K]>): void {
    const set = this.#listeners.get(event)
    if (set === undefined) return
    set.delete(fn)
    if (set.size === 0) this.#listeners.delete(event)
  }

  listenerCount (event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): boolean {
    const set = this.#listeners.get(event)
    if (set === undefined) return false
    for (const fn of [...set]) {
      try { fn(payload) } catch (err) { this.onListenerError(err, event) }
    }
    return true
  }

  removeAllListeners (): void { this.#listeners.clear() }
}
