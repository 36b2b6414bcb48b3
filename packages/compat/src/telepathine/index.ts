/**
 * `@hearsay/compat/telepathine`: telepathine's documented API over a hearsay node (TCP).
 *
 * ```js
 * import { Telepathine } from '@hearsay/compat/telepathine'
 * const a = new Telepathine(9000, []).start()
 * const b = new Telepathine(9001, [':9000']).start()
 * a.on('start', function () { a.hear('*', function (data, fromPeer) { console.log(this.event, data, fromPeer) }) })
 * b.on('start', function () { b.say('eventname', 'eventdata') })
 * ```
 */
export { Telepathine, MAX_PENDING_SAYS } from './telepathine.js'
export type { PeerState } from './telepathine.js'
export { TELEPATHINE_DEFAULTS, parseSeed } from './options.js'
export type { TelepathineOptions } from './options.js'
export { WildcardEmitter } from './wildcard-emitter.js'
export type { TelepathineHandler } from './wildcard-emitter.js'
