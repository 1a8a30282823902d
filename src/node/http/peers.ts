import { HTTP_PROTOCOL } from './protocol.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The peer ids named by relay multiaddrs (their last `/p2p/`). */
export function relayPeerIds (relays: Multiaddr[]): Set<string> {
  const ids = new Set<string>()
  for (const ma of relays) {
    const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
    if (id != null) ids.add(id)
  }
  return ids
}

/**
 * Peers connected now that can answer HTTP over libp2p: over a direct (unlimited) connection,
 * not one of our relays (they serve circuit relay and the cafe directory, nothing else), and
 * not known to lack the protocol (identify lists what a peer serves; unknown is asked). Asking
 * any other peer costs it a refusal and us a round trip for nothing.
 */
export async function httpPeers (libp2p: Pick<Libp2p, 'getConnections' | 'peerStore'>, relays: ReadonlySet<string>): Promise<string[]> {
  const connected = new Map(libp2p.getConnections().filter(c => c.status === 'open' && c.limits == null).map(c => [c.remotePeer.toString(), c.remotePeer]))
  const out: string[] = []
  await Promise.all([...connected].map(async ([id, peer]) => {
    if (relays.has(id)) return
    const protocols: string[] = await libp2p.peerStore.get(peer).then(p => p.protocols, () => [])
    if (protocols.length > 0 && !protocols.includes(HTTP_PROTOCOL)) return
    out.push(id)
  }))
  return out.sort()
}
