import { call } from './local-api.ts'
import type { RunningPeer } from './peer.ts'

/**
 * What makes a spare tablet a good cafe: the screen stays on while the cafe runs, storage is
 * persistent and its use shown, a banner says when the node is cut off or storage is nearly
 * full, a new version offers itself with a reload button, and clients are invited with a QR
 * code whose link registers them in one step.
 */

const NEARLY_FULL = 0.9

/** The join link for a token: opening it on another device registers that device with this cafe. */
export function joinLink (origin: string, cafe: string, token: string): string {
  const url = new URL('/', origin)
  url.searchParams.set('join', cafe)
  url.searchParams.set('token', token)
  return url.toString()
}

/** On a page opened from a join link: registers, says how it went, and drops the token from the address bar. */
export async function acceptJoin (peer: RunningPeer, say: (text: string, ok: boolean) => void): Promise<void> {
  const params = new URLSearchParams(location.search)
  const cafe = params.get('join')
  const token = params.get('token')
  if (cafe == null || token == null) return
  history.replaceState(null, '', location.pathname)
  try {
    await call(peer, 'POST', '/api/v0/cafes', { cafe, token })
    say(`Joined the cafe ${cafe.slice(0, 12)}…: this device backs up, receives messages and publishes its contact there.`, true)
  } catch (err) {
    say(`Could not join the cafe: ${(err as Error).message}`, false)
  }
}

/** Screen wake lock while cafe mode is on, re-taken when the tab becomes visible again. */
export function keepAwake (isCafe: () => Promise<boolean>, report: (state: string) => void): () => void {
  let lock: WakeLockSentinel | undefined
  const take = async (): Promise<void> => {
    if (!(await isCafe())) { await lock?.release(); lock = undefined; report('off (not a cafe)'); return }
    if (lock != null && !lock.released) return
    if (navigator.wakeLock == null) { report('not supported by this browser'); return }
    try {
      lock = await navigator.wakeLock.request('screen')
      report('screen kept on')
      lock.addEventListener('release', () => { report('released (tab hidden)') })
    } catch (err) {
      report(`refused: ${(err as Error).message}`)
    }
  }
  const onVisible = (): void => { if (document.visibilityState === 'visible') void take() }
  document.addEventListener('visibilitychange', onVisible)
  void take()
  return () => { void take() }
}

/** Banners: cut off from every relay, storage nearly full. Empty when all is well. */
export function banners (live: { info: { relays: Array<{ connected: boolean }> }, storage: { usage: number, quota: number } }): string[] {
  const out: string[] = []
  const { relays } = live.info
  const s = live.storage
  if (relays.length > 0 && !relays.some(r => r.connected)) out.push('Disconnected from the relays: reconnecting… Peers cannot reach this cafe until then.')
  if (s.quota > 0 && s.usage / s.quota > NEARLY_FULL) out.push(`Storage is nearly full: ${Math.round(s.usage / 2 ** 20)} of ${Math.round(s.quota / 2 ** 20)} MiB used.`)
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
    if (reg.waiting != null && navigator.serviceWorker.controller != null) offer(reg.waiting)
    reg.addEventListener('updatefound', () => {
      const next = reg.installing
      next?.addEventListener('statechange', () => { if (next.state === 'installed' && navigator.serviceWorker.controller != null) offer(next) })
    })
    // A cafe tab stays open for days: look for a new version now and then.
    setInterval(() => { void reg.update().catch(() => {}) }, 30 * 60_000)
  })
}
