import { multiaddr } from '@multiformats/multiaddr'
import { iceServersOf } from './ice-servers/protocol.ts'
import { readBody } from '../shared/streams.ts'
import { RELAYS_JSON_LIMITS, lanOf } from './lan.ts'
import type { IceServerEntry } from './ice-servers/protocol.ts'
import type { LanInfo } from './lan.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** `/relays.json` as the server gives it (relay/lan/relays-json.ts); `lan` only in LAN mode. */
export interface RelayList {
  relays: Multiaddr[]
  /** LAN mode: the HTTPS origin and wss relays that other devices of the LAN reach (for invitations). */
  lan?: LanInfo
  /** STUN/TURN servers the page's server names (TURN credentials minted for this request). */
  iceServers: IceServerEntry[]
}
const { maxBytes: MAX_BYTES, maxRelays: MAX_RELAYS } = RELAYS_JSON_LIMITS

function addrs (list: unknown): Multiaddr[] {
  if (!Array.isArray(list)) return []
  const out: Multiaddr[] = []
  for (const s of list.slice(0, MAX_RELAYS)) {
    if (typeof s !== 'string') continue
    try { out.push(multiaddr(s)) } catch { /* not a multiaddr: skipped */ }
  }
  return out
}

/**
 * Where a page learns its relays: `?relay=` (repeatable) wins over `/relays.json` beside the
 * app. The `lan` block comes from relays.json only, and only with an https origin.
 */
export async function relayList (location: Location, fetcher: typeof fetch = fetch, signal?: AbortSignal): Promise<RelayList> {
  const fromQuery = new URLSearchParams(location.search).getAll('relay')
  // Offline or no relay list: start without relays; the page says so and the owner can add `?relay=`.
  const res = await fetcher(new URL('relays.json', location.href), { cache: 'no-store', signal }).catch(() => null)
  const text = res?.ok === true ? await readBody(res, { maxBytes: MAX_BYTES, what: 'relays.json' }).then(b => new TextDecoder().decode(b), () => '') : ''
  let body: unknown
  try { body = text.length > 0 ? JSON.parse(text) : undefined } catch { body = undefined }
  const iceServers = iceServersOf((body as { iceServers?: unknown } | undefined)?.iceServers)
  const served = Array.isArray(body) ? addrs(body) : addrs((body as { relays?: unknown } | undefined)?.relays)
  const relays = fromQuery.length > 0 ? fromQuery.map(s => multiaddr(s)) : served
  const lan = lanOf(body)
  return lan != null ? { relays, lan, iceServers } : { relays, iceServers }
}
