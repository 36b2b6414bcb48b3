/**
 * Runs the relay CLI (`node apps/relay/dist/cli.js`, built by `pnpm build`; built here if
 * missing) as a child process on port 0 and reads its address from the JSON `relay ready` line.
 *
 *   const relay = await spawnRelay({ chatDir })
 *   relay.http   // http://127.0.0.1:41234  (chat at /, /status, /healthz, /metrics)
 *   relay.ws     // ws://127.0.0.1:41234
 *   await relay.stop()  // SIGTERM; resolves with the exit code
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const cli = path.join(root, 'apps', 'relay', 'dist', 'cli.js')
const READY_TIMEOUT = 20_000
const STOP_TIMEOUT = 10_000

export interface RelayProcess {
  id: string
  http: string
  ws: string
  tcp: string
  /** Every stdout line so far (JSON log lines). */
  lines: string[]
  stderr: () => string
  /** SIGTERM, then resolves with the exit code (SIGKILL and rejects after 10 s). */
  stop: () => Promise<number | null>
  /** SIGKILL: no goodbye, no flush; resolves once the process is gone. */
  kill: () => Promise<void>
}

export async function spawnRelay (opts: { chatDir?: string, data?: string, args?: string[] } = {}): Promise<RelayProcess> {
  if (!existsSync(cli)) execFileSync('npx', ['tsc', '-b', 'apps/relay'], { cwd: root, stdio: 'inherit' })
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARSAY_')))
  const args = ['--port', '0', '--data', opts.data ?? ':memory:', ...(opts.chatDir === undefined ? [] : ['--chat-dir', opts.chatDir]), ...(opts.args ?? [])]
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<number | null>(resolve => child.once('close', (code) => { resolve(code) }))
  const ready = await new Promise<{ id: string, http: string, addresses: string[] }>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the relay printed no ready line within ${READY_TIMEOUT} ms:\n${lines.join('\n')}\n${stderr}`)) }, READY_TIMEOUT)
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      try {
        const parsed = JSON.parse(line) as { msg?: string, id: string, http: string, addresses: string[] }
        if (parsed.msg === 'relay ready') { clearTimeout(timer); resolve(parsed) }
      } catch { /* not JSON: kept in lines, checked by the caller */ }
    })
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`the relay exited (${code}) before it was ready:\n${lines.join('\n')}\n${stderr}`)) })
  })
  const find = (scheme: string): string => {
    const a = ready.addresses.find(x => x.startsWith(`${scheme}://`))
    if (a === undefined) throw new Error(`the relay has no ${scheme} address: ${JSON.stringify(ready.addresses)}`)
    return a
  }
  return {
    id: ready.id,
    http: ready.http,
    ws: find('ws'),
    tcp: find('tcp'),
    lines,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => { child.kill('SIGKILL') }, STOP_TIMEOUT)
      try { return await exited } finally { clearTimeout(timer) }
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited
    }
  }
}
