import type { PeerId } from '../wire/identity.js'
import type { OverlayContext } from '../overlay/context.js'
import { AnnounceService } from '../overlay/announce.js'
import type { BroadcastArrival, Request } from '../overlay/announce.js'
import { Membership, signalRoutes } from '../overlay/membership.js'
import type { MembershipEvents } from '../overlay/membership.js'
import { Plumtree } from '../overlay/plumtree.js'
import type { NodeOptions } from './options.js'
import { DEFAULTS } from './options.js'
import { systemClock } from '../util/clock.js'

export interface OverlayHooks {
  request: (req: Request) => void
  broadcast: (b: BroadcastArrival) => void
  /** A peer entered or left the active view (after the announcer knows). */
  neighbour: (peer: PeerId, up: boolean) => void
  event: <K extends keyof MembershipEvents>(e: K, p: MembershipEvents[K]) => void
}

/** Makes one run of the overlay (the node then calls `membership.start()`): announce/broadcast (Plumtree or flood) and HyParView membership, from the node's options (`signals`: the node's signal router, if any). */
export function startOverlay (ctx: OverlayContext, o: NodeOptions, hooks: OverlayHooks, signals?: unknown): { membership: Membership, announcer: AnnounceService } {
  const announcer = new AnnounceService(ctx, {
    flood: ctx.floodBroadcast,
    // a node that listens on something other than WebRTC (a relay, a server) is long-lived: it
    // is preferred as Plumtree root; one that listens on nothing else (a page) claims last
    plumtree: { ...o.plumtree, rootClass: ctx.addresses.some(a => !a.startsWith('webrtc:')) ? 'stable' : 'transient' },
    defaultLimit: o.announceLimit ?? DEFAULTS.announceLimit,
    broadcastLimit: o.broadcastLimit ?? DEFAULTS.broadcastLimit,
    defaultTimeout: o.announceTimeout ?? DEFAULTS.announceTimeout,
    maxRoutes: o.announceRoutes ?? DEFAULTS.maxRoutes,
    routeTtl: DEFAULTS.routeTtl
  }, hooks.request, hooks.broadcast, (bytes, send, what) => { ctx.whenJoined(bytes, send, what) })
  const b = announcer.broadcaster
  const membership = new Membership(ctx, {
    minPeers: o.minPeers ?? DEFAULTS.minPeers,
    maxPeers: o.maxPeers ?? DEFAULTS.maxPeers,
    passiveSize: o.passiveSize,
    stepBackAbove: o.stepBackAbove,
    maxForwardJoins: o.maxForwardJoins,
    shuffleInterval: o.shuffleInterval ?? DEFAULTS.shuffleInterval,
    heartbeatInterval: o.heartbeatInterval ?? DEFAULTS.heartbeatInterval,
    phiThreshold: o.phiThreshold ?? DEFAULTS.phiThreshold,
    pausedToleranceMs: o.pausedToleranceMs ?? DEFAULTS.pausedToleranceMs,
    wallNow: ctx.clock === systemClock ? Date.now : undefined,
    rejoinDelay: o.rejoinDelay ?? DEFAULTS.rejoinDelay,
    rejoinMaxDelay: o.rejoinMaxDelay ?? DEFAULTS.rejoinMaxDelay,
    healInterval: o.healInterval ?? DEFAULTS.healInterval,
    announceAddresses: o.announceAddresses,
    // the Plumtree root names the overlay component (undefined in flood mode); a node that lost
    // its relay's beacons doubts its component, probes a seed and bridges through its refusal
    component: () => b instanceof Plumtree ? b.componentLabel(ctx.clock.now()) : undefined,
    lostRoot: () => b instanceof Plumtree && b.lostStableRoot(ctx.clock.now()),
    // overlay signalling learns routes from the walks and says which webrtc: peers can be dialled
    routes: signalRoutes(signals)
  }, o.seeds ?? [], (peer, up) => {
    announcer.neighbor(peer, up)
    hooks.neighbour(peer, up)
  }, hooks.event)
  return { membership, announcer }
}
