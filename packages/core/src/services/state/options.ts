/**
 * Options and defaults of replicated state (`node.state`) and of the event bus
 * (`node.events`), in one place. docs/api.md mirrors them.
 */

/** Options of `node.state` (`createNode({ state: { … } })`). */
export interface StateOptions {
  /** Period of the anti-entropy round: each round the node sends a digest to `fanout` random active peers, ms. @default 1000 */
  gossipInterval?: number
  /** Peers contacted per round. @default 1 */
  fanout?: number
  /** Largest encoded `kv.*` message (digest page or delta batch), bytes. @default 16384 */
  maxMessageBytes?: number
  /**
   * Most `kv.delta` messages sent in answer to one digest or request: with one exchange started
   * and one answered per round, a node takes in up to about 2 × this × `maxMessageBytes` per
   * round, which bounds the update rate the network sustains. @default 16
   */
  maxDeltaMessages?: number
  /** Most owners (nodes) whose state is kept; updates of further owners are dropped and counted. @default 10000 */
  maxOwners?: number
  /** Most keys per owner, tombstones included (the oldest own tombstone is evicted to make room). @default 1024 */
  maxKeysPerOwner?: number
  /** Longest key, UTF-8 bytes. @default 256 */
  maxKeyBytes?: number
  /** Largest encoded value, bytes. @default 8192 */
  maxValueBytes?: number
  /** Most bytes of other owners' state kept (keys, values, proofs); beyond it updates are dropped and counted. @default 67108864 (64 MiB) */
  maxTotalBytes?: number
  /** Most updates covered by one ownership signature. @default 256 */
  maxBatchLeaves?: number
  /** How long a tombstone (a deleted key) is kept and gossiped, ms. @default 86400000 (24 h) */
  tombstoneTtl?: number
  /** Period of the expiry sweep that fires `expire` events, ms. @default 1000 */
  sweepInterval?: number
  /**
   * How ownership of updates is proven. `signed`: each batch of an owner's updates carries its
   * ed25519 signature over a Merkle root, checked once per batch by every node that did not get
   * it straight from its owner. `trusted`: no signatures (the claimed owner is believed, Merkle
   * proofs are still built and checked); only for the simulator, whose identities have no keys.
   * @default 'signed', or 'trusted' with `plainChannel()`, which proves no identity either
   */
  ownership?: 'signed' | 'trusted'
  /**
   * Wall clock for `expiresAt` and `ttl`, ms since the epoch; all nodes should agree on it
   * (NTP), since expiry times travel as absolute times.
   * @default Date.now with the system clock; the node's `clock.now` with an injected clock (the simulator's virtual time)
   */
  now?: () => number
  /**
   * Cluster membership (`node.members()`, `member:join` / `member:down` / `member:up`): the node
   * bumps a heartbeat counter in its own state (reserved key `~hb`) every
   * `memberHeartbeatInterval`, the anti-entropy carries it, and every node runs phi accrual over
   * the arrival of each member's heartbeat advances. Off: no heartbeat, and `members()` throws
   * `UnsupportedError`. Costs about 16 bytes per member per digest and one ~150-byte update per
   * member per heartbeat interval at every node, and with signed ownership one ed25519
   * verification per member per interval (docs/decisions.md, "Cluster membership"). Off by
   * default until heartbeats leave the signed state: at 300 members that is ~120 verifications
   * a second, about 40 % of a core on this project's 2-core machines.
   * @default false
   */
  members?: boolean
  /** Period of this node's membership heartbeat, ms (telepathine's `heartbeatIntervalMS`). @default 2500 */
  memberHeartbeatInterval?: number
  /** phi above which a member is declared down (`member:down`). @default 8 */
  memberPhiThreshold?: number
  /**
   * A member down for this long (ms since its heartbeat last advanced) is forgotten: it leaves
   * `members()`, and its heartbeat entry expires everywhere at about the same time (the entry
   * carries this as its time to live). If it comes back it is a `member:join` again.
   * @default 300000 (5 min)
   */
  memberForgetAfter?: number
  /** Most other members kept; a new one first replaces the member down the longest, else it is dropped (`drops.member-table-full`). @default 10000 */
  maxMembers?: number
}

export const STATE_DEFAULTS = Object.freeze({
  gossipInterval: 1000,
  fanout: 1,
  maxMessageBytes: 16 * 1024,
  maxDeltaMessages: 16,
  maxOwners: 10_000,
  maxKeysPerOwner: 1024,
  maxKeyBytes: 256,
  maxValueBytes: 8 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxBatchLeaves: 256,
  tombstoneTtl: 24 * 60 * 60 * 1000,
  sweepInterval: 1000,
  members: false,
  memberHeartbeatInterval: 2500,
  memberPhiThreshold: 8,
  memberForgetAfter: 5 * 60 * 1000,
  maxMembers: 10_000
})

/** Options of `node.events` (`createNode({ events: { … } })`). */
export interface EventBusOptions {
  /** Longest event name, UTF-8 bytes. @default 128 */
  maxNameBytes?: number
  /** Largest encoded event (name, data and header), bytes. @default 65536 */
  maxEventBytes?: number
  /** Longest `duration` accepted by `say`, ms. @default 3600000 (1 h) */
  maxDuration?: number
  /** Hop limit of an event's broadcast. @default 32 */
  hopLimit?: number
  /** Events with a `duration` kept for late joiners. @default 256 */
  replayMaxEvents?: number
  /** Bytes of kept events sent to a new neighbour in one `ev.replay`. @default 65536 */
  replayMaxBytes?: number
  /** Event ids remembered to deliver each event once. @default 10000 */
  seenMaxEntries?: number
}

export const EVENT_DEFAULTS = Object.freeze({
  maxNameBytes: 128,
  maxEventBytes: 64 * 1024,
  maxDuration: 60 * 60 * 1000,
  hopLimit: 32,
  replayMaxEvents: 256,
  replayMaxBytes: 64 * 1024,
  seenMaxEntries: 10_000
})
