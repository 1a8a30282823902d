/**
 * What a carrier (HTTP over libp2p, the service worker) tells an app it serves, as Hono
 * bindings: over libp2p the caller's peer id, authenticated by Noise; absent for same-origin
 * callers (this device's own apps).
 */
export interface CarrierBindings {
  remotePeer?: string
  /**
   * Over plain HTTP, where every caller is the one peer `http`: the TCP connection the request
   * came on (`http#<n>`), an identity no other caller can share (its pending challenges).
   */
  connection?: string
  /** Over plain HTTP: the caller's address (`http@<ip>`), whose budget its per-caller rate limits draw on. */
  rateKey?: string
}

/** Whose per-caller rate limits a request draws on: its address over HTTP, else its peer ('local' same-origin). */
export function rateKeyOf (env: CarrierBindings | undefined): string {
  return env?.rateKey ?? env?.remotePeer ?? 'local'
}
