/** ICE servers (STUN/TURN) for WebRTC: relays serve them (`/lightcafe/ice-servers/1.0.0`), pages keep them fresh. */
export { askIceServers } from './client.ts'
export { IceServers } from './keeper.ts'
export type { IceSource, IceServersInit } from './keeper.ts'
export { ICE_LIMITS, ICE_PROTOCOL, iceServersOf } from './protocol.ts'
export type { IceServerEntry } from './protocol.ts'
export { iceServersServer } from './server.ts'
export type { IceServersServerInit } from './server.ts'
