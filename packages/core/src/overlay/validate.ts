/**
 * Shape checks for messages decoded from the wire. Peers are untrusted: every field is checked
 * before use, and a bad message is counted and ignored, never thrown on.
 */
export type Drops = Record<string, number>

const watchers = new WeakMap<Drops, (reason: string) => void>()

/**
 * Calls `fn` for every drop counted in `drops` from now on. The state machines stay free of the
 * node; their glue mirrors each drop into `node.metrics`, where operators and tests look.
 */
export function watchDrops (drops: Drops, fn: (reason: string) => void): void {
  watchers.set(drops, fn)
}

export function countDrop (drops: Drops, reason: string): void {
  drops[reason] = (drops[reason] ?? 0) + 1
  watchers.get(drops)?.(reason)
}

export function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/**
 * A decoded message body with its wire type set, for a state machine that dispatches on `t`.
 * The body is the handler's own (decoded from this one frame), so `t` is set in place: a copy
 * (`{ ...data, t }`) of a record with 26k keys costs ~50 ms, and spreading a string or bytes
 * makes a property of every character (150 ms for one 256 KiB frame). Anything but a record
 * passes unchanged and is dropped as malformed there.
 */
export function withType (data: unknown, t: string): unknown {
  if (isRecord(data)) data.t = t
  return data
}

export function isString (v: unknown, maxLength: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= maxLength
}

export function isInt (v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max
}

/** A list of 0..maxCount non-empty strings, each at most maxLength long, returned as a copy. */
export function stringList (v: unknown, maxCount: number, maxLength: number): string[] | undefined {
  if (!Array.isArray(v) || v.length > maxCount) return undefined
  for (const s of v) if (!isString(s, maxLength)) return undefined
  return [...v] as string[]
}
