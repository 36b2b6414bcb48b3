/**
 * telepathine's `after` / `every`: timers that run while the peer runs. Set before `start()`
 * they begin at start; `stop()` pauses them (hearsay cancels node timers at stop) and the next
 * `start()` arms again an `every`, and an `after` that had not fired yet.
 */
import type { HearsayNode } from '@hearsay/core'

interface Spec { ms: number, fn: () => void, repeat: boolean, fired: boolean, cancel: (() => void) | undefined }

export class PeerTimers {
  readonly #specs: Spec[] = []

  add (ms: number, fn: () => void, repeat: boolean, node: HearsayNode | undefined): void {
    const spec: Spec = { ms, fn, repeat, fired: false, cancel: undefined }
    this.#specs.push(spec)
    if (node !== undefined) this.#arm(spec, node)
  }

  /** Arms every timer still due (at start). */
  armAll (node: HearsayNode): void {
    for (const s of this.#specs) if (!s.fired) this.#arm(s, node)
  }

  /** Forgets the cancel functions of a stopped node (its timers are already gone). */
  paused (): void {
    for (const s of this.#specs) s.cancel = undefined
  }

  #arm (spec: Spec, node: HearsayNode): void {
    spec.cancel?.()
    if (spec.repeat) {
      spec.cancel = node.every(spec.ms, spec.fn)
      return
    }
    spec.cancel = node.after(spec.ms, () => {
      spec.fired = true
      // an after() that fired is done: forget it so a long-lived peer does not keep them all
      this.#specs.splice(this.#specs.indexOf(spec), 1)
      spec.fn()
    })
  }
}
