import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { tempDirs } from './helpers.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const tmp = tempDirs('hearsay-readme-')
afterAll(() => { tmp.cleanup() })

it('the README example runs as written', async () => {
  const readme = readFileSync(path.join(here, '..', 'README.md'), 'utf8')
  const code = /## Example[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1]
  expect(code).toBeDefined()
  const file = path.join(here, `readme-example-${process.pid}.generated.ts`)
  const work = tmp.dir()
  mkdirSync(work)
  const cwd = process.cwd()
  const logs: unknown[][] = []
  const log = console.log
  writeFileSync(file, `// generated from README.md by readme.test.ts; deleted after the test\n${code!.replace("from '@hearsay/store-level'", "from '../src/index.js'")}`)
  try {
    process.chdir(work)
    console.log = (...args: unknown[]) => { logs.push(args) }
    await import(/* @vite-ignore */ file)
  } finally {
    console.log = log
    process.chdir(cwd)
    rmSync(file, { force: true })
  }
  expect(logs[0]![0]).toMatchObject({ connections: { ok: 1, fail: 0 }, nodes: { rx: 0, tx: 0 }, rtt: 12 })
  expect(logs.slice(1).map(l => l[0])).toEqual(['tcp://127.0.0.1:4001', 'ws://127.0.0.1:4002'])
  expect(logs[2]![2]).toEqual({ ok: 0, fail: 1 })
  expect(existsSync(path.join(work, 'peers'))).toBe(true)
})
