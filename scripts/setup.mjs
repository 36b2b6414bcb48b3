#!/usr/bin/env node
// Prepares a checkout: pnpm 9.15.9, `pnpm install`, `pnpm build`; with --browsers also Debian's
// chromium (Playwright never downloads a browser). Node built-ins only: nothing is installed yet.
// Runs as `prestart` and `pretest`. Fails fast with a non-zero exit on any error.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensurePnpm, runPnpm } from './pnpm.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const CHROMIUM = '/usr/bin/chromium'
const args = new Set(process.argv.slice(2))
const ci = process.env.CI === 'true' || process.env.CI === '1'
const started = Date.now()

const log = (msg) => console.log(`setup: ${msg}`)
const fail = (msg) => { console.error(`setup: FAILED: ${msg}`); process.exit(1) }

function run (cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts })
  if (r.error) throw new Error(`${cmd} ${argv.join(' ')}: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited with ${r.status ?? r.signal}`)
}

function has (cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

function ensureChromium () {
  if (existsSync(CHROMIUM)) { log(`chromium present at ${CHROMIUM}`); return }
  const what = 'Debian package `chromium` (apt-get install -y --no-install-recommends chromium), providing /usr/bin/chromium'
  if (!has('apt-get')) fail(`${CHROMIUM} is missing and apt-get is not available; install the ${what}`)
  let prefix
  if (typeof process.getuid === 'function' && process.getuid() === 0) prefix = []
  else if (has('sudo')) prefix = ['sudo', '-n']
  else fail(`${CHROMIUM} is missing and this is not root (no sudo either); install the ${what}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const apt = (...argv) => {
    const [cmd, ...rest] = [...prefix, 'apt-get', ...argv]
    try { run(cmd, rest, { env }) } catch (err) {
      fail(`${err.message}; install the ${what}${prefix.length ? ' (sudo -n needs password-less sudo)' : ''}`)
    }
  }
  log('chromium missing: apt-get update')
  apt('update')
  log('apt-get install chromium')
  apt('install', '-y', '--no-install-recommends', 'chromium')
  if (!existsSync(CHROMIUM)) fail(`apt-get installed chromium but ${CHROMIUM} does not exist`)
}

try {
  const pnpm = ensurePnpm(log)
  process.env.HEARSAY_PNPM = JSON.stringify(pnpm)
  log(`pnpm: ${pnpm.join(' ')}`)

  if (args.has('--browsers')) ensureChromium()

  const install = ['install', ...(ci ? ['--frozen-lockfile'] : []), '--config.confirmModulesPurge=false']
  log(`pnpm ${install.join(' ')}`)
  runPnpm(pnpm, install, { cwd: root, env: { PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' } })

  log('pnpm build')
  runPnpm(pnpm, ['build'], { cwd: root })

  log(`ready (${((Date.now() - started) / 1000).toFixed(1)} s)`)
} catch (err) {
  fail(err instanceof Error ? err.message : String(err))
}
