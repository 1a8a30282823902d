import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Where a page learns its relays: `?relay=` (repeatable) wins over `/relays.json` beside the app. */
export async function relayAddrs (location: Location, fetcher: typeof fetch = fetch): Promise<Multiaddr[]> {
  const fromQuery = new URLSearchParams(location.search).getAll('relay')
  if (fromQuery.length > 0) return fromQuery.map(s => multiaddr(s))
  // Offline or no relay list: start without relays; the page says so and the owner can add `?relay=`.
  const res = await fetcher(new URL('relays.json', location.href), { cache: 'no-store' }).catch(() => null)
  if (res == null || !res.ok) return []
  const body: unknown = await res.json()
  const list = Array.isArray(body) ? body : (body as { relays?: unknown }).relays
  if (!Array.isArray(list)) return []
  return list.filter((s): s is string => typeof s === 'string').map(s => multiaddr(s))
}
