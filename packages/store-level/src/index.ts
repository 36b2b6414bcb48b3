export { levelStore } from './level-store.js'
export { StoreLockedError } from './level-store.js'
export type { LevelDatabase, LevelPeerStore, LevelStoreOptions } from './level-store.js'
export { FORMAT_VERSION } from './codec.js'
