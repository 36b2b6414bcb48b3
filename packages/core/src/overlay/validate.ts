/**
 * Shape checks for messages decoded from the wire. Peers are untrusted: every field is checked
 * before use, and a bad message is counted and ignored, never thrown on.
 */
export type Drops = Record<string, number>

export function countDrop (drops: Drops, reason: string): void {
  drops[reason] = (drops[reason] ?? 0) + 1
}

export function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
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
