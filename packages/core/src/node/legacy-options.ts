/**
 * Advice for the option names the four older packages used, given by the full SDK's
 * `createNode` (`@hearsay/core`'s and `hearsay`'s); `hearsay/lite` leaves these strings out of
 * its bundle and says only that the option is unknown.
 */
const INSTEAD: Record<string, string> = {
  port: "listen: ['tcp://0.0.0.0:<port>']",
  address: "listen: ['tcp://<address>:<port>'] (and announceAddresses)",
  minPeerNo: 'minPeers',
  maxPeerNo: 'maxPeers',
  connections: 'minPeers',
  pingTimeout: 'heartbeatInterval and phiThreshold',
  debug: 'logger: console',
  bootstrap: 'nothing (a node always dials its seeds and stored peers when it needs neighbours)',
  interval: 'shuffleInterval',
  purge: 'purgeInterval',
  transport: 'transports',
  wrtc: 'transports: [webRTC()]',
  network: 'networkKey',
  gossipIntervalMS: 'state: { gossipInterval }',
  heartbeatIntervalMS: 'state: { members: true, memberHeartbeatInterval }',
  udp: 'nothing: hearsay has no UDP transport',
  emitValueOnHeartBeat: 'nothing: state events fire on changes',
  addressMap: 'announceAddresses',
  relayMessages: 'node.use(smartRelay())'
}

/**
 * Throws `TypeError` saying what to write instead when `opts` uses a name of the older packages,
 * or gives a seed as smokesignal's `{ port, address }`.
 */
export function checkLegacyOptions (opts: unknown): void {
  if (opts === null || typeof opts !== 'object') return
  for (const [key, value] of Object.entries(opts)) {
    const instead = INSTEAD[key]
    if (instead !== undefined && value !== undefined) throw new TypeError(`unknown option "${key}": use ${instead} (programs of the older packages run on @hearsay/compat)`)
  }
  const seeds = (opts as { seeds?: unknown }).seeds
  if (!Array.isArray(seeds)) return
  for (const [i, a] of seeds.entries()) {
    if (a !== null && typeof a === 'object' && 'port' in a) {
      const { port, address } = a as { port?: unknown, address?: unknown }
      throw new TypeError(`seeds[${i}] must be an address string: write 'tcp://${typeof address === 'string' && address !== '' ? address : '127.0.0.1'}:${String(port)}' for { port, address } (or use @hearsay/compat)`)
    }
  }
}
