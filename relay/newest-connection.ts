import type { Connection, Libp2p } from '@libp2p/interface'

/**
 * A peer that connects again supersedes its older connections to this relay. A browser peer
 * keeps one connection to each relay; a second one means it came back (its network was cut,
 * its page reloaded) while the relay still holds the first, which may be dead without a word
 * (no FIN crossed the cut). The circuit relay server signals to a peer over its first
 * connection, so a dial to that peer would wait on the dead one until pings give it up
 * (10–20 s). The reservation is the peer's, not the connection's: it stays. Returns the
 * function that stops.
 */
export function keepNewestConnection (node: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getConnections'>): () => void {
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const fresh = evt.detail
    if (fresh.limits != null) return
    for (const old of node.getConnections(fresh.remotePeer)) {
      if (old !== fresh && old.limits == null && old.status === 'open' && old.timeline.open <= fresh.timeline.open) {
        old.abort(new Error('superseded by a newer connection from the same peer'))
      }
    }
  }
  node.addEventListener('connection:open', onOpen)
  return () => { node.removeEventListener('connection:open', onOpen) }
}
