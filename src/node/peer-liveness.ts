import { PeerGoneError } from './errors.ts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

/**
 * Tells, within a fraction of a second, that the peer at the other end of a WebRTC connection
 * is gone (its page reloaded or closed), so the next request dials its new page instead of
 * waiting on the old connection.
 *
 * Why: a page that unloads closes its data channels, and the other side sees those close at
 * once, but its RTCPeerConnection stays "connected" until ICE consent fails (~30 s), and
 * libp2p keeps the connection open until its 10 s ping times out (measured: calls to a cafe
 * right after its reload hung 3-10 s, or failed). So the dialling side opens one idle stream on
 * each direct WebRTC connection, and both sides abort the connection when that stream ends
 * while the connection is still open. It carries no data; an open data channel costs nothing.
 *
 * A peer that dies without closing anything (its browser killed, its network gone) is noticed
 * by ICE: the RTCPeerConnection turns "disconnected" ~2.5 s after the last packet, while
 * @libp2p/webrtc only closes on "failed" (~30 s). ICE consent runs off the page's main thread,
 * so a peer whose tab is merely busy or in the background is not taken for gone.
 */
export const LIVENESS_PROTOCOL = '/lightcafe/alive/1.0.0'

export const LIVENESS_LIMITS = {
  /** Opening the watch stream on a fresh connection; a peer without it is simply not watched. */
  openTimeoutMs: 10_000
} as const

export { PeerGoneError } from './errors.ts'

/** Direct (not relayed) WebRTC connections: the ones that look open after their peer is gone. */
export function isDirectWebRTC (connection: Connection): boolean {
  return connection.limits == null && connection.remoteAddr.getComponents().some(c => c.name === 'webrtc')
}

function watch (connection: Connection, stream: Stream): void {
  stream.addEventListener('close', () => {
    // A connection that is closing closes its streams first: only an open one was left by its peer.
    if (connection.status !== 'open') return
    connection.abort(new PeerGoneError(`peer ${connection.remotePeer.toString()} went away (its page reloaded or closed)`))
  }, { once: true })
}

/** The RTCPeerConnection under a libp2p WebRTC connection (not public API: absent, nothing is watched). */
function peerConnectionOf (connection: Connection): RTCPeerConnection | undefined {
  const pc = (connection as unknown as { maConn?: { peerConnection?: unknown } }).maConn?.peerConnection
  return pc != null && typeof (pc as RTCPeerConnection).addEventListener === 'function' && 'connectionState' in (pc as object) ? pc as RTCPeerConnection : undefined
}

function watchIce (connection: Connection): void {
  const pc = peerConnectionOf(connection)
  if (pc == null) return
  const onState = (): void => {
    const state = pc.connectionState
    if (state !== 'disconnected' && state !== 'failed') return
    pc.removeEventListener('connectionstatechange', onState)
    if (connection.status === 'open') connection.abort(new PeerGoneError(`peer ${connection.remotePeer.toString()} stopped answering (WebRTC connection ${state})`))
  }
  pc.addEventListener('connectionstatechange', onState)
}

/** Watches every direct WebRTC connection of `libp2p`. Returns a function that stops. */
export async function watchPeerLiveness (libp2p: Libp2p): Promise<() => Promise<void>> {
  await libp2p.handle(LIVENESS_PROTOCOL, (stream, connection) => {
    if (isDirectWebRTC(connection)) watch(connection, stream)
    else stream.abort(new PeerGoneError('liveness is watched on direct WebRTC connections only'))
  }, { maxInboundStreams: 2, runOnLimitedConnection: false })
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    if (!isDirectWebRTC(connection)) return
    watchIce(connection)
    if (connection.direction !== 'outbound') return
    connection.newStream(LIVENESS_PROTOCOL, { signal: AbortSignal.timeout(LIVENESS_LIMITS.openTimeoutMs) })
      .then(stream => { watch(connection, stream) }, () => { /* an older peer, or the connection already went */ })
  }
  libp2p.addEventListener('connection:open', onOpen)
  return async () => {
    libp2p.removeEventListener('connection:open', onOpen)
    await libp2p.unhandle(LIVENESS_PROTOCOL)
  }
}
