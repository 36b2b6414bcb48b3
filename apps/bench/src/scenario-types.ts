import type { BroadcastSummary, Mode, ScenarioName, SimConfig } from './sim.js'

// The types every scenario module shares, apart from scenarios.ts (which imports the scenario
// modules): kept here so that no import runs back up (scripts/import-graph.mjs fails on a cycle).

/** One line of a results file. Fields beyond the common ones depend on the scenario. */
export interface Row extends Partial<BroadcastSummary> {
  scenario: ScenarioName
  nodes: number
  mode: Mode
  seed: number
  /** Hop limit of the measured announces. */
  hopLimit: number
  /** Node options used (virtual ms); core's defaults are 10000 and 1000. */
  shuffleInterval: number
  heartbeatInterval: number
  /** Application services the nodes carried (rows without it: all four, `@hearsay/core`'s default then). */
  services?: string[]
  deliveryRatio: number
  rmr: number | null
  lastDeliveryHop: number
  /** Virtual ms simulated for this row's overlay (build included). */
  virtualSeconds: number
  /** Scheduler events per wall-clock second over this overlay's run (timing). */
  eventsPerSecond: number
  /** Peak resident set size of the process so far (timing). */
  peakRssBytes: number
  /** Wall-clock seconds of this overlay's run (timing). */
  wallSeconds: number
  [field: string]: unknown
}

export interface ScenarioOptions {
  nodes: number
  seed: number
  /** Modes to run, each on its own overlay built the same way. @default both */
  modes?: readonly Mode[]
  /** steady: broadcasts per mode; mass-failure, partition: broadcasts per measurement point. */
  broadcasts?: number
  /** steady: broadcasts for flood when it differs (flood at 10k is (degree − 1)× the traffic). */
  floodBroadcasts?: number
  /** steady: virtual ms between two broadcasts. @default 10 */
  spacingMs?: number
  /** steady: broadcasts come from this many random nodes (chosen once); 0 = each from a random live node. @default 0 */
  publishers?: number
  /** mass-failure: fractions killed. @default 0.1 … 0.9, 0.95 */
  fractions?: number[]
  /** mass-failure: measure after these many membership rounds. @default 0, 1, 2, 4 */
  rounds?: number[]
  /** churn: rounds. @default 100 */
  churnRounds?: number
  /** churn: fraction replaced per round. @default 0.05 */
  churnRate?: number
  /** failure-detector: frame loss. @default 0.1 */
  loss?: number
  /** failure-detector: fraction of nodes stalled 2–5 s. @default 0.05 */
  stallFraction?: number
  /** failure-detector: fraction of nodes that die silently. @default 0.02 */
  deadFraction?: number
  /** failure-detector: observation window, virtual ms. @default 60000 */
  windowMs?: number
  /** Overrides of the overlay configuration. */
  config?: Partial<Omit<SimConfig, 'nodes' | 'seed' | 'mode'>>
  log?: (line: string) => void
}
