/** The relays' peer-return watch (`/lightcafe/peer-return/1.0.0`) as libp2p services: relays serve it, peers ask it about peers they wait for. */
export { peerReturn } from './client.ts'
export type { PeerReturn, PeerReturnComponents, PeerReturnInit } from './client.ts'
export { peerReturnServer } from './server.ts'
export type { PeerReturnServer, PeerReturnServerComponents, PeerReturnServerInit } from './server.ts'
export { RETURN_LIMITS, RETURN_PROTOCOL } from './protocol.ts'
export type { ReturnAnswer } from './protocol.ts'
