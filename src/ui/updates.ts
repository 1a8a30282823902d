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
