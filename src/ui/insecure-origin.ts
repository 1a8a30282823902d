import { fetchLan } from '../node/lan.ts'
import type { LanInfo } from '../node/lan.ts'

/**
 * The page for an insecure origin (http://<lan-ip>): browsers give service workers and
 * `crypto.subtle` only to HTTPS pages and to the device itself, so Lightcafe cannot start
 * there. This module runs before anything that needs them, uses plain DOM, and never throws.
 */

export interface SecureAddresses {
  /** The app over HTTPS: LAN mode's origin if known, else this host with https:; path, query and fragment (an invitation) kept. */
  https: string
  /** The page that installs the certificate, when LAN mode says there is one. */
  setup?: string
}

/** Where to send a visitor from an insecure page. */
export function secureAddresses (here: { href: string }, lan?: LanInfo): SecureAddresses {
  const url = new URL(here.href)
  const https = new URL(url.pathname + url.search + url.hash, lan?.origin ?? `https://${url.host}`)
  return { https: https.toString(), ...(lan != null ? { setup: lan.setup ?? new URL('/setup', url.origin).toString() } : {}) }
}

function el<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Record<string, string>, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  e.append(...children)
  return e
}

function render (root: HTMLElement, to: SecureAddresses, lanKnown: boolean): void {
  const here = location.host
  const go = el('p', { class: 'go' }, 'Open the secure address: ', el('a', { href: to.https, 'data-testid': 'https-link' }, to.https.replace(/#.*$/, '')))
  const steps: Node = to.setup != null
    ? el('ol', {},
      el('li', {}, 'The first time on this device: ', el('a', { href: to.setup, 'data-testid': 'setup-link' }, 'install the cafe\'s certificate'), ' (the setup page says how on Android, iPhone and iPad, and desktop browsers).'),
      el('li', {}, go))
    : go
  root.replaceChildren(el('div', { class: 'layout single' },
    el('header', {}, el('h1', {}, el('span', {}, 'Lightcafe'))),
    el('main', { 'data-testid': 'insecure-origin' },
      el('h2', {}, 'Lightcafe cannot run at this address'),
      el('p', {}, `This page came over plain HTTP (http://${here}). Browsers give the two things Lightcafe needs — a service worker and encryption — only to pages served over HTTPS, or from this device itself. So nothing here can start, and no data was stored.`),
      steps,
      el('p', {}, lanKnown
        ? 'If the secure address warns about its certificate, install the certificate first, then open it again.'
        : 'If the secure address does not open, the computer running Lightcafe does not serve HTTPS yet: start it in LAN mode (see its README), which prints the address to open and a QR code for it.')
    )
  ))
  document.title = 'Lightcafe: open the secure address'
}

/** Shows the explanation at once, then refines the links from `/relays.json` (LAN mode's https origin and setup page). */
export function explainInsecureOrigin (root: HTMLElement): void {
  render(root, secureAddresses(location), false)
  void fetchLan(location).then(lan => { if (lan != null) render(root, secureAddresses(location, lan), true) })
}
