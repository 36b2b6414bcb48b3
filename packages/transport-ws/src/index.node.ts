export { webSockets } from './transport.node.js'
export type { NodeWebSocketsInit as WebSocketsInit } from './transport.node.js'
