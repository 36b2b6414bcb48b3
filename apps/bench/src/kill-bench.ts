/**
 * `pnpm bench:kill`: failure injection with real processes (kill.ts): 20 node processes and the
 * relay, kill -9 of a third of them with the relay, delivery among the survivors, the relay's
 * return on the same port. `--nodes`, `--kill`, `--messages` change the sizes. Writes
 * results/kill.json and results/kill.md; exits 1 if a target was missed.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { machineInfo } from './compare/machine.js'
import { killMarkdown, runKillBench } from './kill.js'

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '20' }, kill: { type: 'string' }, messages: { type: 'string', default: '10' } } })
const machine = machineInfo()
const result = await runKillBench({
  nodes: Number(values.nodes),
  ...(values.kill === undefined ? {} : { kill: Number(values.kill) }),
  messages: Number(values.messages),
  log: (l) => { console.error(`kill: ${l}`) }
})
const dir = new URL('../results/', import.meta.url)
mkdirSync(dir, { recursive: true })
writeFileSync(new URL('kill.json', dir), JSON.stringify({ machine, ...result }, null, 2) + '\n')
const md = killMarkdown(result, machine)
writeFileSync(new URL('kill.md', dir), md)
console.log(md)
if (!result.pass.delivery || !result.pass.rejoin) process.exitCode = 1
