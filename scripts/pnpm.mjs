// Finds (and, on request, installs) the pnpm the repo is pinned to. Node built-ins only: this
// runs before anything is installed.
//
//   import { findPnpm, ensurePnpm, runPnpm } from './pnpm.mjs'
//   findPnpm()   -> ['pnpm'] | ['/abs/bin/pnpm'] | null              (never installs)
//   ensurePnpm() -> findPnpm(), else `npm i -g pnpm@9.15.9`, else ['npx', '--yes', 'pnpm@9.15.9']
//   runPnpm(args, opts) -> spawnSync result, throws on a non-zero exit
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'

export const PNPM_VERSION = '9.15.9'
const MAJOR = PNPM_VERSION.split('.')[0]

// A corepack shim must never sit waiting on a "download pnpm? [Y/n]" prompt.
const quietEnv = { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: '0', COREPACK_ENABLE_STRICT: '0' }

function versionOf (cmd) {
  const [bin, ...pre] = cmd
  const r = spawnSync(bin, [...pre, '--version'], { encoding: 'utf8', env: quietEnv, timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.error || r.status !== 0) return null
  const v = r.stdout.trim().split(/\s+/).pop()
  return /^\d+\.\d+\.\d+/.test(v ?? '') ? v : null
}

function fits (version) { return version !== null && version.split('.')[0] === MAJOR }

function npmGlobalBin () {
  const r = spawnSync('npm', ['prefix', '-g'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  if (r.error || r.status !== 0) return null
  const prefix = r.stdout.trim()
  return process.platform === 'win32' ? prefix : path.join(prefix, 'bin')
}

/** The pnpm command to use, without installing anything; null if no pnpm 9 is available. */
export function findPnpm () {
  if (process.env.HEARSAY_PNPM) return JSON.parse(process.env.HEARSAY_PNPM)
  if (fits(versionOf(['pnpm']))) return ['pnpm']
  const bin = npmGlobalBin()
  const abs = bin === null ? null : path.join(bin, 'pnpm')
  if (abs !== null && existsSync(abs) && fits(versionOf([abs]))) return [abs]
  return null
}

/** The pnpm command to use, installing pnpm@9.15.9 globally (or falling back to npx) if needed. */
export function ensurePnpm (log = () => {}) {
  const found = findPnpm()
  if (found !== null) return found
  log(`pnpm ${MAJOR}.x not found; npm i -g pnpm@${PNPM_VERSION}`)
  const r = spawnSync('npm', ['i', '-g', `pnpm@${PNPM_VERSION}`], { stdio: ['ignore', 'inherit', 'inherit'], env: quietEnv, timeout: 300_000 })
  if (!r.error && r.status === 0) {
    const again = findPnpm()
    if (again !== null) return again
    log('pnpm was installed globally but is not runnable; falling back to npx')
  } else {
    log('global install not permitted; falling back to npx')
  }
  const npx = ['npx', '--yes', `pnpm@${PNPM_VERSION}`]
  if (fits(versionOf(npx))) return npx
  throw new Error(`could not obtain pnpm ${PNPM_VERSION}: install it with \`npm i -g pnpm@${PNPM_VERSION}\``)
}

/** Runs pnpm with `args`; throws if it cannot start or exits non-zero. */
export function runPnpm (cmd, args, opts = {}) {
  const [bin, ...pre] = cmd
  const r = spawnSync(bin, [...pre, ...args], { stdio: 'inherit', ...opts, env: { ...quietEnv, ...opts.env } })
  if (r.error) throw new Error(`pnpm ${args.join(' ')}: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`pnpm ${args.join(' ')} exited with ${r.status ?? r.signal}`)
  return r
}
