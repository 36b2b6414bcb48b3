/**
 * Preloaded into the relay process by the relay load and kill benches (`node --import`): answers
 * the bench's `{ probe: 'mem' }` messages over IPC with the process's memory and CPU, after two
 * full collections when asked (the relay runs with `--expose-gc` then). It changes nothing else
 * and does not keep the relay alive.
 */
interface Ask { probe?: string, n?: number, gc?: boolean }

const send = process.send?.bind(process)
if (send !== undefined) {
  process.on('message', (m: Ask) => {
    if (m?.probe !== 'mem') return
    const gc = (globalThis as { gc?: () => void }).gc
    if (m.gc === true && gc !== undefined) { gc(); gc() }
    send({ probe: 'mem', n: m.n, ...process.memoryUsage(), cpu: process.cpuUsage() })
  })
  // the channel must not hold the relay open after its own shutdown
  process.channel?.unref()
}
