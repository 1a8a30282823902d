import { registerServiceWorker, serveToServiceWorker } from '../sw/page-bridge.ts'
import { relayList } from '../node/relays.ts'
import { startPeer } from './peer.ts'
import { renderDashboard } from './app.tsx'

/** The app on a secure origin (main.ts checked): the node, the dashboard, the service worker. */
export function boot (app: HTMLElement): void {
  start(app).catch(err => { fail(app, 'Lightcafe could not start', err) })
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

async function start (app: HTMLElement): Promise<void> {
  // One node per browser profile: its stores and peer key are shared by every tab.
  await navigator.locks.request('lightcafe-node', { ifAvailable: true }, async lock => {
    if (lock == null) {
      fail(app, 'Lightcafe is already running in another tab', 'Use that tab; this one stays idle.')
      return
    }
    // Milliseconds since navigation, for the dashboard and the benchmark.
    const timings = { scriptMs: Math.round(performance.now()), peerMs: -1, reservedMs: -1, readyMs: -1, uiMs: -1 }
    // LAN mode (relays.json's `lan`): what invitations give other devices.
    const { relays, lan } = await relayList(location)
    const peer = await startPeer({ relays })
    timings.peerMs = Math.round(performance.now())
    const onRelay = (): void => {
      if (timings.reservedMs < 0 && peer.node.relays.state().some(r => r.reserved)) timings.reservedMs = Math.round(performance.now())
    }
    peer.node.relays.addEventListener('change', onRelay)
    onRelay()
    // The dashboard calls the node directly, so it need not wait for the service worker.
    // uiMs: it shows live data and takes input (the time to interactive we report).
    renderDashboard(app, peer, lan, () => { if (timings.uiMs < 0) timings.uiMs = Math.round(performance.now()) })
    serveToServiceWorker(peer.handle)
    await registerServiceWorker()
    timings.readyMs = Math.round(performance.now())
    ;(globalThis as Record<string, unknown>).lightcafe = { ready: true, peer, timings }
    // Hold the lock for the life of the page.
    await new Promise(() => {})
  })
}
