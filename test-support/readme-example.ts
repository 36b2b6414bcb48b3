import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Runs the first ```js block under "## Example" of a package README as written, with its
 * package import pointed at the package source, inside `workDir`. Returns what it logged.
 * Packages use it to keep their README examples honest.
 */
export async function runReadmeExample (o: {
  /** The package's test folder (the README is one level up; the generated file goes here). */
  testDir: string
  workDir: string
  /** The import specifier the README uses, e.g. `'hearsay'`. */
  importFrom: string
  /** What to import instead, relative to `testDir`, e.g. `'../src/index.node.js'`. */
  importTo: string
}): Promise<unknown[][]> {
  const readme = readFileSync(path.join(o.testDir, '..', 'README.md'), 'utf8')
  const code = /## Example[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1]
  if (code === undefined) throw new Error('the README has no ```js block under "## Example"')
  const file = path.join(o.testDir, `readme-example-${process.pid}.generated.ts`)
  writeFileSync(file, `// generated from README.md for a test; deleted after it\n${code.replaceAll(`from '${o.importFrom}'`, `from '${o.importTo}'`)}`)
  const cwd = process.cwd()
  const log = console.log
  const logs: unknown[][] = []
  try {
    process.chdir(o.workDir)
    console.log = (...args: unknown[]) => { logs.push(args) }
    await import(/* @vite-ignore */ file)
  } finally {
    console.log = log
    process.chdir(cwd)
    rmSync(file, { force: true })
  }
  return logs
}
