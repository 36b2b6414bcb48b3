#!/usr/bin/env node
// Sums the V8 CPU profiles in a directory (`BENCH_CPU_PROF_DIR=<dir>` makes the bench's child
// processes write one each; `node --cpu-prof` makes them anywhere): self time by file and by
// function over every profile, optionally only the samples between two offsets from each
// profile's start. Dependencies show as `dep:<package>@<version>`.
//
//   node apps/bench/scripts/cpuprofile-sum.mjs <dir> [--from S] [--to S] [--top N]
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string' } } })
const dir = positionals[0]
if (dir === undefined) { console.error('usage: cpuprofile-sum.mjs <dir> [--from S] [--to S] [--top N]'); process.exit(2) }
const from = Number(values.from ?? 0) * 1e6
const to = values.to === undefined ? Infinity : Number(values.to) * 1e6
const top = Number(values.top ?? 40)

const byFile = new Map()
const byFunction = new Map()
let total = 0
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v)
const files = readdirSync(dir).filter(f => f.endsWith('.cpuprofile'))
for (const f of files) {
  const p = JSON.parse(readFileSync(path.join(dir, f), 'utf8'))
  const nodes = new Map(p.nodes.map(n => [n.id, n.callFrame]))
  let t = 0
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0
    t += dt
    if (t < from || t >= to) continue
    const cf = nodes.get(p.samples[i])
    const file = cf.url.replace(/.*node_modules\/\.pnpm\/([^/]+)\/.*/, 'dep:$1').replace(/^file:\/\/.*?\/(packages|apps)\//, '$1/') || cf.functionName
    add(byFile, file, dt)
    add(byFunction, `${cf.functionName || '(anonymous)'} ${file}:${cf.lineNumber + 1}`, dt)
    total += dt
  }
}
const list = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${(v / 1e6).toFixed(1).padStart(8)} s ${(100 * v / total).toFixed(1).padStart(5)} %  ${k}`).join('\n')
console.log(`${files.length} profiles, ${(total / 1e6).toFixed(1)} s of samples\n\nby file\n${list(byFile)}\n\nby function\n${list(byFunction)}`)
