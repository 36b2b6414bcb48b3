import type { Mode } from './sim.js'
import type { PagesOptions } from './scenario-pages.js'

/** The `pages` scenario's own flags, merged into sim-cli's parseArgs options. */
export const PAGES_FLAGS = {
  relays: { type: 'string' },
  variant: { type: 'string' },
  'join-rate': { type: 'string' },
  'relay-max-peers': { type: 'string' },
  'relay-step-back': { type: 'string' },
  'relay-forward-joins': { type: 'string' },
  'seeds-per-page': { type: 'string' },
  'gather-ms': { type: 'string' },
  'connect-ms': { type: 'string' },
  candidates: { type: 'string' },
  'reload-rate': { type: 'string' },
  'reload-minutes': { type: 'string' },
  'kill-ms': { type: 'string' },
  drain: { type: 'string' },
  'page-loss': { type: 'string' },
  phases: { type: 'string' }
} as const

export const PAGES_HELP = `
  pages scenario (--scenario pages; --nodes is the page count, --seed may be a list 1,2,3):
  --relays            relay counts, one overlay each (default 1,2,4)
  --variant           label of the core build measured, e.g. before / after (default current)
  --join-rate         pages started per virtual second in the join wave (default 100)
  --relay-max-peers   the relays' maxPeers (default 64, apps/relay's default)
  --relay-step-back   the relays' stepBackAbove: page links a relay settles at (default 16; 0 = off)
  --relay-forward-joins  the relays' maxForwardJoins: walk-end dials per newcomer (default 6, apps/relay's default; main's relays used 12)
  --seeds-per-page    relays each page has as seeds, drawn at random (default: all of them; a page JOINs through one, the others are its fallbacks)
  --gather-ms         ICE gathering: offer/answer to candidates, ms (default 50)
  --connect-ms        ICE checks + DTLS + SCTP after the answer, ms (default 150)
  --candidates        trickled candidates per side, one signal each (default 2)
  --broadcasts        steady broadcasts (default 30); --spacing ms between them (default 500)
  --limit             hop limit(s) of the measured broadcasts (default 32: node.broadcast()'s broadcastLimit);
                      a list (6,32) measures each in the steady phase, the first in the others
  --phases            phases after the wave (default steady,reloads,relay-killed)
  --drain             virtual ms each broadcast gets before it is measured (default 10000)
  --reload-rate       page reloads per page per minute (default 0.05); --reload-minutes (default 2)
  --kill-ms           virtual ms watched (and broadcast every 2 s) after the relay is killed (default 90000)
  --page-loss         frame loss from the end of the wave on: a stress lever for unanswered GRAFTs (default 0)
`

type Values = Partial<Record<keyof typeof PAGES_FLAGS | 'limit' | 'nodes' | 'seed' | 'modes' | 'broadcasts' | 'spacing' | 'node-options', string | undefined>>

/** Runs `--scenario pages` for every seed in `--seed` and writes results/pages.{json,md}. */
export async function runPagesCli (values: Values, out: string, log: (line: string) => void): Promise<string[]> {
  const [{ pagesScenario, PAGES_SCENARIO_DEFAULTS }, { writePagesResults }] = await Promise.all([import('./scenario-pages.js'), import('./pages-report.js')])
  const num = (name: string, v: string | undefined, min = 0): number | undefined => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!(Number.isFinite(n) && n >= min)) throw new TypeError(`--${name} must be a number >= ${min}`)
    return n
  }
  const list = (name: string, v: string | undefined): number[] | undefined => v?.split(',').map(x => num(name, x, 0)!)
  const config: PagesOptions['config'] = {}
  const set = <K extends keyof PagesOptions['config']>(k: K, v: PagesOptions['config'][K] | undefined): void => { if (v !== undefined) config[k] = v }
  set('joinRate', num('join-rate', values['join-rate'], 1))
  set('relayMaxPeers', num('relay-max-peers', values['relay-max-peers'], 1))
  set('relayStepBack', num('relay-step-back', values['relay-step-back'], 0))
  set('relayForwardJoins', num('relay-forward-joins', values['relay-forward-joins'], 0))
  set('seedsPerPage', num('seeds-per-page', values['seeds-per-page'], 1))
  set('gatherMs', num('gather-ms', values['gather-ms']))
  set('connectMs', num('connect-ms', values['connect-ms']))
  set('candidates', num('candidates', values.candidates))
  if (values['node-options'] !== undefined) config.nodeOptions = JSON.parse(values['node-options']) as PagesOptions['config']['nodeOptions']
  const mode = (values.modes ?? 'plumtree') as Mode
  const rows = []
  for (const seed of list('seed', values.seed) ?? [1]) {
    rows.push(...await pagesScenario({
      ...PAGES_SCENARIO_DEFAULTS,
      pages: num('nodes', values.nodes, 2) ?? 1000,
      seed,
      mode,
      relays: list('relays', values.relays) ?? PAGES_SCENARIO_DEFAULTS.relays,
      variant: values.variant ?? PAGES_SCENARIO_DEFAULTS.variant,
      broadcasts: num('broadcasts', values.broadcasts, 1) ?? PAGES_SCENARIO_DEFAULTS.broadcasts,
      spacingMs: num('spacing', values.spacing) ?? PAGES_SCENARIO_DEFAULTS.spacingMs,
      drainMs: num('drain', values.drain, 0) ?? PAGES_SCENARIO_DEFAULTS.drainMs,
      reloadRate: num('reload-rate', values['reload-rate']) ?? PAGES_SCENARIO_DEFAULTS.reloadRate,
      reloadMinutes: num('reload-minutes', values['reload-minutes']) ?? PAGES_SCENARIO_DEFAULTS.reloadMinutes,
      killMs: num('kill-ms', values['kill-ms'], 2000) ?? PAGES_SCENARIO_DEFAULTS.killMs,
      limit: list('limit', values.limit)?.[0] ?? PAGES_SCENARIO_DEFAULTS.limit,
      extraLimits: list('limit', values.limit)?.slice(1) ?? PAGES_SCENARIO_DEFAULTS.extraLimits,
      phases: values.phases?.split(',') ?? PAGES_SCENARIO_DEFAULTS.phases,
      loss: num('page-loss', values['page-loss']) ?? PAGES_SCENARIO_DEFAULTS.loss,
      config,
      log
    }))
  }
  const command = `pnpm bench:sim -- ${process.argv.slice(2).filter(a => a !== '--').join(' ')}`
  const files = writePagesResults(out, rows, command)
  return [files.json, files.md]
}
