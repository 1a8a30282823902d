/**
 * LAN mode, as `/relays.json` announces it: the HTTPS origin and the wss relay addresses that
 * OTHER devices reach (the `relays` beside it are what the requesting device dials, perhaps
 * loopback). `setup`, if the server gives it, is the page that installs its certificate.
 * No dependencies: the insecure-origin page reads it before the app loads.
 */
export interface LanInfo { origin: string, relays: string[], setup?: string }

/** A relay list is a few multiaddrs: anything larger is not one. */
export const RELAYS_JSON_LIMITS = { maxBytes: 64 * 1024, maxRelays: 32, maxAddrChars: 512 } as const
const { maxBytes: MAX_BYTES, maxRelays: MAX_RELAYS, maxAddrChars: MAX_ADDR } = RELAYS_JSON_LIMITS

function url (s: unknown): URL | undefined {
  if (typeof s !== 'string') return undefined
  try { return new URL(s) } catch { return undefined }
}

/** The `lan` part of a `relays.json` body, if it is there and well-formed (a bare https origin, multiaddr-looking relays). */
export function lanOf (body: unknown): LanInfo | undefined {
  const lan = (body as { lan?: unknown } | null | undefined)?.lan as { origin?: unknown, relays?: unknown, setup?: unknown } | undefined
  if (lan == null || typeof lan !== 'object') return undefined
  const origin = url(lan.origin)
  if (origin?.protocol !== 'https:' || origin.origin !== lan.origin) return undefined
  const relays = (Array.isArray(lan.relays) ? lan.relays : [])
    .filter((s): s is string => typeof s === 'string' && s.length <= MAX_ADDR && /^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d+\//.test(s))
    .slice(0, MAX_RELAYS)
  const setup = url(lan.setup)
  return { origin: origin.origin, relays, ...(setup != null && /^https?:$/.test(setup.protocol) ? { setup: setup.toString() } : {}) }
}

/** LAN mode from `/relays.json` beside the page; undefined without it, offline, or for a body that is not one. */
export async function fetchLan (location: { href: string }, fetcher: typeof fetch = fetch): Promise<LanInfo | undefined> {
  try {
    const res = await fetcher(new URL('relays.json', location.href), { cache: 'no-store', signal: AbortSignal.timeout(5_000) })
    const text = res.ok ? await res.text() : ''
    return text.length > 0 && text.length <= MAX_BYTES ? lanOf(JSON.parse(text)) : undefined
  } catch { return undefined }
}
