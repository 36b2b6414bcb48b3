/**
 * `@hearsay/compat/smokesignal`: smokesignal's documented API over a hearsay node (TCP).
 *
 * ```js
 * import smoke from '@hearsay/compat/smokesignal'
 * const node = smoke.createNode({ port: 8495, address: smoke.localIp('192.168.2.1/255.255.255.0'), seeds: [{ port: 13, address: '192.168.2.100' }] })
 * node.on('connect', () => { node.broadcast.write('HEYO! I\'m here') })
 * process.stdin.pipe(node.broadcast).pipe(process.stdout)
 * node.start()
 * ```
 */
import { SmokeNode } from './node.js'
import { localIp } from './local-ip.js'

export { SmokeNode, localIp }
export { SmokePeer } from './peer.js'
export { Peerlist } from './peerlist.js'
export { SMOKE_DEFAULTS, UNBOUNDED_MAX_PEERS } from './options.js'
export type { SmokeOptions, SmokeSeed, SmokeLogger, ResolvedSmokeOptions } from './options.js'

/** Creates a node (nothing touches the network until `start()`). TypeError for bad options. */
export function createNode (options: unknown): SmokeNode {
  return new SmokeNode(options)
}

const smoke = { createNode, localIp }
export default smoke
