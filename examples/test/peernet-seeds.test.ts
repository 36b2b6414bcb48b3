/**
 * peernet's README as one program (examples/seeds/peernet-readme.mjs, changed only in its import
 * lines and marked test glue), run twice as child processes on @hearsay/compat/peernet's dist/,
 * each with a LevelDB database `./peer.db` in a temporary working directory: a server attached
 * to its HTTP server through websocket-stream and `pn.createStream()`, and a fresh node that
 * `save()`s the server's address, connects by itself, announces and gets the reply back, reads
 * `getStats()` and `known()`.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SeedProgram, seedsDir } from './seed-program.js'

const root = path.resolve(seedsDir, '..', '..')
const cleanup: Array<() => unknown> = []

beforeAll(() => {
  if (!existsSync(path.join(root, 'packages/compat/dist/peernet/index.js'))) execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' })
}, 180_000)

afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f() })

function workdir (): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearsay-peernet-seed-'))
  cleanup.push(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

function program (file: string, args: string[], cwd: string): SeedProgram {
  const p = new SeedProgram(file, args, { cwd })
  cleanup.push(() => { p.kill() })
  return p
}

describe('peernet README programs on @hearsay/compat/peernet', () => {
  it('save() then automatic connect, announce with a reply streaming back, getStats(), known()', async () => {
    const server = program('peernet-readme.mjs', ['--port', '0'], workdir())
    const [, port] = await server.line(/^listening on (\d+)$/)
    const address = `ws://127.0.0.1:${port!}`

    const client = program('peernet-readme.mjs', ['--port', '0', address], workdir())
    await client.line(/^listening on \d+$/)
    // "Peernet will attempt to connect to peers automatically from its database"
    await client.line(new RegExp(`^connected to ${address}$`), 20_000)
    // the server's pn.on('request') saw the announcement and its req.reply() came back as a row
    await server.line(/^request hello: who is there\? \(1 hops\)$/)
    await client.line(new RegExp(`^reply: hello from ${port!} \\(1 hops, type hello\\)$`))
    const [, stats] = await client.line(new RegExp(`^stats ${address}: (.*)$`))
    const parsed = JSON.parse(stats!) as { connections: { ok: number, fail: number }, nodes: { rx: number, tx: number } }
    expect(parsed.connections.ok).toBeGreaterThanOrEqual(1)
    expect(parsed.connections.fail).toBe(0)
    expect(parsed.nodes).toEqual({ rx: expect.any(Number), tx: expect.any(Number) })
    await client.line(new RegExp(`^known: ${address}$`))
    const clientExit = await client.exited
    expect(clientExit, client.output).toEqual({ code: 0, signal: null })
    expect(client.lines.at(-1)).toBe('closed')

    // debug: true prints diagnostics on stderr
    expect(server.stderr).toContain('peernet')
    const serverExit = await server.stop()
    expect(serverExit, server.output).toEqual({ code: 0, signal: null })
    expect(server.lines.at(-1)).toBe('closed')
  }, 60_000)
})
