import { relayEndpoint } from '../node/relay-cause.ts'
import { RELAY_DIAL_TIMEOUT_MS } from '../node/relay-keeper.ts'
import { fetchName } from './cafe-names.ts'
import { call } from './local-api.ts'
import type { RelayCause } from '../node/relay-cause.ts'
import type { LanInfo } from '../node/lan.ts'
import type { RunningPeer } from './peer.ts'

/**
 * What makes a spare tablet a good cafe: the screen stays on while the cafe runs, storage is
 * persistent and its use shown, a banner says when the node is cut off or storage is nearly
 * full, a new version offers itself with a reload button, and clients are invited with a QR
 * code whose link registers them in one step.
 */

const NEARLY_FULL = 0.9

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

/** What the screen line says when the browser wants a user gesture before it keeps the screen on. */
export const TAP_TO_KEEP_AWAKE = 'tap to keep the screen on'

/** Events that carry a user gesture (transient activation) in every engine. */
const GESTURES = ['pointerup', 'keydown', 'click', 'touchend'] as const

export interface WakeDeps {
  wakeLock?: WakeLock
  /** Where visibility changes and gestures are heard (the document). */
  events: EventTarget
  visible: () => boolean
}

/**
 * Screen wake lock while cafe mode is on, re-taken when the tab becomes visible again. WebKit
 * (Safari) grants it only during a user gesture: a refusal (NotAllowedError) reads "tap to keep
 * the screen on" and the next gesture anywhere on the page asks again, from within the gesture.
 */
export function keepAwake (isCafe: () => Promise<boolean>, report: (state: string) => void, deps: WakeDeps = { wakeLock: navigator.wakeLock, events: document, visible: () => document.visibilityState === 'visible' }): () => void {
  let lock: WakeLockSentinel | undefined
  let wanted = false
  let armed = false
  const held = (): boolean => lock != null && !lock.released
  const request = async (): Promise<void> => {
    try {
      lock = await deps.wakeLock!.request('screen')
      disarm()
      report('screen kept on')
      lock.addEventListener('release', () => { report('released (tab hidden)') })
    } catch (err) {
      if ((err as Error).name === 'NotAllowedError') { report(TAP_TO_KEEP_AWAKE); arm() } else report(`refused: ${(err as Error).message}`)
    }
  }
  // Called in the gesture's own task: an await before the request would lose its activation.
  const onGesture = (): void => { if (wanted && !held()) void request() }
  const arm = (): void => {
    if (armed) return
    armed = true
    for (const type of GESTURES) deps.events.addEventListener(type, onGesture, { capture: true })
  }
  const disarm = (): void => {
    if (!armed) return
    armed = false
    for (const type of GESTURES) deps.events.removeEventListener(type, onGesture, { capture: true })
  }
  const takeOnce = async (): Promise<void> => {
    wanted = await isCafe()
    if (!wanted) { disarm(); await lock?.release(); lock = undefined; report('off (not a cafe)'); return }
    if (held()) return
    if (deps.wakeLock == null) { report('not supported by this browser'); return }
    await request()
  }
  // One at a time: two overlapping calls would both see no lock and take two, leaking one.
  let chain = Promise.resolve()
  const take = (): void => { chain = chain.then(takeOnce, takeOnce) }
  deps.events.addEventListener('visibilitychange', () => { if (deps.visible()) take() })
  take()
  return take
}

/** A relay that cannot be reached, named by its address, with the likely cause in plain words. */
export interface RelayProblem { relay: string, text: string, link?: string }

/**
 * The page that installs this LAN's certificate, when relays.json names it (LAN mode serves it
 * over plain HTTP on the LAN address, a port this HTTPS page does not know otherwise).
 */
export function setupPage (lan?: LanInfo): string | undefined {
  return lan?.setup
}

/** Words for a relay's last failure; undefined while it has none. */
export function relayProblem (relay: { multiaddr: string, cause?: RelayCause }, setup?: string): RelayProblem | undefined {
  if (relay.cause == null) return undefined
  const { host, port } = relayEndpoint(relay.multiaddr)
  const at = `The relay at ${host.includes(':') ? `[${host}]` : host}:${port}`
  const out = (text: string, link?: string): RelayProblem => ({ relay: relay.multiaddr, text, ...(link != null ? { link } : {}) })
  switch (relay.cause) {
    case 'mixed-content': return out(`${at} has an unencrypted ws:// address, which browsers block from an HTTPS page (mixed content): it needs a wss:// address.`)
    case 'loopback': return out(`${at} is a loopback address, which means this device itself, not the computer running the relay: open the app from the address the cafe shows (its invitation link or QR code).`)
    case 'certificate': return out(`${at} did not take a secure (wss) connection: the device may not trust this relay's certificate (install the CA from ${setup ?? 'the setup page of the computer running Lightcafe: http://<its address>/setup'}), or the relay is not running.`, setup)
    case 'timeout': return out(`${at} did not answer within ${RELAY_DIAL_TIMEOUT_MS / 1000} s: it may not be running, or a firewall drops port ${port}.`)
    case 'refused': return out(`${at} refused the connection: the relay is not running there, or a firewall blocks port ${port}.`)
  }
}

export interface Banner { kind: 'disconnected' | 'storage', text: string, problems?: RelayProblem[] }

type RelayLike = { multiaddr: string, connected: boolean, attempts?: number, cause?: RelayCause }

/**
 * Banners: cut off from every relay (with what is known of why), storage nearly full. Empty when
 * all is well. A node still on its first dial of every relay is connecting, not cut off: the
 * header says so, and a banner there would only push the view down and back at each start.
 */
export function banners (live: { info: { relays: RelayLike[] }, storage: { usage: number, quota: number } }, setup?: string): Banner[] {
  const out: Banner[] = []
  const { relays } = live.info
  const s = live.storage
  const failed = relays.some(r => (r.attempts ?? 0) > 0 || r.cause != null)
  if (relays.length > 0 && !relays.some(r => r.connected) && failed) {
    const problems = relays.flatMap(r => relayProblem(r, setup) ?? [])
    out.push({ kind: 'disconnected', text: 'Disconnected from the relays: reconnecting… Peers cannot reach this cafe until then.', ...(problems.length > 0 ? { problems } : {}) })
  }
  if (s.quota > 0 && s.usage / s.quota > NEARLY_FULL) out.push({ kind: 'storage', text: `Storage is nearly full: ${Math.round(s.usage / 2 ** 20)} of ${Math.round(s.quota / 2 ** 20)} MiB used.` })
  return out
}

/** A new service worker version waits: offer to switch to it (it takes over, the page reloads). */
export function watchForUpdates (onReady: (apply: () => void) => void): void {
  void navigator.serviceWorker?.getRegistration().then(reg => {
    if (reg == null) return
    const offer = (worker: ServiceWorker): void => {
      onReady(() => {
        navigator.serviceWorker.addEventListener('controllerchange', () => { location.reload() }, { once: true })
        worker.postMessage({ type: 'skip-waiting' })
      })
    }
    const watch = (next: ServiceWorker | null): void => {
      next?.addEventListener('statechange', () => { if (next.state === 'installed' && navigator.serviceWorker.controller != null) offer(next) })
    }
    if (reg.waiting != null && navigator.serviceWorker.controller != null) offer(reg.waiting)
    // One may be installing already (the browser checked on navigation): its updatefound has fired.
    watch(reg.installing)
    reg.addEventListener('updatefound', () => { watch(reg.installing) })
    // A cafe tab stays open for days: look for a new version now and then.
    setInterval(() => { void reg.update().catch(() => {}) }, 30 * 60_000)
  })
}
