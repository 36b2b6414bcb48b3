import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let gcFn: (() => void) | undefined

/**
 * Two full collections, in a test process started without --expose-gc: the flag set at run time
 * reaches only contexts made after it, so `gc` is read from a fresh one. Twice: what the first
 * finds dead behind weak callbacks goes at the second.
 */
export function fullGc (): void {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc')
    gcFn = runInNewContext('gc') as () => void
  }
  gcFn()
  gcFn()
}
