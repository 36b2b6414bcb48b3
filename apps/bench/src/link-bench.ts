/**
 * `pnpm bench:link`: the secure hearsay link over ws and tcp against raw `ws` and raw
 * `node:net` in the same run (src/link.ts does the measuring; `pnpm bench` runs the same code).
 * `LINK_BENCH_MS` sets the window per measurement (default 3000), `LINK_BENCH_REPEATS` how often
 * each is measured (default 1; best rate and median CPU kept). Writes results/link.json and
 * results/link.md.
 */
import { writeFileSync, mkdirSync } from 'node:fs'
import { cpus } from 'node:os'
import { linkMarkdown, runLinkBench } from './link.js'

const result = await runLinkBench({
  durationMs: Number(process.env.LINK_BENCH_MS ?? 3000),
  repeats: Number(process.env.LINK_BENCH_REPEATS ?? 1),
  log: (l) => { console.error(l) }
})
const { durationMs, ...rest } = result
mkdirSync(new URL('../results/', import.meta.url), { recursive: true })
writeFileSync(new URL('../results/link.json', import.meta.url), JSON.stringify({ machine: { node: process.version, cpus: cpus().length, durationMs }, ...rest }, null, 2) + '\n')
const md = linkMarkdown(result)
writeFileSync(new URL('../results/link.md', import.meta.url), md)
console.log(md)
