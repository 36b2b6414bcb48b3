#!/usr/bin/env node
// Runs every test: the vitest unit tests, the Playwright e2e suite in Chromium, then the packaging
// test (scripts/pack-test.mjs: the packed packages installed with npm outside the workspace). All
// always run; exits non-zero if any failed. The last line printed is `N passed, M failed` (sum
// over the three, read from their JSON reports). `npm test` runs `scripts/setup.mjs --browsers` first.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { netnsAvailable, netnsCommand } from './netns.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => path.join(root, 'node_modules', '.bin', name)
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hearsay-test-'))
const vitestJson = path.join(tmp, 'vitest.json')
const playwrightJson = path.join(tmp, 'playwright.json')
const packJson = path.join(tmp, 'pack.json')

function run (label, cmd, argv, env = {}) {
  console.log(`\ntest: ${label}: ${path.relative(root, cmd)} ${argv.join(' ')}`)
  const started = Date.now()
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  if (r.error) console.error(`test: ${label} could not start: ${r.error.message}`)
  const code = r.error ? 1 : (r.status ?? 1)
  console.log(`test: ${label} exited with ${r.status ?? r.signal ?? 'error'} after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return code
}

function split ([cmd, ...argv]) { return [cmd, argv] }

function readJson (file) {
  try { return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null } catch { return null }
}

// Counts from a runner's JSON report. A runner that fails without reporting a failed test (a file
// that does not load, a crash, a config error) still counts as at least one failure.
function vitestCounts (code) {
  const r = readJson(vitestJson)
  let passed = r?.numPassedTests ?? 0
  let failed = r?.numFailedTests ?? 0
  if (r !== null) {
    // test files that failed to load report no tests at all
    failed += (r.testResults ?? []).filter(f => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length
  }
  if (code !== 0 && failed === 0) { failed = 1; console.log(`test: vitest exited with ${code} ${r === null ? 'without a report' : 'without a failed test'}; counted as 1 failure`) }
  return { passed, failed }
}

function playwrightCounts (code) {
  const r = readJson(playwrightJson)
  const s = r?.stats ?? {}
  const passed = (s.expected ?? 0) + (s.flaky ?? 0)
  let failed = (s.unexpected ?? 0) + (r?.errors?.length ?? 0)
  if (code !== 0 && failed === 0) { failed = 1; console.log(`test: playwright exited with ${code} ${r === null ? 'without a report' : 'without a failed test'}; counted as 1 failure`) }
  return { passed, failed }
}

function packCounts (code) {
  const r = readJson(packJson)
  const passed = r?.passed ?? 0
  let failed = r?.failed ?? 0
  if (code !== 0 && failed === 0) { failed = 1; console.log(`test: pack-test exited with ${code} ${r === null ? 'without a report' : 'without a failed check'}; counted as 1 failure`) }
  return { passed, failed }
}

// What failed, by name with the first lines of its message. Printed just above the summary so a
// log cut to its tail (as CI records keep it) still says which test failed and why.
function firstLines (text, n = 4) {
  return String(text ?? '').replace(/\u001b\[[0-9;]*m/g, '').split('\n').filter(l => l.trim() !== '').slice(0, n).map(l => `      ${l.slice(0, 300)}`).join('\n')
}

function vitestFailures () {
  const r = readJson(vitestJson)
  const out = []
  for (const f of r?.testResults ?? []) {
    const file = path.relative(root, f.name ?? '')
    const tests = (f.assertionResults ?? []).filter(t => t.status === 'failed')
    if (f.status === 'failed' && tests.length === 0) out.push(`  unit ${file}: ${firstLines(f.message, 1).trim()}`)
    for (const t of tests) out.push(`  unit ${file} › ${t.fullName ?? t.title}\n${firstLines((t.failureMessages ?? []).join('\n'))}`)
  }
  return out
}

function playwrightFailures () {
  const r = readJson(playwrightJson)
  const out = []
  const walk = (suite, trail) => {
    for (const s of suite.suites ?? []) walk(s, [...trail, s.title])
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        if (t.status !== 'unexpected') continue
        const err = (t.results ?? []).map(x => x.error?.message).find(Boolean)
        out.push(`  e2e ${spec.file ?? trail[0] ?? ''} › ${spec.title}\n${firstLines(err)}`)
      }
    }
  }
  for (const s of r?.suites ?? []) walk(s, [s.title])
  for (const e of r?.errors ?? []) out.push(`  e2e error\n${firstLines(e.message)}`)
  return out
}

function packFailures () {
  const r = readJson(packJson)
  return (r?.results ?? []).filter(c => c.ok === false).map(c => `  packaging ${c.name}\n${firstLines(c.error)}`)
}

// the sources are type-checked by the build; the tests are checked here, one failure if not
const typesCode = run('types of the tests (tsc)', bin('tsc'), ['-p', 'tsconfig.test.json'])
// The unit and e2e runs go inside a network namespace made for them (scripts/netns.mjs): the
// WebRTC tests need a non-loopback interface and must never use the machine's real ones. Without
// a namespace they skip themselves, and that counts as a failure here.
const netns = netnsAvailable()
if (!netns) console.error('test: cannot create a network namespace (unshare -n / -rn); the WebRTC tests will be skipped and counted as one failure')
const inNetns = (cmd, argv) => netns ? netnsCommand([cmd, ...argv]) : [cmd, ...argv]
const vitestCode = run('unit (vitest)', ...split(inNetns(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`])))
const playwrightCode = run('e2e (playwright)', ...split(inNetns(bin('playwright'), ['test', '-c', 'e2e/playwright.config.ts'])), { PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightJson })

// The packaging test (scripts/pack-test.mjs): the packed packages installed from the npm
// registry outside the workspace. Outside the namespace: npm needs the registry.
const packCode = run('packaging (pack-test)', process.execPath, [path.join(root, 'scripts', 'pack-test.mjs'), '--json', packJson])

const v = vitestCounts(vitestCode)
if (typesCode !== 0) v.failed++
if (!netns) v.failed++
const p = playwrightCounts(playwrightCode)
const k = packCounts(packCode)
const failures = [...vitestFailures(), ...playwrightFailures(), ...packFailures()]
rmSync(tmp, { recursive: true, force: true })

if (failures.length > 0) console.log(`\ntest: what failed\n${failures.join('\n')}`)

console.log(`\ntest: unit ${v.passed} passed, ${v.failed} failed; e2e ${p.passed} passed, ${p.failed} failed; packaging ${k.passed} passed, ${k.failed} failed`)
console.log(`${v.passed + p.passed + k.passed} passed, ${v.failed + p.failed + k.failed} failed`)
process.exitCode = typesCode !== 0 || vitestCode !== 0 || playwrightCode !== 0 || packCode !== 0 || v.failed + p.failed + k.failed > 0 ? 1 : 0
