/**
 * `@hearsay/compat/peernet`: peernet's documented API over a hearsay node.
 *
 * ```js
 * import { Level } from 'level'
 * import peernet, { transport } from '@hearsay/compat/peernet'
 * const pn = peernet(new Level('./peer.db'), { transport, debug: true })
 * pn.save(['ws://127.0.0.1:8000'])   // then it connects by itself
 * ```
 */
import { Peernet } from './peernet.js'
import type { PeernetOptions } from './options.js'

/** `peernet(db, opts)` → a new instance on the level database `db`. */
function peernet (db: unknown, opts?: PeernetOptions): Peernet { return new Peernet(db, opts) }

export default peernet
export { peernet, Peernet }
export type { PeernetRequest, PeernetStats } from './peernet.js'
export { transport, PEERNET_DEFAULTS } from './options.js'
export type { PeernetOptions } from './options.js'
export { ANNOUNCE_TYPE, MAX_ID_BYTES, MAX_TYPE_BYTES, MAX_DATA_BYTES } from './messages.js'
export type { PeernetMessage, PeernetRow } from './messages.js'
export { StreamTransport, STREAM_PROTOCOL } from './stream-transport.js'
