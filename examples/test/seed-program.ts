/**
 * A seed's example program (examples/seeds/*.mjs) run as a child process on the built dist/, as a
 * user would run it: its stdout lines, waits for a line with a timeout (never a fixed sleep),
 * and a stop through stdin (the programs' test glue ends them when stdin closes). Created for the
 * coalescent and peernet seed tests; any seed test may use it.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const seedsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'seeds')

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export class SeedProgram {
  readonly lines: string[] = []
  stderr = ''
  readonly exited: Promise<Exit>
  readonly #child: ChildProcess
  readonly #waiters = new Set<() => void>()
  #partial = ''
  #exit: Exit | undefined

  constructor (readonly file: string, args: string[] = [], options: { cwd?: string } = {}) {
    this.#child = spawn(process.execPath, [path.join(seedsDir, file), ...args], { cwd: options.cwd ?? seedsDir, stdio: ['pipe', 'pipe', 'pipe'] })
    this.#child.stdout!.on('data', (d: Buffer) => {
      const parts = (this.#partial + d.toString()).split('\n')
      this.#partial = parts.pop() ?? ''
      this.lines.push(...parts)
      for (const w of [...this.#waiters]) w()
    })
    this.#child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString() })
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#exit = { code, signal }
        if (this.#partial.length > 0) this.lines.push(this.#partial)
        resolve(this.#exit)
        for (const w of [...this.#waiters]) w()
      })
    })
  }

  /** What it printed, for failure messages. */
  get output (): string { return `${this.file} stdout:\n${this.lines.join('\n')}\nstderr (last 3000 chars):\n${this.stderr.slice(-3000)}` }

  /** The first stdout line (printed so far or later) that matches, or a rejection on timeout or exit. */
  async line (pattern: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
    return (await this.linesMatching(pattern, 1, ms))[0]!
  }

  /** The first `n` stdout lines (printed so far or later) that match, or a rejection on timeout or exit. */
  async linesMatching (pattern: RegExp, n: number, ms = 15_000): Promise<RegExpMatchArray[]> {
    return await new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.lines.map(l => l.match(pattern)).filter((m): m is RegExpMatchArray => m !== null)
        if (found.length >= n) { done(); resolve(found.slice(0, n)); return }
        if (this.#exit !== undefined) { done(); reject(new Error(`${this.file} exited (${this.#exit.code ?? this.#exit.signal}) before printing ${String(pattern)}\n${this.output}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`${this.file}: no line ${String(pattern)} within ${ms} ms\n${this.output}`)) }, ms)
      const done = (): void => { clearTimeout(timer); this.#waiters.delete(check) }
      this.#waiters.add(check)
      check()
    })
  }

  /** Closes its stdin (the programs end themselves then) and waits for the exit. */
  async stop (ms = 15_000): Promise<Exit> {
    this.#child.stdin!.end()
    const timer = setTimeout(() => { this.#child.kill('SIGKILL') }, ms)
    try { return await this.exited } finally { clearTimeout(timer) }
  }

  /** Teardown: kills it if it still runs. */
  kill (): void { if (this.#exit === undefined) this.#child.kill('SIGKILL') }
}
