import type { Topology } from './topology.js'

/**
 * What the comparison driver needs from a system under test: n nodes in this process,
 * connected along the topology's edges, that can publish to all and report deliveries.
 */
export interface SystemHandle {
  /** Sends `payload` from node `i` to every other node (the system's own broadcast). */
  publish: (i: number, payload: Uint8Array) => void
  /** Bytes node `i` has queued on its links (the publisher's own backpressure), if known. */
  buffered: (i: number) => number
  /** Publishes the system refused or failed (asynchronously). */
  publishErrors: () => number
  /** Drop counters summed over all nodes (hearsay's `drops.*`), if the system counts them. */
  drops?: () => Record<string, number>
  stop: () => Promise<void>
}

export interface SystemStartOptions {
  topology: Topology
  /** Called once per message a node's application receives (never for its own messages). */
  onDeliver: (node: number, payload: Uint8Array) => void
  /** Wall-time limit for setup, ms. */
  timeoutMs: number
}

export interface BenchSystem {
  /** Short id used on the command line and in the JSON. */
  id: string
  /** What the report calls it. */
  label: string
  /** One line on how it is configured. */
  description: string
  start: (opts: SystemStartOptions) => Promise<SystemHandle>
}

/** Waits until `ready()` holds, polling; rejects with `what` after `timeoutMs`. */
export async function waitFor (ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = performance.now() + timeoutMs
  while (!ready()) {
    if (performance.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
