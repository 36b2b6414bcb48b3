/**
 * The failure-injection bench, short: the relay CLI and 8 node processes on loopback, kill -9 of
 * the relay and 2 nodes (a third of the processes), delivery among the survivors, the relay's
 * return on the same port with the same id. Runs the built files (`pnpm build` first, as CI does).
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runKillBench } from '../src/kill.js'
import { RELAY_CLI } from '../src/procs.js'

const built = existsSync(RELAY_CLI) && existsSync(fileURLToPath(new URL('../dist/kill-node.js', import.meta.url)))

describe('kill -9 a third of the processes, the relay included', () => {
  it.runIf(built)('the survivors keep delivering and link to the relay when it returns', async () => {
    // 8 nodes can leave a survivor whose every link went to the dead: it relinks first (relinkFirst)
    const r = await runKillBench({ nodes: 8, kill: 2, messages: 5, intervalMs: 100, healMs: 1000, timeoutMs: 20_000, relinkFirst: true })
    expect(r.killed).toEqual({ relay: true, nodes: 2, share: 0.333 })
    expect(r.before.delivered).toBe(1)
    expect(r.afterKill.reachedAll).toBeGreaterThanOrEqual(0.99)
    expect(r.relay.sameId).toBe(true)
    expect(r.relay.firstLinkMs).not.toBeNull()
    expect(r.afterRejoin.reachedAll).toBeGreaterThanOrEqual(0.99)
  }, 90_000)
})
