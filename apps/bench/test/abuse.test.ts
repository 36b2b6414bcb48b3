/**
 * The abuse bench, short (issue 18): the relay CLI with its default limits and a network key,
 * three honest nodes, and for a few seconds 200 half-open TCP connections from 200 addresses,
 * garbage and wrong-key hellos, and one authenticated peer broadcasting flat out. Runs the built
 * files (`pnpm build` first, as CI does). The numbers of record come from `pnpm bench:abuse`
 * (medians of 3 longer runs); this checks the mechanisms and the targets with room for a slow
 * machine.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runAbuseBench } from '../src/abuse-bench.js'
import { RELAY_CLI } from '../src/procs.js'

const built = existsSync(RELAY_CLI) && existsSync(fileURLToPath(new URL('../dist/abuse-attacker.js', import.meta.url)))

describe('a public relay under attack', () => {
  it.runIf(built)('keeps serving honest nodes: a new node joins through a handshake flood, the flooding peer is throttled, /healthz answers', async () => {
    const r = await runAbuseBench({
      phaseMs: 3000,
      honest: 3,
      rate: 10,
      attack: { halfOpen: 200, garbagePerSecond: 10, wrongKeyPerSecond: 10, flood: true },
      joinTimeoutMs: 5000
    })
    // issue 18: 200 half-open handshakes from 200 addresses blocked every join for the whole attack
    expect(r.phases.during.joinMs).not.toBeNull()
    expect(r.phases.during.joinMs!).toBeLessThan(2000)
    expect(r.counters.refused_handshake_evicted ?? 0).toBeGreaterThan(0)
    // issue 18: a peer broadcasting flat out was never throttled (the default was 1M frames/s)
    expect(r.attack.floodSent).toBeGreaterThan(1000)
    expect(r.counters['drops.rate-limit'] ?? 0).toBeGreaterThan(0)
    // honest traffic is untouched, and the relay answers its health check throughout
    for (const p of [r.phases.before, r.phases.during, r.phases.after]) {
      expect(p.delivered).toBeGreaterThanOrEqual(0.99)
      expect(p.healthz.failed).toBe(0)
    }
  }, 90_000)
})
