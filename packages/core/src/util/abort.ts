import { AbortError, TimeoutError } from './errors.js'
import type { Clock } from './clock.js'
import { systemClock } from './clock.js'

export interface AbortOptions {
  /** Cancels the operation; it then rejects with an `AbortError`. */
  signal?: AbortSignal
}

export function throwIfAborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw toAbortError(signal.reason)
}

export function toAbortError (reason: unknown): Error {
  if (reason instanceof AbortError || reason instanceof TimeoutError) return reason
  return new AbortError(undefined, { cause: reason })
}

/**
 * Races `promise` against a signal and an optional timeout on the injected clock. `onCancel`
 * runs when the race is lost so that the caller can release what the operation holds.
 */
export async function withDeadline<T> (
  promise: Promise<T>,
  opts: { signal?: AbortSignal, timeoutMs?: number, clock?: Clock, timeoutMessage?: string, onCancel?: () => void }
): Promise<T> {
  const { signal, timeoutMs, clock = systemClock } = opts
  if (signal === undefined && timeoutMs === undefined) return await promise
  return await new Promise<T>((resolve, reject) => {
    let done = false
    let timer: unknown
    const finish = (): void => {
      done = true
      if (timer !== undefined) clock.clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const fail = (err: Error): void => {
      if (done) return
      finish()
      opts.onCancel?.()
      reject(err)
    }
    const onAbort = (): void => { fail(toAbortError(signal?.reason)) }
    if (signal?.aborted === true) { onAbort(); return }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      timer = clock.setTimeout(() => { fail(new TimeoutError(opts.timeoutMessage)) }, timeoutMs)
    }
    promise.then(
      (v) => { if (!done) { finish(); resolve(v) } },
      (e) => { if (!done) { finish(); reject(e) } }
    )
  })
}
