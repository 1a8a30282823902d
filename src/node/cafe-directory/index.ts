/** The relays' cafe directory (`/lightcafe/cafes/1.0.0`) as libp2p services: relays serve it, peers list and announce. */
export { cafeDirectory } from './client.ts'
export type { CafeDirectory, CafeDirectoryComponents, CafeDirectoryInit } from './client.ts'
export { cafeDirectoryServer } from './server.ts'
export type { CafeDirectoryServer, CafeDirectoryServerComponents, CafeDirectoryServerInit } from './server.ts'
export { DIRECTORY_LIMITS, DIRECTORY_PROTOCOL } from './protocol.ts'
export type { DirectoryAnswer } from './protocol.ts'
