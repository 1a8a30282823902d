/** HTTP over libp2p (`/lightcafe/http/1.1.0`), shaped as a libp2p service: `services: { http: httpOverLibp2p() }`. */
export { httpOverLibp2p } from './service.ts'
export type { HttpOverLibp2p, HttpOverLibp2pComponents, HttpOverLibp2pInit } from './service.ts'
export { HTTP_LIMITS, HTTP_PROTOCOL, HttpOverLibp2pError } from './protocol.ts'
export { DeadConnectionError, ProtocolRefusedError, protocolRefused } from './client.ts'
export type { FetchOptions } from './client.ts'
export type { Libp2pHttpHandler, ServeInfo, ServeOptions, ServerLimits } from './server.ts'
export { httpPeers, relayPeerIds } from './peers.ts'
