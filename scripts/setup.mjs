#!/usr/bin/env node
// Prepares a checkout: pnpm 9.15.9, `pnpm install`, `pnpm build`; with --browsers also Debian's
// chromium (Playwright never downloads a browser), iptables, coturn and conntrack (the NAT tests). Node built-ins only: nothing is installed yet.
// Runs as `prestart` and `pretest`. Install and build are skipped when up to date (see below),
// except with CI=true or --force. Fails fast with a non-zero exit on any error.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
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

// Up-to-date checks, so that `npm start` with nothing changed starts at once. The install is
// current when the lockfile and every package.json are what the last successful install saw; the
// build when no source, config or manifest is newer than the last successful build and its
// outputs exist. CI (a fresh clone) and `--force` always install and build.
const STAMP = path.join(root, 'node_modules', '.cache', 'hearsay-setup.json')
const BUILD_OUTPUTS = ['apps/relay/dist/cli.js', 'apps/chat/dist/web/index.html', 'packages/hearsay/dist/hearsay.min.js']
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'test', 'results', 'test-results', 'playwright-report', '.artifacts', 'data', '.hearsay'])

function workspaceDirs () {
  const dirs = []
  for (const parent of ['packages', 'apps']) {
    const at = path.join(root, parent)
    if (existsSync(at)) for (const e of readdirSync(at, { withFileTypes: true })) if (e.isDirectory()) dirs.push(path.join(at, e.name))
  }
  return [...dirs, path.join(root, 'e2e'), path.join(root, 'examples')].filter(d => existsSync(path.join(d, 'package.json')))
}

function installKey () {
  const hash = createHash('sha256')
  for (const file of [path.join(root, 'pnpm-lock.yaml'), path.join(root, 'package.json'), path.join(root, 'pnpm-workspace.yaml'), ...workspaceDirs().map(d => path.join(d, 'package.json'))]) {
    hash.update(file).update(existsSync(file) ? readFileSync(file) : '')
  }
  return hash.digest('hex')
}

/** The newest modification time among the files a build reads (sources, configs, manifests). */
function newestInput () {
  let newest = 0
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (SKIP_DIRS.has(e.name)) continue
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) newest = Math.max(newest, statSync(p).mtimeMs)
    }
  }
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.base.json', 'scripts/build-standalone.mjs']) {
    const p = path.join(root, f)
    if (existsSync(p)) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  for (const d of workspaceDirs()) if (!d.endsWith('e2e') && !d.endsWith('examples')) walk(d)
  return newest
}

function readStamp () {
  try { return JSON.parse(readFileSync(STAMP, 'utf8')) } catch { return {} }
}

function writeStamp (stamp) {
  mkdirSync(path.dirname(STAMP), { recursive: true })
  writeFileSync(STAMP, JSON.stringify(stamp, null, 2))
}

/** The NAT tests' tools (packages/transport-webrtc/test/nat): iptables for the routers, coturn for TURN, conntrack to flush a router's table (NAT rebinding). */
const NAT_TOOLS = [['iptables', 'iptables'], ['turnserver', 'coturn'], ['conntrack', 'conntrack']]

function ensureChromium () {
  const missing = NAT_TOOLS.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg)
  if (existsSync(CHROMIUM) && missing.length === 0) { log(`chromium present at ${CHROMIUM}; iptables, coturn and conntrack present`); return }
  const packages = [...(existsSync(CHROMIUM) ? [] : ['chromium']), ...missing]
  const what = `Debian packages ${packages.join(', ')} (apt-get install -y --no-install-recommends ${packages.join(' ')}): chromium for the e2e tests, iptables, coturn and conntrack for the NAT tests`
  if (!has('apt-get')) fail(`${packages.join(', ')} missing and apt-get is not available; install the ${what}`)
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
  log(`${packages.join(', ')} missing: apt-get update`)
  apt('update')
  log(`apt-get install ${packages.join(' ')}`)
  apt('install', '-y', '--no-install-recommends', ...packages)
  if (!existsSync(CHROMIUM)) fail(`apt-get installed chromium but ${CHROMIUM} does not exist`)
  for (const [cmd, pkg] of NAT_TOOLS) if (!has(cmd)) fail(`apt-get installed ${pkg} but ${cmd} is not on the PATH`)
}

try {
  const pnpm = ensurePnpm(log)
  process.env.HEARSAY_PNPM = JSON.stringify(pnpm)
  log(`pnpm: ${pnpm.join(' ')}`)

  if (args.has('--browsers')) ensureChromium()

  const force = ci || args.has('--force')
  const stamp = force ? {} : readStamp()
  const key = installKey()
  if (stamp.install === key && existsSync(path.join(root, 'node_modules', '.modules.yaml'))) {
    log('dependencies up to date (pnpm-lock.yaml and package.json files unchanged): install skipped')
  } else {
    const install = ['install', ...(ci ? ['--frozen-lockfile'] : []), '--config.confirmModulesPurge=false']
    log(`pnpm ${install.join(' ')}`)
    runPnpm(pnpm, install, { cwd: root, env: { PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' } })
    stamp.install = installKey()
    delete stamp.build
    writeStamp(stamp)
  }

  const newest = newestInput()
  if (typeof stamp.build === 'number' && stamp.build >= newest && BUILD_OUTPUTS.every(f => existsSync(path.join(root, f)))) {
    log('build up to date (no source, config or manifest changed since the last build): build skipped')
  } else {
    log('pnpm build')
    const buildStarted = Date.now()
    runPnpm(pnpm, ['build'], { cwd: root })
    // inputs changed during the build make the next start build again
    stamp.build = Math.min(buildStarted, Date.now())
    writeStamp(stamp)
  }

  log(`ready (${((Date.now() - started) / 1000).toFixed(1)} s)`)
} catch (err) {
  fail(err instanceof Error ? err.message : String(err))
}
