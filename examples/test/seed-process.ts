/**
 * Runs one of the seeds' programs (examples/seeds/*.mjs) as a child process, as its README
 * runs it, on the built dist/ (a user's view). Waits for lines, not for time; a bounded run
 * ends with SIGINT (each program stops its nodes on it) and must then exit 0 by itself.
 */
import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const root = path.resolve(examples, '..')

/** Builds @hearsay/compat (and what it needs) when a fresh checkout has no dist/ yet; `npm test` builds first. */
export function ensureBuilt (entries: string[]): void {
  if (entries.some(e => !existsSync(path.join(root, 'packages/compat/dist', e, 'index.js')))) {
    execFileSync('npx', ['tsc', '-b', 'packages/compat'], { cwd: root, stdio: 'inherit' })
  }
}

export class SeedProcess {
  readonly child: ChildProcessWithoutNullStreams
  stdout = ''
  stderr = ''
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  #waiters = new Set<() => void>()

  constructor (readonly name: string, program: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, [path.join('seeds', program)], { cwd: examples, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdout.on('data', (d: Buffer) => { this.stdout += d.toString(); this.#wake() })
    this.child.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); this.#wake() })
    this.exited = new Promise(resolve => { this.child.on('exit', (code, signal) => { this.#wake(); resolve({ code, signal }) }) })
  }

  /** Occurrences of `text` in stdout. */
  count (text: string): number { return this.stdout.split(text).length - 1 }

  /** Resolves once `check(stdout)` holds; rejects after `ms`, or at once if the process exits first, with what it printed. */
  async until (what: string, check: (out: string) => boolean, ms = 30_000): Promise<void> {
    let exited = false
    void this.exited.then(() => { exited = true })
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string): void => {
        this.#waiters.delete(test)
        clearTimeout(timer)
        reject(new Error(`${this.name}: ${why} waiting for ${what}\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`))
      }
      const test = (): void => {
        if (check(this.stdout)) { this.#waiters.delete(test); clearTimeout(timer); resolve(); return }
        if (exited) fail('exited')
      }
      const timer = setTimeout(() => { fail(`no match after ${ms} ms`) }, ms)
      this.#waiters.add(test)
      test()
    })
  }

  /** Ends the bounded run: SIGINT, stdin closed; the process must exit by itself. */
  async finish (ms = 15_000): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGINT')
      this.child.stdin.end()
    }
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, ms)
    const r = await this.exited
    clearTimeout(timer)
    return r
  }

  kill (): void { this.child.kill('SIGKILL') }

  #wake (): void { for (const w of [...this.#waiters]) w() }
}

/** `n` ports free right now on 127.0.0.1 (the OS picks them; the programs bind them a moment later). */
export async function freePorts (n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, async () => await new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { resolve(s) })
  })))
  const ports = servers.map(s => (s.address() as net.AddressInfo).port)
  await Promise.all(servers.map(async s => await new Promise(resolve => { s.close(resolve) })))
  return ports
}

/** A base port whose next `n` ports are free (programs that count ports up from one, as telepathine's do). */
export async function freeRun (n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000)
    const ok = await Promise.all(Array.from({ length: n }, async (_v, i) => await new Promise<boolean>(resolve => {
      const s = net.createServer()
      s.once('error', () => { resolve(false) })
      s.listen(base + i, '0.0.0.0', () => { s.close(() => { resolve(true) }) })
    })))
    if (ok.every(Boolean)) return base
  }
  throw new Error(`no run of ${n} free ports found`)
}
