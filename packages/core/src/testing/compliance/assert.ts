/**
 * Minimal assertions for the compliance suites, so that they run under any test runner and
 * inside a plain browser page without one.
 */
export class AssertionError extends Error {
  constructor (message: string) { super(message); this.name = 'AssertionError' }
}

export function ok (value: unknown, message = 'expected a truthy value'): asserts value {
  if (value === false || value === null || value === undefined || value === 0 || value === '') throw new AssertionError(message)
}

export function equal<T> (actual: T, expected: T, message?: string): void {
  if (!Object.is(actual, expected)) throw new AssertionError(message ?? `expected ${show(expected)}, got ${show(actual)}`)
}

export function deepEqual (actual: unknown, expected: unknown, message?: string): void {
  if (!same(actual, expected)) throw new AssertionError(message ?? `expected ${show(expected)}, got ${show(actual)}`)
}

export function bytesEqual (actual: Uint8Array, expected: Uint8Array, message?: string): void {
  ok(actual instanceof Uint8Array, 'expected a Uint8Array')
  if (actual.length !== expected.length) throw new AssertionError(message ?? `expected ${expected.length} bytes, got ${actual.length}`)
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) throw new AssertionError(message ?? `bytes differ at ${i}`)
  }
}

/** Asserts that `fn` throws (or rejects) an error with the given `code`. */
export async function rejects (fn: () => unknown, code: string, message?: string): Promise<Error> {
  try {
    await fn()
  } catch (err) {
    const c = (err as { code?: string }).code
    if (c !== code) throw new AssertionError(message ?? `expected error code ${code}, got ${String(c)} (${String(err)})`)
    return err as Error
  }
  throw new AssertionError(message ?? `expected an error with code ${code}, but nothing was thrown`)
}

/** Resolves when `check()` is truthy, polling on microtasks and macrotasks; fails after `ms`. */
export async function eventually (check: () => unknown, ms = 5000, what = 'condition'): Promise<void> {
  const start = Date.now()
  while (true) {
    if (await check()) return
    if (Date.now() - start > ms) throw new AssertionError(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

/** Rejects if `promise` does not settle within `ms`. */
export async function within<T> (promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new AssertionError(`${what} did not finish within ${ms} ms`)), ms) })
    ])
  } finally {
    clearTimeout(timer)
  }
}

function same (a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i])
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length && ka.every(k => same((a as any)[k], (b as any)[k]))
  }
  return false
}

function show (v: unknown): string {
  try { return JSON.stringify(v, (_k, x) => x instanceof Uint8Array ? `<${x.length} bytes>` : x) ?? String(v) } catch { return String(v) }
}
