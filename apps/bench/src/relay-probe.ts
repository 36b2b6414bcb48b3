/**
 * Preloaded into the relay process by the relay load and kill benches (`node --import`): answers
 * the bench's `{ probe: 'mem' }` messages over IPC with the process's memory and CPU, after two
 * full collections when asked (the relay runs with `--expose-gc` then), and the size of each V8
 * heap space, and the event loop's delay since the last sample that asked to `mark`. It changes nothing else
 * and does not keep the relay alive. With HEARSAY_PROBE_SNAPSHOTS=<dir>, each sample after full
 * collections also writes a heap snapshot there.
 */
import v8 from 'node:v8'
import { monitorEventLoopDelay } from 'node:perf_hooks'

interface Ask { probe?: string, n?: number, gc?: boolean, mark?: boolean }

/** The relay's event-loop delay since the last mark: how long work in the relay itself held it up. */
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()

const send = process.send?.bind(process)
if (send !== undefined) {
  process.on('message', (m: Ask) => {
    if (m?.probe !== 'mem') return
    const gc = (globalThis as { gc?: () => void }).gc
    if (m.gc === true && gc !== undefined) { gc(); gc() }
    // what the heap holds, to compare two samples in DevTools' Comparison view (or heap-diff.ts)
    if (m.gc === true && process.env.HEARSAY_PROBE_SNAPSHOTS !== undefined) {
      v8.writeHeapSnapshot(`${process.env.HEARSAY_PROBE_SNAPSHOTS}/relay-${String(process.pid)}-${String(m.n ?? 0)}.heapsnapshot`)
    }
    // the V8 heap's spaces (bytes reserved each): what a heap that does not shrink is made of
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map(s => [s.space_name, s.space_size]))
    const loopDelayMs = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 }
    if (m.mark === true) loop.reset()
    send({ probe: 'mem', n: m.n, ...process.memoryUsage(), cpu: process.cpuUsage(), spaces, loopDelayMs })
  })
  // the channel must not hold the relay open after its own shutdown
  process.channel?.unref()
}
