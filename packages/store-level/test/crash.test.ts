import { spawn } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { levelStore } from '../src/index.js'
import { tempDirs } from './helpers.js'

const here = path.dirname(fileURLToPath(import.meta.url))
// inside the package so that the child resolves `level` (kept external: it loads a native addon)
const buildDir = path.join(here, '..', 'node_modules', '.cache', `crash-${process.pid}`)
const childJs = path.join(buildDir, 'crash-child.mjs')
const tmp = tempDirs('hearsay-crash-')

beforeAll(async () => {
  mkdirSync(buildDir, { recursive: true })
  await esbuild.build({
    entryPoints: [path.join(here, 'fixtures', 'crash-child.ts')],
    outfile: childJs,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    external: ['level', 'msgpackr-extract'],
    logLevel: 'silent'
  })
})
afterAll(() => {
  rmSync(buildDir, { recursive: true, force: true })
  tmp.cleanup()
})

/** Runs the child until it has acknowledged `acks` batches, then SIGKILLs it mid-write. Returns the last acknowledged batch. */
async function writeUntilKilled (location: string, first: number, acks: number): Promise<number> {
  const child = spawn(process.execPath, [childJs, location, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let last = -1
  let count = 0
  let buffered = ''
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', () => { reject(new Error(`child exited before ${acks} acks: ${stderr}`)) })
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const m = /^ack (\d+)$/.exec(line)
        if (m === null) continue
        last = Number(m[1])
        if (++count === acks) {
          child.kill('SIGKILL')
          resolve()
        }
      }
    })
  })
  // acks still in the pipe were sent before the kill: they count too
  await exited.then(() => {
    for (const line of buffered.split('\n')) {
      const m = /^ack (\d+)$/.exec(line)
      if (m !== null) last = Number(m[1])
    }
  })
  expect((await exited).signal).toBe('SIGKILL')
  return last
}

async function verify (location: string, first: number, last: number): Promise<number> {
  const s = levelStore({ location })
  try {
    await s.open()
    const seen = new Set<string>()
    for await (const row of s.known()) seen.add(row.address)
    for (let n = first; n <= last; n++) {
      for (let j = 0; j < 20; j++) {
        if (!seen.has(`tcp://10.${n}.${j}:1`)) throw new Error(`acknowledged batch ${n} is missing tcp://10.${n}.${j}:1`)
      }
    }
    const counter = await s.getStats('tcp://counter:1')
    expect(s.corrupt).toBe(0)
    expect(await s.getIdentity()).toEqual(new Uint8Array(64).fill(9))
    // the store still takes writes after recovery
    await s.record('tcp://counter:1', { type: 'rx', count: 1 })
    return counter.nodes.tx
  } finally {
    await s.close()
  }
}

describe('levelStore: crash safety', () => {
  it('a child killed with SIGKILL mid-writes leaves a store that reopens with every acknowledged batch, twice', async () => {
    const location = tmp.dir()
    const last1 = await writeUntilKilled(location, 0, 500)
    expect(last1).toBeGreaterThanOrEqual(499)
    const tx1 = await verify(location, 0, last1)
    expect(tx1).toBeGreaterThanOrEqual(last1 + 1)
    // the recovered database crashes again and recovers again
    const last2 = await writeUntilKilled(location, last1 + 1, 500)
    const tx2 = await verify(location, 0, last2)
    expect(tx2).toBeGreaterThanOrEqual(last2 + 1)
  })
})
