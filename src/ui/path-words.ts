import type { ConnectionPath } from '../node/connection-path.ts'

/** A connection's path in plain words (My cafes, This peer). */
export const PATH_WORDS: Record<ConnectionPath, string> = {
  direct: 'connected directly, on the same network',
  nat: 'connected directly, through NAT',
  turn: 'connected through a TURN server',
  relay: 'connected through the relay (last resort, limited)'
}

/** The short label beside a connection in a list. */
export const PATH_LABEL: Record<ConnectionPath, string> = { direct: 'direct', nat: 'direct through NAT', turn: 'TURN', relay: 'relay' }
