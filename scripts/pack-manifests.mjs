#!/usr/bin/env node
// The published packages' manifests. Inside the monorepo every package exports its TypeScript
// under the `source` condition (vitest, tsc and the e2e bundles use it); the published
// `exports` must not. pnpm replaces `exports` by `publishConfig.exports` when it packs, so each
// package carries both, and this script keeps `publishConfig.exports` = `exports` without
// `source`: `node scripts/pack-manifests.mjs --write` updates them, `--check` (the packaging
// test) fails if one is stale or a package misses a hygiene field. Node built-ins only.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Every package that is published: the library packages and the relay. */
export const PUBLISHED = [
  'packages/core',
  'packages/store-level',
  'packages/transport-ws',
  'packages/transport-tcp',
  'packages/transport-webrtc',
  'packages/node-streams',
  'packages/hearsay',
  'packages/compat',
  'apps/relay'
]

const REQUIRED = ['name', 'version', 'description', 'license', 'repository', 'keywords', 'engines', 'files']

/** `exports` without the monorepo-only `source` condition, at any depth. */
export function withoutSource (value) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  const out = {}
  for (const [key, v] of Object.entries(value)) {
    if (key === 'source') continue
    out[key] = withoutSource(v)
  }
  return out
}

export function readManifest (dir) {
  return JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8'))
}

/** Problems of one package's manifest, as sentences; [] when it is ready to publish. */
export function manifestProblems (dir, pkg = readManifest(dir)) {
  const problems = []
  for (const field of REQUIRED) if (pkg[field] === undefined) problems.push(`${dir}: no "${field}"`)
  if (pkg.private === true) problems.push(`${dir}: "private": true`)
  if (!existsSync(path.join(root, dir, 'LICENSE'))) problems.push(`${dir}: no LICENSE file`)
  if (pkg.exports !== undefined) {
    const want = JSON.stringify(withoutSource(pkg.exports))
    if (JSON.stringify(pkg.publishConfig?.exports) !== want) problems.push(`${dir}: publishConfig.exports is not exports without "source" (run node scripts/pack-manifests.mjs --write)`)
  }
  for (const [section, deps] of Object.entries({ dependencies: pkg.dependencies, optionalDependencies: pkg.optionalDependencies, peerDependencies: pkg.peerDependencies })) {
    for (const [name, range] of Object.entries(deps ?? {})) {
      if (typeof range === 'string' && range.startsWith('workspace:') && range !== 'workspace:*' && range !== 'workspace:^') problems.push(`${dir}: ${section}.${name} is ${range}`)
    }
  }
  return problems
}

function main () {
  const args = new Set(process.argv.slice(2))
  if (args.has('--write')) {
    for (const dir of PUBLISHED) {
      const file = path.join(root, dir, 'package.json')
      const text = readFileSync(file, 'utf8')
      const pkg = JSON.parse(text)
      if (pkg.exports === undefined) continue
      pkg.publishConfig = { ...pkg.publishConfig, exports: withoutSource(pkg.exports) }
      if (pkg.name.startsWith('@')) pkg.publishConfig.access = 'public'
      const next = JSON.stringify(pkg, null, 2) + '\n'
      if (next !== text) { writeFileSync(file, next); console.log(`pack-manifests: wrote ${dir}/package.json`) }
    }
  }
  const problems = PUBLISHED.flatMap(dir => manifestProblems(dir))
  for (const p of problems) console.error(`pack-manifests: ${p}`)
  if (problems.length > 0) process.exitCode = 1
  else console.log(`pack-manifests: ${PUBLISHED.length} manifests ready to publish`)
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
