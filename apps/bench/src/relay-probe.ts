/**
 * Preloaded into the relay process by the relay load and kill benches (`node --import`): answers
 * the bench's `{ probe: 'mem' }` messages over IPC with the process's memory and CPU, after two
 * full collections when asked (the relay runs with `--expose-gc` then), and the size of each V8
 * heap space. It changes nothing else
 * and does not keep the relay alive.
 */
import v8 from 'node:v8'

interface Ask { probe?: string, n?: number, gc?: boolean }

const send = process.send?.bind(process)
if (send !== undefined) {
  process.on('message', (m: Ask) => {
    if (m?.probe !== 'mem') return
    const gc = (globalThis as { gc?: () => void }).gc
    if (m.gc === true && gc !== undefined) { gc(); gc() }
    // the V8 heap's spaces (bytes reserved each): what a heap that does not shrink is made of
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map(s => [s.space_name, s.space_size]))
    send({ probe: 'mem', n: m.n, ...process.memoryUsage(), cpu: process.cpuUsage(), spaces })
  })
  // the channel must not hold the relay open after its own shutdown
  process.channel?.unref()
}
