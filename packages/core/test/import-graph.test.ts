import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

// scripts/import-graph.mjs is what CI runs; loaded by URL so that the type-check of the tests
// does not need declarations for a plain .mjs script
type Check = (root?: string) => string[]
const script = new URL('../../../scripts/import-graph.mjs', import.meta.url).href
const { checkImports } = await import(script) as { checkImports: Check }
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

describe('import graph', () => {
  it('has no import cycle in any package\'s src, no Node built-in in core, and core\'s imports point down the layers', () => {
    expect(checkImports(root)).toEqual([])
  })

  const tmp = mkdtempSync(join(tmpdir(), 'hearsay-graph-'))
  afterAll(() => { rmSync(tmp, { recursive: true, force: true }) })
  const write = (path: string, text: string): void => { mkdirSync(dirname(join(tmp, path)), { recursive: true }); writeFileSync(join(tmp, path), text) }

  it('catches what it must: a type-only cycle, a node: import in core, an import up the layers', () => {
    write('packages/x/src/a.ts', "import type { B } from './b.js'\nexport type A = B\n")
    write('packages/x/src/b.ts', "import type { A } from './a.js'\nexport interface B { a?: A }\n")
    write('packages/core/src/util/fs.ts', "import { readFileSync } from 'node:fs'\nexport const r = readFileSync\n")
    write('packages/core/src/overlay/up.ts', "import type { N } from '../node/n.js'\nexport type U = N\n")
    write('packages/core/src/node/n.ts', 'export type N = 1\n')
    const problems = checkImports(tmp)
    expect(problems.some(p => p.startsWith('import cycle: packages/x/src/a.ts ↔ packages/x/src/b.ts'))).toBe(true)
    expect(problems.some(p => p.includes('util/fs.ts: Node built-in "node:fs"'))).toBe(true)
    expect(problems.some(p => p.includes('overlay/up.ts imports packages/core/src/node/n.ts'))).toBe(true)
    expect(problems).toHaveLength(3)
  })
})
