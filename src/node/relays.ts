import { multiaddr } from '@multiformats/multiaddr'
import { boundedStrings, lanOf } from './lan.ts'
import type { LanInfo } from './lan.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export { lanOf }
export type { LanInfo }

export interface RelayConfig { relays: Multiaddr[], lan?: LanInfo }

/** Where a page learns its relays: `?relay=` (repeatable) wins over `/relays.json` beside the app, which also tells of LAN mode. */
export async function relayConfig (location: Location, fetcher: typeof fetch = fetch): Promise<RelayConfig> {
  const fromQuery = new URLSearchParams(location.search).getAll('relay')
  // Offline or no relay list: start without relays; the page says so and the owner can add `?relay=`.
  const res = await fetcher(new URL('relays.json', location.href), { cache: 'no-store' }).catch(() => null)
  const body: unknown = res?.ok === true ? await res.json().catch(() => null) : null
  const lan = lanOf(body)
  const listed = boundedStrings(Array.isArray(body) ? body : (body as { relays?: unknown } | null)?.relays)
  const relays = fromQuery.length > 0 ? fromQuery : listed
  return { relays: relays.map(s => multiaddr(s)), ...(lan != null ? { lan } : {}) }
}

/** The relays alone (see `relayConfig`). */
export async function relayAddrs (location: Location, fetcher: typeof fetch = fetch): Promise<Multiaddr[]> {
  return (await relayConfig(location, fetcher)).relays
}
