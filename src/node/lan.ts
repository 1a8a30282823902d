/**
 * LAN mode, as `/relays.json` announces it: the HTTPS origin and the wss relay addresses that
 * OTHER devices reach (the `relays` beside it are what the requesting device dials, perhaps
 * loopback). `setup`, if the server gives it, is the page that installs its certificate.
 * No dependencies: the insecure-origin page reads it before the app loads.
 */
export interface LanInfo { origin: string, relays: string[], setup?: string }

/** Bounds on what a page takes from `relays.json`: a server's list, not a stranger's, but still bounded. */
export const MAX_RELAYS = 16
export const MAX_ADDR = 512

export function boundedStrings (v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string' && s.length <= MAX_ADDR).slice(0, MAX_RELAYS) : []
}

function url (s: unknown): URL | undefined {
  if (typeof s !== 'string') return undefined
  try { return new URL(s) } catch { return undefined }
}

/** The `lan` part of a `relays.json` body, if it is there and well-formed (an https origin, multiaddr-looking relays). */
export function lanOf (body: unknown): LanInfo | undefined {
  const lan = (body as { lan?: unknown } | null)?.lan as { origin?: unknown, relays?: unknown, setup?: unknown } | undefined
  if (lan == null || typeof lan !== 'object') return undefined
  const origin = url(lan.origin)
  if (origin?.protocol !== 'https:') return undefined
  const relays = boundedStrings(lan.relays).filter(s => /^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d+\//.test(s))
  const setup = url(lan.setup)
  return { origin: origin.origin, relays, ...(setup != null && /^https?:$/.test(setup.protocol) ? { setup: setup.toString() } : {}) }
}
