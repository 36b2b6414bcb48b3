/**
 * What the attacker did (its report) and the empty one, apart from abuse-attacker.ts: that module is a child process's
 * entry (it listens on the process's IPC channel as it loads), so the bench and its tests, which
 * need the empty report, must not load it (in a vitest fork it answered vitest's own messages).
 */
export interface AttackReport {
  halfOpenConnects: number
  halfOpenCutByRelay: number
  garbageSent: number
  wrongKeySent: number
  floodSent: number
  /** ms from the start of the flood to the relay cutting the flooder off, or null. */
  floodCutOffMs: number | null
  floodByeReason: string | null
  /** The flooder's link to the relay lost for another reason than a ban (the overlay moved it, say), by cause; it linked again and went on. */
  floodRelinks: Record<string, number>
  /** Storm identities started / linked to the relay, and the JOIN and NEIGHBOR frames they sent. */
  stormJoins: number
  stormLinked: number
  stormFrames: number
  /** `rtc.signal` frames sent, and `rtc.error` answers that came back (unreachable, refused). */
  signalsSent: number
  signalErrors: number
  /** CPU the attacker process used during the attack, % of one core. */
  cpuPercent: number
}

export function emptyReport (): AttackReport {
  return { halfOpenConnects: 0, halfOpenCutByRelay: 0, garbageSent: 0, wrongKeySent: 0, floodSent: 0, floodCutOffMs: null, floodByeReason: null, floodRelinks: {}, stormJoins: 0, stormLinked: 0, stormFrames: 0, signalsSent: 0, signalErrors: 0, cpuPercent: 0 }
}
