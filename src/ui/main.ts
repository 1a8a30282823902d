import { explainInsecureOrigin } from './insecure-origin.ts'

// Checked before anything that needs a secure origin is even loaded: on http://<lan-ip> the
// app (libp2p, crypto.subtle, the service worker) would fail with a blank page.
const app = document.querySelector<HTMLElement>('#app')!
if (!isSecureContext) {
  explainInsecureOrigin(app)
} else {
  import('./boot.ts').then(({ boot }) => { boot(app) }, (err: unknown) => {
    // Offline before the app was ever cached, or a deploy that removed this version's files.
    app.textContent = `Lightcafe could not load: ${err instanceof Error ? err.message : String(err)}. Reload the page.`
  })
}
