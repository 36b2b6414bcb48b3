/**
 * `@hearsay/compat/coalescent`: coalescent's documented API over a hearsay node.
 *
 * ```js
 * import coalescent from '@hearsay/compat/coalescent'
 * const app = coalescent({ seeds: ['127.0.0.1:1337'] })
 * app.use(coalescent.tattletale()).use(coalescent.courier()).use(coalescent.router())
 * app.listen(1338, () => console.log('listening'))
 * ```
 */
import { CoalescentApp } from './app.js'
import type { CoalescentOptions } from './options.js'
import { courier } from './courier.js'
import { router } from './router.js'
import { smartrelay } from './smartrelay.js'
import { tattletale } from './tattletale.js'

/** `coalescent(options)` → the app (a Node duplex stream). */
function coalescent (options?: CoalescentOptions): CoalescentApp { return new CoalescentApp(options) }
coalescent.tattletale = tattletale
coalescent.smartrelay = smartrelay
coalescent.courier = courier
coalescent.router = router

export default coalescent
export { coalescent, CoalescentApp, tattletale, smartrelay, courier, router }
export { AlreadyListeningError } from './app.js'
export type { AppAddress } from './app.js'
export { CoalescentSocket, CHUNK_TYPE, MAX_CHUNK_BYTES } from './socket.js'
export type { SocketAddress } from './socket.js'
export { COALESCENT_DEFAULTS } from './options.js'
export type { CoalescentOptions, CoalescentLogger } from './options.js'
export type { CoalescentMiddleware, ChainStream } from './middleware.js'
export { Courier, MalformedMessageError, encodeMessage } from './courier.js'
export type { CourierMessage } from './courier.js'
export { Router } from './router.js'
export type { RouteHandler } from './router.js'
export { Tattletale } from './tattletale.js'
export { SmartRelay, SMARTRELAY_MAX_ENTRIES, SMARTRELAY_MAX_AGE_MS } from './smartrelay.js'
