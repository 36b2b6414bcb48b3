import { parseAddress } from '../link/address.js'
import { JOIN_QUEUE_DEFAULTS } from '../overlay/join-queue.js'
import { checkKnownKeys } from '../util/known-keys.js'
import { DEFAULT_ABUSE_LIMITS, DEFAULT_LIMITS } from '../util/limits.js'
import type { NodeOptions } from './options.js'

/**
 * `createNode()`'s options are checked when the node is made: an unknown name or a wrong type
 * throws `TypeError` naming it. Options that only looked accepted (smokesignal's `port`, a seed as
 * `{ port, address }`) used to leave a node that listened on nothing, without a word.
 */

/** What each kind of value must be (a kind letter per option below keeps this in browser bundles small). */
const KINDS: Record<string, [test: (v: unknown) => boolean, wanted: string]> = {
  n: [(v) => typeof v === 'number' && v >= 0, 'a number ≥ 0'],
  N: [(v) => typeof v === 'number' && v >= 1, 'a number ≥ 1'],
  i: [(v) => Number.isInteger(v) && (v as number) >= 0, 'an integer ≥ 0'],
  I: [(v) => Number.isInteger(v) && (v as number) >= 1, 'an integer ≥ 1'],
  b: [(v) => typeof v === 'boolean', 'a boolean'],
  o: [(v) => v !== null && typeof v === 'object' && !Array.isArray(v), 'an object'],
  a: [Array.isArray, 'an array'],
  S: [(v) => Array.isArray(v) && v.every(s => typeof s === 'string'), 'an array of address strings'],
  s: [(v) => typeof v === 'string' && v !== '', 'a non-empty string'],
  k: [(v) => typeof v === 'string' || v instanceof Uint8Array, 'a string or a Uint8Array'],
  l: [(v) => v !== null && (typeof v === 'object' || typeof v === 'function'), 'an object with some of trace, debug, info, warn, error, fatal (console works)'],
  m: [(v) => v === 'plumtree' || v === 'flood' || (v !== null && typeof v === 'object' && (v as { mode?: unknown }).mode === 'flood' && typeof (v as { create?: unknown }).create === 'function'), "'plumtree', 'flood' or flood()"],
  f: [(v) => typeof v === 'function', 'a function (e.g. overlaySignalling())'],
  p: [(v) => v === false || typeof v === 'function', 'false or pageLifecycle() (true: createNode of @hearsay/core or hearsay)']
}

/** Every option of `NodeOptions` and its kind; the type below makes a new option fail to compile until it is listed. */
const KIND_OF: Record<keyof NodeOptions, string> = {
  transports: 'a', listen: 'S', seeds: 'a', store: 'o', closeStore: 'b', statsFlushInterval: 'n', statsMaxBatch: 'I',
  purgeInterval: 'n', purgeMinFailures: 'i', purgeMaxSuccessRatio: 'n', maxStoredPeers: 'i', rttInterval: 'n',
  identity: 'o', networkKey: 'k', logger: 'l', limits: 'o', abuse: 'o', handshakeTimeout: 'N', dialTimeout: 'N',
  defaultProtocol: 's', duplicateGraceMs: 'n', clock: 'o', random: 'o', overlay: 'b', minPeers: 'i', maxPeers: 'I', stepBackAbove: 'i', maxForwardJoins: 'i',
  passiveSize: 'i', shuffleInterval: 'N', heartbeatInterval: 'N', phiThreshold: 'n', pausedToleranceMs: 'n', pageLifecycle: 'p', rejoinDelay: 'N', rejoinMaxDelay: 'N',
  healInterval: 'n', announceAddresses: 'S', broadcast: 'm', announceLimit: 'i', broadcastLimit: 'i', announceTimeout: 'n', announceRoutes: 'i',
  plumtree: 'o', channel: 'o', state: 'o', events: 'o', streamWindow: 'I', maxStreamsPerPeer: 'I', services: 'a', joinQueue: 'o', signalling: 'f',
  offerIceServers: 'f', iceOfferRefresh: 'n', iceExchange: 'f', inbound: 'f'
}

/** Throws `TypeError` for an unknown option, a value of the wrong type, or a seed that is not an address. */
export function checkNodeOptions (opts: unknown): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError('createNode() takes an options object')
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined) continue
    const kind = (KIND_OF as Record<string, string | undefined>)[key]
    if (kind === undefined) throw new TypeError(`unknown option "${key}" (docs/api.md lists every option)`)
    const [test, wanted] = KINDS[kind]!
    if (!test(value)) throw new TypeError(`option ${key} must be ${wanted}`)
  }
  const o = opts as NodeOptions
  // the groups whose keys the node itself takes (state and events are checked by their services)
  checkKnownKeys('limits', o.limits, Object.keys(DEFAULT_LIMITS))
  checkKnownKeys('abuse', o.abuse, Object.keys(DEFAULT_ABUSE_LIMITS))
  checkKnownKeys('joinQueue', o.joinQueue, Object.keys(JOIN_QUEUE_DEFAULTS))
  checkKnownKeys('plumtree', o.plumtree, 'lazyDelayMs graftTimeoutMs originTreeAfter maxOriginTrees optimizeThreshold rootIntervalMs storeMaxEntries storeMaxBytes storeMaxAgeMs catchUpMs'.split(' '))
  const protocol = o.defaultProtocol ?? 'tcp'
  for (const key of ['seeds', 'listen', 'announceAddresses'] as const) {
    for (const [i, a] of (o[key] ?? []).entries()) checkAddress(a, `${key}[${i}]`, protocol)
  }
}

/** (A seed given as smokesignal's `{ port, address }` gets advice from `checkLegacyOptions`, in the full SDK.) */
function checkAddress (a: unknown, where: string, protocol: string): void {
  if (typeof a !== 'string') throw new TypeError(`${where} must be an address string such as 'tcp://host:port'`)
  if (/^:\d+$/.test(a.trim())) throw new TypeError(`${where} '${a}' has no host: write '127.0.0.1${a.trim()}'`)
  try { parseAddress(a, protocol) } catch (err) {
    throw new TypeError(`${where} '${a}' is not an address: ${(err as Error).message}`, { cause: err })
  }
}
