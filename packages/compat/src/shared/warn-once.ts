/**
 * Shared by the compat entry points (created by the smokesignal/telepathine helper; the
 * coalescent/peernet entry points may use it too).
 *
 * A seed's option or argument with no sound equivalent in hearsay is never a silent no-op: it
 * warns once per process, through `process.emitWarning`, with a stable code so applications can
 * filter it (`process.on('warning', w => w.code)`). Once per process and not per call, because
 * the same program usually builds many nodes with the same options.
 */
const warned = new Set<string>()

export function warnOnce (code: string, message: string): void {
  if (warned.has(code)) return
  warned.add(code)
  process.emitWarning(message, { type: 'HearsayCompatWarning', code })
}
