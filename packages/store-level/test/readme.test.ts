import { mkdirSync, existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { tempDirs } from './helpers.js'
import { runReadmeExample } from '../../../test-support/readme-example.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const tmp = tempDirs('hearsay-readme-')
afterAll(() => { tmp.cleanup() })

it('the README example runs as written', async () => {
  const work = tmp.dir()
  mkdirSync(work)
  const logs = await runReadmeExample({ testDir: here, workDir: work, importFrom: '@hearsay/store-level', importTo: '../src/index.js' })
  expect(logs[0]![0]).toMatchObject({ connections: { ok: 1, fail: 0 }, nodes: { rx: 0, tx: 0 }, rtt: 12 })
  expect(logs.slice(1).map(l => l[0])).toEqual(['tcp://127.0.0.1:4001', 'ws://127.0.0.1:4002'])
  expect(logs[2]![2]).toEqual({ ok: 0, fail: 1 })
  expect(existsSync(path.join(work, 'peers'))).toBe(true)
})
