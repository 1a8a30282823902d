import { fetchName } from './cafe-names.ts'
import { call } from './local-api.ts'
import type { LanInfo } from '../node/lan.ts'
import type { RunningPeer } from '../peer/index.ts'

/**
 * The join link for a token: opening it on another device registers that device with this cafe.
 * Cafe and token ride in the fragment, which browsers never send to the server hosting the
 * app (nor write to its logs). The origin and `?relay=` addresses are ones the guest can reach:
 * in LAN mode the LAN's wss relays (this page may be on loopback, which means the guest's own
 * device there), and the link opens the plain-HTTP setup page when the server names one: a
 * device that does not trust the LAN's CA yet would see only a certificate warning at the
 * HTTPS origin, and the setup page goes on to it, invitation and all, once it does (a device
 * that trusts it passes straight through). Otherwise this page's origin and `?relay=` addresses.
 */
export function joinLink (page: string, cafe: string, token: string, lan?: LanInfo): string {
  const from = new URL(page)
  const url = lan?.setup != null ? new URL(lan.setup) : new URL('/', lan?.origin ?? from.origin)
  const relays = lan != null ? lan.relays : from.searchParams.getAll('relay')
  for (const relay of relays) url.searchParams.append('relay', relay)
  url.hash = new URLSearchParams({ join: cafe, token }).toString()
  return url.toString()
}

/** The invitation in a location's fragment, if it holds one. */
export function invitationIn (hash: string): { cafe: string, token: string } | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''))
  const cafe = params.get('join')
  const token = params.get('token')
  return cafe != null && token != null && cafe !== '' && token !== '' ? { cafe, token } : undefined
}

export interface JoinOutcome { cafe: string, token: string, ok: boolean, text: string, name?: string }

/** The plain-language confirmation a guest sees once registered. */
export function joinedText (name: string): string {
  return `You joined ${name}. Your backups and messages now go through it.`
}

/**
 * On a page opened from a join link: registers, and drops the invitation from the address bar
 * (history too) whatever the outcome; a failure hands cafe and token back so the page can
 * offer them again (a cafe tablet asleep, a relay still connecting).
 */
export async function acceptJoin (peer: RunningPeer): Promise<JoinOutcome | undefined> {
  const invitation = invitationIn(location.hash)
  if (invitation == null) return undefined
  const { cafe, token } = invitation
  history.replaceState(null, '', location.pathname + location.search)
  let id: string
  try {
    id = (await call<{ id: string }>(peer, 'POST', '/api/v0/cafes', { cafe, token })).id
  } catch (err) {
    return { cafe, token, ok: false, text: `Could not join the cafe: ${(err as Error).message}. The invitation is filled in below: try again when the cafe is on.` }
  }
  const name = await fetchName(peer, id)
  return { cafe: id, token, ok: true, text: joinedText(name ?? `the cafe ${id.slice(0, 12)}…`), ...(name != null ? { name } : {}) }
}
