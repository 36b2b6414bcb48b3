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
import { abuseMarkdown, runAbuseBench } from '../src/abuse-bench.js'
import { RELAY_CLI } from '../src/procs.js'

const built = existsSync(RELAY_CLI) && existsSync(fileURLToPath(new URL('../dist/abuse-attacker.js', import.meta.url)))

describe('a public relay under attack', () => {
  // Event-driven where a loaded machine stretches time (a CI run at several times the usual
  // duration saw a join take over 5 s): the join has 30 s, and the attack lasts until it is
  // done, so a join counts only if it got through the flood; without eviction the 200 half-open
  // handshakes held every slot for the whole attack and the join never happened. The 2 s target
  // is the full bench's (`pnpm bench:abuse`, medians of 3 runs), not a CI threshold.
  it.runIf(built)('keeps serving honest nodes: a new node joins through a handshake flood, the flooding peer is throttled, /healthz answers', async () => {
    const r = await runAbuseBench({
      phaseMs: 3000,
      honest: 3,
      rate: 10,
      attack: { halfOpen: 200, garbagePerSecond: 10, wrongKeyPerSecond: 10, flood: true },
      joinTimeoutMs: 30_000,
      healthzTimeoutMs: 10_000,
      drainMs: 20_000
    })
    try {
      // issue 18: 200 half-open handshakes from 200 addresses blocked every join for the whole attack
      expect(r.phases.during.joinMs, 'a new node joined during the attack').not.toBeNull()
      expect(r.attack.halfOpenConnects).toBeGreaterThanOrEqual(200)
      expect(r.counters.refused_handshake_evicted ?? 0).toBeGreaterThan(0)
      // issue 18: a peer broadcasting flat out was never throttled (the default was 1M frames/s);
      // now its excess is dropped and it is not read until its share refills (pause())
      expect(r.counters['drops.rate-limit'] ?? 0).toBeGreaterThan(0)
      expect(r.counters.throttle_pauses ?? 0).toBeGreaterThan(0)
      // honest traffic is untouched, and the relay answers its health check throughout
      for (const p of [r.phases.before, r.phases.during, r.phases.after]) {
        expect(p.delivered).toBeGreaterThanOrEqual(0.99)
        expect(p.healthz.failed).toBe(0)
      }
    } catch (err) {
      // the whole run, to tell a loaded machine from a regression
      console.error(abuseMarkdown(r, 'the failed run'))
      throw err
    }
  }, 150_000)
})
