/**
 * What a carrier (HTTP over libp2p, the service worker) tells an app it serves, as Hono
 * bindings: over libp2p the caller's peer id, authenticated by Noise; absent for same-origin
 * callers (this device's own apps).
 */
export interface CarrierBindings {
  remotePeer?: string
}
