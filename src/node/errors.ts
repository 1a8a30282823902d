import { UnavailableError } from '../shared/errors.ts'
import type { Reason } from '../shared/reasons.ts'

/** A peer is not there to answer: callers that reach it for a service name the service (e.g. CAFE_UNREACHABLE). */
export class PeerError extends UnavailableError {
  static override name = 'PeerError'
  override name = 'PeerError'
  constructor (reason: Reason & `PEER_${string}`, details: string, options?: ErrorOptions) { super(reason, details, options) }
}

/** The peer closed its end of a connection without closing the connection: it went away. */
export class PeerGoneError extends PeerError {
  static override name = 'PeerGoneError'
  override name = 'PeerGoneError'
  constructor (details: string) { super('PEER_GONE', details) }
}

/** A peer could not be reached or stopped answering; the message names the cause. */
export class PeerUnreachableError extends PeerError {
  static override name = 'PeerUnreachableError'
  override name = 'PeerUnreachableError'
  constructor (details: string, options?: ErrorOptions) { super('PEER_UNREACHABLE', details, options) }
}

/**
 * The relay answered that the peer holds no reservation or connection there (circuit relay
 * v2 status NO_RESERVATION): it is offline now. A definite answer, unlike a dial that timed out.
 */
export class PeerAbsentError extends PeerError {
  static override name = 'PeerAbsentError'
  override name = 'PeerAbsentError'
  constructor (details: string, options?: ErrorOptions) { super('PEER_ABSENT', details, options) }
}

/**
 * This browser has no WebRTC (`RTCPeerConnection`: WebKitGTK is built without it, a browser may
 * disable it) and the peer can be reached only over WebRTC. Known before any dial: said at once.
 */
export class WebRtcUnavailableError extends UnavailableError {
  static override name = 'WebRtcUnavailableError'
  override name = 'WebRtcUnavailableError'
  constructor (details: string) { super('WEBRTC_UNAVAILABLE', details) }
}

/** Whether this runtime can make WebRTC connections. */
export function hasWebRtc (): boolean {
  return typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection === 'function'
}
