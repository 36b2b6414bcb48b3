/**
 * coalescent's `minPeers` / `maxPeers`: "the minimum (maximum) number of seeds we should
 * actively attempt to reach". The app's hearsay node runs without the overlay (coalescent's
 * links are point to point, so that tattletale, smartrelay and `broadcast` keep their meaning:
 * the peers this app is linked to), so this small dial policy keeps it linked: while fewer than
 * `minPeers` peers are connected, it dials seeds that are not, never more than would take it
 * past `maxPeers`; a seed that fails waits 1 s, doubling to 60 s, ±50 % jitter.
 */
import { backoffDelay, SelfDialError } from '@hearsay/core'
import type { HearsayNode, PeerId } from '@hearsay/core'
import type { CoalescentLogger } from './options.js'

const RETRY_BASE_MS = 1000
const RETRY_MAX_MS = 60_000
const TICK_MS = 500

interface SeedState { address: string, failures: number, nextAt: number, dialling: boolean, peerId?: PeerId, self: boolean }

export class SeedKeeper {
  readonly #node: HearsayNode
  readonly #seeds: SeedState[]
  readonly #min: number
  readonly #max: number
  readonly #logger: CoalescentLogger
  #cancel: (() => void) | undefined

  constructor (node: HearsayNode, seeds: string[], min: number, max: number, logger: CoalescentLogger) {
    this.#node = node
    this.#seeds = seeds.map(address => ({ address, failures: 0, nextAt: 0, dialling: false, self: false }))
    this.#min = min
    this.#max = max
    this.#logger = logger
  }

  /** Dials at once, then checks every 500 ms; the node's timer, so `stop()` cancels it. */
  start (): void {
    if (this.#seeds.length === 0) return
    this.tick()
    this.#cancel = this.#node.every(TICK_MS, () => { this.tick() })
  }

  stop (): void { this.#cancel?.(); this.#cancel = undefined }

  /** One round of the policy; also called when a peer leaves. */
  tick (): void {
    if (this.#node.status !== 'running') return
    const connected = this.#node.peers().length
    const dialling = this.#seeds.filter(s => s.dialling).length
    // minPeers: "the minimum number of seeds we should actively attempt to reach" — at start
    // (nothing connected) this dials up to maxPeers seeds at once
    if (connected + dialling >= this.#min && connected > 0) return
    let room = this.#max - connected - dialling
    const now = Date.now()
    for (const seed of this.#seeds) {
      if (room <= 0) break
      if (seed.self || seed.dialling || now < seed.nextAt) continue
      if (seed.peerId !== undefined && this.#node.getPeer(seed.peerId) !== undefined) continue
      room--
      this.#dial(seed)
    }
  }

  #dial (seed: SeedState): void {
    seed.dialling = true
    this.#node.dial(seed.address).then((peer) => {
      seed.peerId = peer.id
      seed.failures = 0
    }, (err: unknown) => {
      if (err instanceof SelfDialError) { seed.self = true; return }
      seed.failures++
      const delay = backoffDelay(seed.failures, RETRY_BASE_MS, RETRY_MAX_MS) * (0.5 + Math.random())
      seed.nextAt = Date.now() + delay
      if (this.#node.status === 'running') this.#logger.warn(`seed ${seed.address} unreachable, retrying in ${Math.round(delay)} ms:`, err instanceof Error ? err.message : err)
    }).finally(() => { seed.dialling = false })
  }
}
