import { bridgeCarrier, serveToServiceWorker } from '../sw/page-bridge.ts'
import { registerServiceWorker } from '../sw/registration.ts'
import { relayList } from '../node/relays.ts'
import { startPeer } from '../peer/index.ts'
import { renderDashboard } from './app.tsx'
import { readEarly } from './live.ts'

/**
 * Milliseconds since navigation of each start-up phase (-1 until reached), for the dashboard
 * and the benchmark; each is also a `performance.mark` named `lc:<phase>` (DevTools shows them).
 * - scriptMs: this module runs; peerMs: the whole peer (node, account, services) is up;
 * - reservedMs: the first relay reservation is made (this node is reachable);
 * - uiMs: the dashboard shows live data and takes input (the time to interactive);
 * - swMs: the service worker controls the page; readyMs: peer up and service worker in control.
 * `lightcafe.swRetried` is true when a stuck first registration was replaced; `lightcafe.swError`
 * says why the worker never took control (the page runs on without it).
 */
export interface Timings { scriptMs: number, peerMs: number, reservedMs: number, uiMs: number, swMs: number, readyMs: number }
type Phase = Exclude<keyof Timings, 'scriptMs'>

/** The app on a secure origin (main.ts checked): the node, the dashboard, the service worker. */
export function boot (app: HTMLElement): void {
  start(app).catch(err => { fail(app, 'Lightcafe could not start', err) })
}

/**
 * The service worker did not start (none in this browser, or it did not take control in time):
 * said above the dashboard, which runs without it.
 */
function warnNoWorker (app: HTMLElement, err: unknown): void {
  const p = document.createElement('p')
  p.setAttribute('role', 'alert')
  p.className = 'banner'
  p.dataset.testid = 'sw-problem'
  p.textContent = `The service worker did not start: ${err instanceof Error ? err.message : String(err)}. This page works, but other apps of this site cannot reach its API and it will not open offline. Reload the page; if this stays, quit the browser (every window) and open it again: WebKit can keep a stuck registration until it restarts.`
  app.before(p)
  console.error('the service worker did not start', err)
}

function fail (app: HTMLElement, title: string, err: unknown): void {
  app.replaceChildren()
  const h = document.createElement('h1')
  h.textContent = title
  const p = document.createElement('p')
  p.textContent = err instanceof Error ? err.message : String(err)
  app.append(h, p)
  console.error(title, err)
}

/**
 * Says that another tab of this browser runs the node, until this one takes over: a tab that is
 * closing (or a page just navigated away from) can keep the lock for a moment after it is gone.
 */
function waitingForOtherTab (app: HTMLElement): HTMLElement {
  const p = document.createElement('p')
  p.setAttribute('role', 'status')
  p.className = 'banner'
  p.dataset.testid = 'node-elsewhere'
  p.textContent = 'Lightcafe is already running in another tab of this browser. Use that tab; this one starts by itself once that tab is closed.'
  app.before(p)
  return p
}

async function start (app: HTMLElement): Promise<void> {
  // One node per browser profile: its stores and peer key are shared by every tab. A tab that
  // finds the lock taken waits for it (and says so) rather than giving up: the holder may be a
  // page that is only closing, whose lock the browser frees a moment later.
  const ran = await navigator.locks.request('lightcafe-node', { ifAvailable: true }, async lock => {
    if (lock == null) return false
    await run(app)
    return true
  })
  if (ran) return
  const notice = waitingForOtherTab(app)
  await navigator.locks.request('lightcafe-node', async () => {
    notice.remove()
    await run(app)
  })
}

/** The node, the dashboard and the service worker bridge, for the life of the page (the lock held). */
async function run (app: HTMLElement): Promise<void> {
  const timings: Timings = { scriptMs: Math.round(performance.mark('lc:script').startTime), peerMs: -1, reservedMs: -1, uiMs: -1, swMs: -1, readyMs: -1 }
  const reach = (phase: Phase): void => {
    if (timings[phase] < 0) timings[phase] = Math.round(performance.mark(`lc:${phase.slice(0, -2)}`).startTime)
  }
  // Readable while starting (a reservation can come before the rest is up); `ready` once all is.
  // `bridge`: how bodies cross to the service worker here (`port` where streams cannot be transferred).
  const state: Record<string, unknown> = { ready: false, timings, bridge: bridgeCarrier() }
  ;(globalThis as Record<string, unknown>).lightcafe = state
  // The service worker installs (its own thread, the shell's files) while the node starts.
  // All of it is bounded (registerServiceWorker recovers a stuck registration once).
  const controlled = registerServiceWorker().then(r => { reach('swMs'); state.swRetried = r.retried })
  controlled.catch(() => { /* awaited below */ })
  // LAN mode (relays.json's `lan`): what invitations give other devices.
  const { relays, lan } = await relayList(location)
  const peer = await startPeer({
    relays,
    // Read again before TURN credentials expire.
    iceServers: async signal => (await relayList(location, fetch, signal)).iceServers,
    onNode: node => {
      // Listened to as soon as the node exists: the reservation may come before the rest is up.
      const onRelay = (): void => { if (node.relays.state().some(r => r.reserved)) reach('reservedMs') }
      node.relays.addEventListener('change', onRelay)
      onRelay()
    }
  })
  reach('peerMs')
  state.peer = peer
  // The dashboard calls the node directly, so it need not wait for the service worker; its
  // first reading starts before its first frame renders.
  readEarly(peer)
  renderDashboard(app, peer, lan, () => { reach('uiMs') })
  try {
    serveToServiceWorker(peer.handle)
    await controlled
    reach('readyMs')
    state.ready = true
  } catch (err) {
    state.swError = err instanceof Error ? err.message : String(err)
    warnNoWorker(app, err)
  }
  // Hold the lock for the life of the page.
  await new Promise(() => {})
}
