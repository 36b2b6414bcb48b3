/**
 * The 1k-node `members` run in one process, with the knobs the CLI does not have: a 2 s idle
 * window and no baseline overlay (at 1k nodes a virtual second of membership costs 20–70 s of
 * wall on a shared 2-core machine; the baseline's bytes come from the smaller runs, where they
 * are the same ~600 B / node / s at every size). Writes results/members.*.
 *   node apps/bench/dist/members-1k.js <seed> [outDir]
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'

process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true'
const [{ writeResults }, { members }] = await Promise.all([import('./report.js'), import('./scenario-members.js')])
const seed = Number(process.argv[2] ?? 1)
const out = process.argv[3] ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'results')
const log = (line: string): void => { process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`) }
const rows = await members({ nodes: 1000, seed, idleMs: 2000, baseline: false, log })
writeResults(out, 'members', rows)
log(`wrote ${out}/members.*`)
