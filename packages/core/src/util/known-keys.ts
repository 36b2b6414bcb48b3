/**
 * Throws `TypeError` naming `group.key` for a key of an options group (`state`, `limits`, …) that
 * is not one of `known`: a misspelt nested option was ignored without a word before.
 */
export function checkKnownKeys (group: string, options: unknown, known: Iterable<string>): void {
  if (options === null || typeof options !== 'object') return
  const allowed = new Set(known)
  for (const key of Object.keys(options)) {
    if (!allowed.has(key)) throw new TypeError(`unknown option "${group}.${key}" (docs/api.md lists every option)`)
  }
}
