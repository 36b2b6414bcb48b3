export { tcp } from './transport.js'
export type { TcpInit } from './options.js'
// the framing is the same in every runtime: one export list, in the module that owns it
export * from './frame-decoder.js'
