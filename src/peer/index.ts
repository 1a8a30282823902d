/** A device's composition (the tab's): its node, its cafe, its client parts, and who reaches which of its apps. */
export { startPeer, VERSION } from './start-peer.ts'
export type { RunningPeer } from './start-peer.ts'
export { createClient } from './client.ts'
export type { ClientParts, ClientInit } from './client.ts'
export { cafeSearch } from './cafe-search.ts'
export type { CafeSearch, CafeSearchInit } from './cafe-search.ts'
export { prefixRouter } from './router.ts'
export type { Route, Router } from './router.ts'
