#!/usr/bin/env node
// The long fuzz run: every decoder and handshake step with a million inputs each (FUZZ_RUNS),
// and every protocol message type fed through a running node (FUZZ_NODE_RUNS each, fast-check).
// CI runs the same tests with small counts. Prints inputs and time per target and fails unless
// every test passed and the targets together ran at least 1M inputs. FUZZ_SEED replays a run.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const MIN_TOTAL = 1_000_000
const dir = mkdtempSync(path.join(os.tmpdir(), 'hearsay-fuzz-'))
const reportFile = path.join(dir, 'report.jsonl')
const env = {
  ...process.env,
  FUZZ_RUNS: process.env.FUZZ_RUNS ?? '1000000',
  FUZZ_NODE_RUNS: process.env.FUZZ_NODE_RUNS ?? '10000',
  FUZZ_REPORT: reportFile
}
const files = [
  'packages/core/test/fuzz/decoders.test.ts',
  'packages/core/test/fuzz/node-inbound.test.ts',
  'packages/core/test/fuzz/regressions.test.ts',
  'packages/transport-tcp/test/frame-decoder.test.ts',
  'packages/store-level/test/codec-fuzz.test.ts'
]
const started = Date.now()
const r = spawnSync('npx', ['vitest', 'run', '--testTimeout=3600000', ...files], { stdio: 'inherit', env })

let rows = []
try { rows = readFileSync(reportFile, 'utf8').trim().split('\n').filter(Boolean).map(l => JSON.parse(l)) } catch {}
rmSync(dir, { recursive: true, force: true })
const total = rows.reduce((n, row) => n + row.inputs, 0)
console.log('\nfuzz targets:')
for (const row of rows) console.log(`  ${row.target.padEnd(40)} ${String(row.inputs).padStart(9)} inputs ${(row.ms / 1000).toFixed(1).padStart(7)} s`)
console.log(`  ${'total'.padEnd(40)} ${String(total).padStart(9)} inputs ${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s (wall)`)
if (r.status !== 0) { console.error('fuzz: a target failed'); process.exit(r.status ?? 1) }
if (total < MIN_TOTAL) { console.error(`fuzz: only ${total} inputs ran, fewer than ${MIN_TOTAL}`); process.exit(1) }
