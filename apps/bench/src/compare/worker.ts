/**
 * One measurement in a fresh process, so that RSS, CPU time and heap belong to one system
 * only: `fork(worker.js)`, send a `WorkerJob`, receive a `WorkerReply`, and the process exits.
 */
import { pathToFileURL } from 'node:url'
import { runLinkBench } from '../link.js'
import type { LinkBenchOptions, LinkResult } from '../link.js'
import { runSystem } from './driver.js'
import type { DriverConfig, SystemRun } from './driver.js'
import { systemById } from './systems/index.js'
import { randomTopology } from './topology.js'

export type WorkerJob =
  | { kind: 'system', system: string, nodes: number, seed: number, driver: DriverConfig }
  | { kind: 'link', link: Omit<LinkBenchOptions, 'log'> }

export type WorkerReply =
  | { ok: true, kind: 'system', run: SystemRun }
  | { ok: true, kind: 'link', link: LinkResult }
  | { ok: false, error: string }

export async function runJob (job: WorkerJob): Promise<WorkerReply> {
  if (job.kind === 'link') return { ok: true, kind: 'link', link: await runLinkBench(job.link) }
  const topo = randomTopology(job.nodes, job.seed)
  return { ok: true, kind: 'system', run: await runSystem(systemById(job.system), topo, job.driver) }
}

// only as the entry of a forked child: imported elsewhere (the smoke test runs in a vitest
// fork, which has an IPC channel of its own), this module must not touch process messages
if (process.send !== undefined && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.once('message', (job: WorkerJob) => {
    runJob(job).then(
      (reply) => { process.send!(reply, () => { process.exit(0) }) },
      (err: unknown) => { process.send!({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => { process.exit(1) }) }
    )
  })
}
