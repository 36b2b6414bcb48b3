/**
 * Shared by the compat entry points (created by the coalescent/peernet helper; the others may
 * use it too).
 *
 * The seeds took Node callbacks where hearsay returns promises. With a callback, the result
 * goes to `cb(err, value)` and nothing is returned (so no promise can reject unhandled); without
 * one, the promise is returned. A callback that is not a function is a `TypeError` at the call.
 */
export type Callback<T> = (err: Error | null, value?: T) => void

export function callback<T> (promise: Promise<T>, cb: Callback<T> | undefined): Promise<T> | undefined {
  if (cb === undefined) return promise
  if (typeof cb !== 'function') throw new TypeError('the callback must be a function')
  promise.then((value) => { cb(null, value) }, (err: unknown) => { cb(err instanceof Error ? err : new Error(String(err))) })
  return undefined
}
