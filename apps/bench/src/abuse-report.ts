/**
 * The attacker's empty report, apart from abuse-attacker.ts: that module is a child process's
 * entry (it listens on the process's IPC channel as it loads), so the bench and its tests, which
 * need the empty report, must not load it (in a vitest fork it answered vitest's own messages).
 */
import type { AttackReport } from './abuse-attacker.js'

export function emptyReport (): AttackReport {
  return { halfOpenConnects: 0, halfOpenCutByRelay: 0, garbageSent: 0, wrongKeySent: 0, floodSent: 0, floodCutOffMs: null, floodByeReason: null, floodRelinks: {}, stormJoins: 0, stormLinked: 0, stormFrames: 0, signalsSent: 0, signalErrors: 0, cpuPercent: 0 }
}
