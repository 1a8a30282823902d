import { explainInsecureOrigin } from './insecure-origin.ts'

// Checked before anything that needs a secure origin is even loaded: on http://<lan-ip> the
// app (libp2p, crypto.subtle, the service worker) would fail with a blank page.
const app = document.querySelector<HTMLElement>('#app')!
if (!isSecureContext) {
  explainInsecureOrigin(app)
} else {
  void import('./boot.ts').then(({ boot }) => { boot(app) })
}
