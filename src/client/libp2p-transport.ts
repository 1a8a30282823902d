import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { fetchOverLibp2p } from '../node/http-over-libp2p.ts'
import type { CafeTransport } from './cafe-client.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Reaches cafes over libp2p. A cafe known only by peer id is dialled through our own
 * relays (`<relay>/p2p-circuit/webrtc/p2p/<cafe>`): on a LAN, cafe and clients share them.
 * The WebRTC address makes libp2p signal through the relay and then talk directly.
 */
export function libp2pTransport (libp2p: Libp2p, relays: () => Multiaddr[]): CafeTransport {
  return async (cafe, request, signal) => {
    const peer = peerIdFromString(cafe.id)
    const open = libp2p.getConnections(peer).find(c => c.status === 'open' && c.limits == null)
    const target = open ?? (cafe.addrs.length > 0
      ? cafe.addrs.map(a => multiaddr(a))
      : relays().map(r => r.encapsulate(`/p2p-circuit/webrtc/p2p/${cafe.id}`)))
    return fetchOverLibp2p(libp2p, target, request, { signal })
  }
}
