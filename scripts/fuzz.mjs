// The long fuzz run: every decoder and handshake step with a million inputs each (CI runs 100k).
// FUZZ_RUNS and FUZZ_SEED may be set to override.
import { spawnSync } from 'node:child_process'

const env = { ...process.env, FUZZ_RUNS: process.env.FUZZ_RUNS ?? '1000000' }
const files = ['packages/core/test/fuzz.test.ts', 'packages/transport-tcp/test/frame-decoder.test.ts']
const r = spawnSync('npx', ['vitest', 'run', '--testTimeout=3600000', ...files], { stdio: 'inherit', env })
process.exit(r.status ?? 1)
