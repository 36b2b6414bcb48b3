/**
 * `pnpm bench:link`: the secure hearsay link over ws and tcp against raw `ws` and raw
 * `node:net` in the same run (src/link.ts does the measuring; `pnpm bench` runs the same code),
 * with AES-256-GCM (Node's default) and XSalsa20-Poly1305 (browsers'), at 64 B, 1 KiB, 16 KiB and
 * 64 KiB. `LINK_BENCH_MS` sets the window per measurement (default 3000), `LINK_BENCH_REPEATS`
 * how often each is measured (default 3: median, min and max, ratios per repeat),
 * `LINK_BENCH_PAYLOADS` the payloads (comma-separated bytes). Writes results/link.json and
 * results/link.md.
 */
import { writeFileSync, mkdirSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { linkMarkdown, runLinkBench } from './link.js'

const loadBefore = loadavg()
const result = await runLinkBench({
  durationMs: Number(process.env.LINK_BENCH_MS ?? 3000),
  repeats: Number(process.env.LINK_BENCH_REPEATS ?? 3),
  payloads: (process.env.LINK_BENCH_PAYLOADS ?? '64,1024,16384,65536').split(',').map(Number),
  xsalsa20: true,
  log: (l) => { console.error(l) }
})
const { durationMs, ...rest } = result
mkdirSync(new URL('../results/', import.meta.url), { recursive: true })
const machine = { node: process.version, cpus: cpus().length, durationMs, loadAverage: { before: loadBefore, after: loadavg() } }
writeFileSync(new URL('../results/link.json', import.meta.url), JSON.stringify({ machine, ...rest }, null, 2) + '\n')
const fmt = (l: number[]): string => l.map(x => x.toFixed(2)).join(' / ')
const md = `\`pnpm bench:link\` (${result.durationMs} ms per measurement), Node ${process.version}, ${cpus().length} CPUs; load average (1 / 5 / 15 min) ${fmt(loadBefore)} before, ${fmt(loadavg())} after.\n\n` + linkMarkdown(result)
writeFileSync(new URL('../results/link.md', import.meta.url), md)
console.log(md)
