#!/usr/bin/env node
// The import graph of every package's and app's `src`, read with the TypeScript compiler's own
// pre-processor (`ts.preProcessFile`: static, type-only, `export … from` and dynamic imports all
// count as edges). Reports what CI refuses:
// - an import cycle anywhere (a strongly connected component of more than one file, or a self-import);
// - a `node:*` import (or a bare Node built-in) in @hearsay/core, which must run in browsers;
// - in packages/core/src, an import that points up the layers (util → wire → link → store →
//   overlay → services → node → testing; the root index.ts may import every layer).
// `node scripts/import-graph.mjs [root]` prints the problems and exits non-zero if there is one;
// packages/core/test/import-graph.test.ts runs `checkImports()` in the unit suite.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

/** The layers of packages/core/src, lowest first: a file may import its own layer and those below. */
export const CORE_LAYERS = ['util', 'wire', 'link', 'store', 'overlay', 'services', 'node', 'testing']

const builtins = new Set(builtinModules.filter(m => !m.startsWith('_')))

function sourceFiles (root) {
  const files = []
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f)
      if (statSync(p).isDirectory()) { if (f !== 'node_modules' && f !== 'dist') walk(p) } else if (/\.(ts|tsx|mts|cts)$/.test(f) && !/\.d\.[mc]?ts$/.test(f)) files.push(p)
    }
  }
  for (const top of ['packages', 'apps']) {
    const t = join(root, top)
    if (!existsSync(t)) continue
    for (const pkg of readdirSync(t)) { const s = join(t, pkg, 'src'); if (existsSync(s)) walk(s) }
  }
  return files
}

function resolveRelative (from, spec, known) {
  const base = resolve(dirname(from), spec)
  for (const c of [base.replace(/\.([mc]?)js$/, '.$1ts'), base.replace(/\.js$/, '.tsx'), base + '.ts', base + '.tsx', join(base, 'index.ts'), base]) if (known.has(c)) return c
  return undefined
}

/** Every edge of the graph: file → the files (of the set) it imports, and its bare specifiers. */
export function readGraph (root) {
  const files = sourceFiles(root)
  const known = new Set(files)
  const edges = new Map()
  const bare = new Map()
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true)
    const out = new Set()
    const ext = []
    for (const { fileName } of info.importedFiles) {
      if (fileName.startsWith('.')) { const t = resolveRelative(f, fileName, known); if (t !== undefined) out.add(t) } else ext.push(fileName)
    }
    edges.set(f, out)
    bare.set(f, ext)
  }
  return { files, edges, bare }
}

/** Tarjan's strongly connected components of more than one file (or a file importing itself). */
export function findCycles (files, edges) {
  let index = 0
  const stack = []
  const onStack = new Set()
  const idx = new Map()
  const low = new Map()
  const cycles = []
  const strong = (v) => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); onStack.add(v)
    for (const w of edges.get(v)) {
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))) } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
    }
    if (low.get(v) === idx.get(v)) {
      const c = []
      let w
      do { w = stack.pop(); onStack.delete(w); c.push(w) } while (w !== v)
      if (c.length > 1 || edges.get(v).has(v)) cycles.push(c)
    }
  }
  for (const f of files) if (!idx.has(f)) strong(f)
  return cycles
}

/** The problems CI fails on, as readable lines (empty: all good). */
export function checkImports (root = resolve(dirname(fileURLToPath(import.meta.url)), '..')) {
  const { files, edges, bare } = readGraph(root)
  const rel = (f) => relative(root, f).split(sep).join('/')
  const problems = []
  for (const c of findCycles(files, edges)) problems.push(`import cycle: ${c.map(rel).sort().join(' ↔ ')}`)
  const core = join(root, 'packages', 'core', 'src') + sep
  const layerOf = (f) => {
    const first = f.slice(core.length).split(sep)[0]
    return CORE_LAYERS.indexOf(first)
  }
  for (const f of files) {
    if (!f.startsWith(core)) continue
    for (const spec of bare.get(f)) {
      if (spec.startsWith('node:') || builtins.has(spec.split('/')[0])) problems.push(`${rel(f)}: Node built-in "${spec}" in @hearsay/core (it runs in browsers)`)
    }
    const from = layerOf(f)
    if (from === -1) continue // the package's entry (index.ts) sits above every layer
    for (const t of edges.get(f)) {
      if (!t.startsWith(core)) continue
      const to = layerOf(t)
      if (to === -1 || to > from) problems.push(`${rel(f)} imports ${rel(t)}: ${CORE_LAYERS[from]}/ may use only ${CORE_LAYERS.slice(0, from + 1).join(', ')}`)
    }
  }
  return problems
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = checkImports(process.argv[2] === undefined ? undefined : resolve(process.argv[2]))
  for (const p of problems) console.log(p)
  console.log(problems.length === 0 ? 'import graph: no cycle, no Node built-in in core, every core import points down the layers' : `import graph: ${problems.length} problem(s)`)
  process.exitCode = problems.length === 0 ? 0 : 1
}
