import type { BenchSystem } from '../system.js'
import { gossipsubSystem } from './gossipsub.js'
import { hearsaySystem } from './hearsay.js'
import { wsFloodSystem } from './ws-flood.js'

/**
 * Every system the comparison knows, by id, in report order. `pnpm bench` runs all but
 * `hearsay-flood-uncoalesced` (`--systems` picks any).
 */
export const SYSTEMS: Readonly<Record<string, BenchSystem>> = Object.freeze({
  'hearsay-flood': hearsaySystem('flood'),
  'hearsay-flood-uncoalesced': hearsaySystem('flood', false),
  'hearsay-plumtree': hearsaySystem('plumtree'),
  gossipsub: gossipsubSystem(false),
  'gossipsub-signed': gossipsubSystem(true),
  'ws-flood': wsFloodSystem
})

export function systemById (id: string): BenchSystem {
  const s = SYSTEMS[id]
  if (s === undefined) throw new TypeError(`unknown system "${id}"; known: ${Object.keys(SYSTEMS).join(', ')}`)
  return s
}
