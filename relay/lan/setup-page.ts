/**
 * The plain-HTTP setup page a new device opens first: it cannot load the HTTPS app until it
 * trusts the local CA, so this page (and only this page, its style sheet, its script and the
 * CA files) is served without TLS. Everything else redirects to the HTTPS app. Static HTML and
 * one small script of its own (no inline code, a strict CSP): in LAN mode invitations lead
 * here, and the script tells whether this device trusts the CA yet (by fetching from the HTTPS
 * app) and then goes on to the app with the invitation (its fragment) intact.
 */

import { errorBody } from '../../src/shared/errors.ts'
import { statusOf } from '../../src/shared/reasons.ts'

export interface SetupContext {
  /** The HTTPS app on the address this request arrived on, e.g. https://192.168.1.20:8443 */
  httpsOrigin: string
  /** The host's name, shown so a visitor knows whose CA this is. */
  hostName: string
  ca: { pem: string, der: Uint8Array, fingerprint: string }
}

export interface SetupResponse {
  status: number
  headers: Record<string, string>
  body: string | Uint8Array
}

export const CA_FILES = {
  pem: '/ca.pem',
  der: '/ca.crt',
  mobileconfig: '/lightcafe.mobileconfig'
} as const

/** The page may run its own script and fetch only from the HTTPS app (to learn whether the CA is trusted). */
const csp = (httpsOrigin: string): string => `default-src 'none'; script-src 'self'; connect-src ${httpsOrigin}; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

function escape (s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

export function setupHtml (ctx: SetupContext): string {
  const app = escape(ctx.httpsOrigin + '/')
  const host = escape(ctx.hostName)
  const fp = escape(ctx.ca.fingerprint)
  return `<!doctype html>
<html lang="en" data-app="${escape(ctx.httpsOrigin)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set up this device for Lightcafe</title>
<link rel="stylesheet" href="/setup.css">
<script src="/setup.js" defer></script>
</head>
<body>
<main>
<h1>Set up this device for Lightcafe</h1>
<p id="trust" role="status"></p>
<section id="invited" aria-labelledby="invited-h" hidden>
<h2 id="invited-h">You were invited to a cafe</h2>
<p>This device must trust the cafe's certificate authority first: install it with the steps below, then come back to this page.
It goes on to the invitation by itself once the CA is trusted, or continue here:</p>
<p><a id="continue" class="button" href="${app}">Continue to the invitation</a></p>
</section>
<p>The Lightcafe on <strong>${host}</strong> runs over HTTPS with a certificate from its own local
certificate authority (CA). Browsers run the app only on a secure connection, so this device must
trust that CA once. Install it with the steps for your device below, then open the app.</p>
<p>Check that the CA you install has this SHA-256 fingerprint:<br><code class="fp">${fp}</code></p>

<section aria-labelledby="get">
<h2 id="get">Download the CA</h2>
<ul class="files">
<li><a href="${CA_FILES.mobileconfig}">iPhone / iPad profile (lightcafe.mobileconfig)</a></li>
<li><a href="${CA_FILES.der}" download="lightcafe-ca.crt">Certificate for Android, Windows, macOS (lightcafe-ca.crt)</a></li>
<li><a href="${CA_FILES.pem}" download="lightcafe-ca.pem">Certificate as PEM, for Firefox and Linux (lightcafe-ca.pem)</a></li>
</ul>
</section>

<section aria-labelledby="android">
<h2 id="android">Android</h2>
<ol>
<li>Download <a href="${CA_FILES.der}" download="lightcafe-ca.crt">lightcafe-ca.crt</a>.</li>
<li>Open Settings, Security and privacy, More security settings, Encryption and credentials,
Install a certificate, <em>CA certificate</em> (names vary by maker: search Settings for "CA certificate").</li>
<li>Accept the warning and pick the downloaded file. Chrome on Android then trusts it.</li>
<li>Firefox for Android: it trusts user CAs only with "Use third party CA certificates" turned on
(Settings, About Firefox, tap the logo five times, then Settings, Secret Settings).</li>
</ol>
</section>

<section aria-labelledby="ios">
<h2 id="ios">iPhone and iPad (iOS, iPadOS)</h2>
<ol>
<li>Open this page in Safari and download the <a href="${CA_FILES.mobileconfig}">profile</a>; allow the download.</li>
<li>Open Settings, tap <em>Profile Downloaded</em> (or General, VPN and Device Management), choose the Lightcafe profile and tap Install.</li>
<li>Then Settings, General, About, <em>Certificate Trust Settings</em>: turn on full trust for "Lightcafe local CA". Without this step Safari still refuses the app.</li>
</ol>
</section>

<section aria-labelledby="desktop">
<h2 id="desktop">Desktop Chrome, Edge and other Chromium browsers</h2>
<ul>
<li>Windows: open <a href="${CA_FILES.der}" download="lightcafe-ca.crt">lightcafe-ca.crt</a>, Install Certificate, Current User, and place it in <em>Trusted Root Certification Authorities</em>.</li>
<li>macOS: open the certificate in Keychain Access (login keychain), open it, and under Trust choose <em>Always Trust</em>.</li>
<li>Linux: in Chrome, Settings, Privacy and security, Security, Manage certificates, Authorities (or Local certificates), Import
<a href="${CA_FILES.pem}" download="lightcafe-ca.pem">lightcafe-ca.pem</a> and trust it for identifying websites.
From a terminal: <code>certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n lightcafe -i lightcafe-ca.pem</code></li>
</ul>
</section>

<section aria-labelledby="firefox">
<h2 id="firefox">Firefox (desktop)</h2>
<p>Firefox keeps its own list of CAs. Open Settings, Privacy and Security, Certificates, View Certificates,
Authorities, Import, choose <a href="${CA_FILES.pem}" download="lightcafe-ca.pem">lightcafe-ca.pem</a> and tick
"Trust this CA to identify websites".
From a terminal, with Firefox closed: <code>certutil -d sql:PROFILE -A -t "C,," -n lightcafe -i lightcafe-ca.pem</code>,
where PROFILE is the folder about:support names as the profile folder.</p>
</section>

<section aria-labelledby="open">
<h2 id="open">Open the app</h2>
<p>Once the CA is trusted:</p>
<p><a class="button" href="${app}">Open Lightcafe over HTTPS</a></p>
<p>If the browser still warns that the connection is not private, the CA is not trusted yet: check the steps above. Do not click through the warning: the app cannot run that way.</p>
</section>
</main>
</body>
</html>
`
}

export const SETUP_CSS = `:root { color-scheme: light dark; --fg: #1a1a1a; --bg: #fdfdfb; --accent: #0b5cad; --accent-fg: #fff; }
@media (prefers-color-scheme: dark) { :root { --fg: #ececec; --bg: #17181a; --accent: #7db8ff; --accent-fg: #0a0a0a; } }
body { margin: 0; font: 1rem/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 42rem; margin: 0 auto; padding: 1rem; }
a { color: var(--accent); }
code { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.fp { font-size: .85rem; }
.button { display: inline-block; padding: .75rem 1.25rem; border-radius: .5rem; background: var(--accent); color: var(--accent-fg); font-weight: 600; text-decoration: none; }
.button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 3px; }
`

/**
 * The page's script: says whether this device trusts the CA (a fetch from the HTTPS app fails
 * on an untrusted certificate), checked again when the page is shown again (after installing
 * the CA in Settings) and every few seconds; with an invitation in the fragment it shows the
 * invitation's link and, once the CA is trusted, goes on to it: the HTTPS app, the `relay`
 * parameters and the fragment kept. The fragment (an invitation's token) is kept in memory only
 * and taken out of this page's URL at once: a device that leaves by the link rather than the
 * automatic replace would otherwise keep the plain-HTTP URL with the token in its history.
 */
export const SETUP_JS = `(() => {
  const app = document.documentElement.dataset.app
  const target = new URL('/', app)
  for (const relay of new URLSearchParams(location.search).getAll('relay')) target.searchParams.append('relay', relay)
  target.hash = location.hash
  const invited = new URLSearchParams(location.hash.slice(1)).has('join')
  if (location.hash !== '') history.replaceState(history.state, '', location.pathname + location.search)
  const status = document.getElementById('trust')
  if (invited) {
    document.getElementById('invited').hidden = false
    document.getElementById('continue').href = target.href
  }
  let busy = false
  const check = async () => {
    if (busy) return
    busy = true
    try {
      await fetch(new URL('/relays.json', app), { mode: 'no-cors', cache: 'no-store' })
      status.textContent = invited ? 'This device trusts the CA: opening the invitation…' : 'This device trusts the CA: the app opens over HTTPS.'
      if (invited) location.replace(target.href)
    } catch {
      status.textContent = 'This device does not trust the CA yet: install it with the steps below.'
    } finally {
      busy = false
    }
  }
  void check()
  addEventListener('focus', () => { void check() })
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') void check() })
  setInterval(() => { void check() }, 3000)
})()
`

/** Deterministic UUID-shaped identifier from the CA fingerprint: downloading again replaces the same profile. */
function uuidFrom (fingerprint: string, salt: string): string {
  const hex = (salt + fingerprint.replace(/:/g, '')).toUpperCase().slice(0, 32).padEnd(32, '0')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/** An (unsigned) iOS/iPadOS configuration profile carrying the CA as a com.apple.security.root payload. */
export function mobileconfig (ctx: SetupContext): string {
  const b64 = Buffer.from(ctx.ca.der).toString('base64').replace(/(.{64})/g, '$1\n')
  const id = ctx.ca.fingerprint.replace(/:/g, '').slice(0, 16).toLowerCase()
  const host = escape(ctx.hostName)
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>PayloadCertificateFileName</key>
      <string>lightcafe-ca.cer</string>
      <key>PayloadContent</key>
      <data>
${b64}
      </data>
      <key>PayloadDescription</key>
      <string>Lets this device reach the Lightcafe on ${host} over HTTPS.</string>
      <key>PayloadDisplayName</key>
      <string>Lightcafe local CA</string>
      <key>PayloadIdentifier</key>
      <string>org.lightcafe.ca.${id}</string>
      <key>PayloadType</key>
      <string>com.apple.security.root</string>
      <key>PayloadUUID</key>
      <string>${uuidFrom(ctx.ca.fingerprint, 'CA')}</string>
      <key>PayloadVersion</key>
      <integer>1</integer>
    </dict>
  </array>
  <key>PayloadDescription</key>
  <string>Installs the local certificate authority of the Lightcafe on ${host}. After installing, turn on full trust in Settings, General, About, Certificate Trust Settings.</string>
  <key>PayloadDisplayName</key>
  <string>Lightcafe on ${host}</string>
  <key>PayloadIdentifier</key>
  <string>org.lightcafe.profile.${id}</string>
  <key>PayloadRemovalDisallowed</key>
  <false/>
  <key>PayloadType</key>
  <string>Configuration</string>
  <key>PayloadUUID</key>
  <string>${uuidFrom(ctx.ca.fingerprint, 'F0')}</string>
  <key>PayloadVersion</key>
  <integer>1</integer>
</dict>
</plist>
`
}

/**
 * The plain-HTTP LAN listener: the setup page, its style sheet and the CA's public files;
 * `/` goes to the setup page (a device arriving over plain HTTP most likely has not set up
 * yet); every other path redirects to the same path on the HTTPS app.
 */
export function setupResponse (method: string, url: URL, ctx: SetupContext): SetupResponse {
  const common = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: statusOf('METHOD_NOT_ALLOWED'), headers: { ...common, allow: 'GET, HEAD', 'content-type': 'application/json' }, body: JSON.stringify(errorBody('METHOD_NOT_ALLOWED', 'the setup page is read-only')) }
  }
  const download = (name: string): Record<string, string> => ({ 'content-disposition': `attachment; filename="${name}"` })
  switch (url.pathname) {
    case '/':
      return { status: 302, headers: { ...common, location: '/setup' }, body: '' }
    case '/setup':
      return { status: 200, headers: { ...common, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp(ctx.httpsOrigin), 'referrer-policy': 'no-referrer' }, body: setupHtml(ctx) }
    case '/setup.js':
      return { status: 200, headers: { ...common, 'content-type': 'text/javascript; charset=utf-8' }, body: SETUP_JS }
    case '/favicon.ico':
      // Asked for by browsers on their own; sent on to the HTTPS app it would break the page's CSP.
      return { status: 404, headers: { ...common, 'content-type': 'text/plain; charset=utf-8' }, body: '' }
    case '/setup.css':
      return { status: 200, headers: { ...common, 'content-type': 'text/css; charset=utf-8' }, body: SETUP_CSS }
    case CA_FILES.pem:
      return { status: 200, headers: { ...common, ...download('lightcafe-ca.pem'), 'content-type': 'application/x-pem-file' }, body: ctx.ca.pem }
    case CA_FILES.der:
    case '/ca.der':
      return { status: 200, headers: { ...common, ...download('lightcafe-ca.crt'), 'content-type': 'application/x-x509-ca-cert' }, body: ctx.ca.der }
    case CA_FILES.mobileconfig:
      // Opened, not saved: Safari hands a profile served with this type to Settings.
      return { status: 200, headers: { ...common, 'content-type': 'application/x-apple-aspen-config' }, body: mobileconfig(ctx) }
    default:
      return { status: 302, headers: { ...common, location: ctx.httpsOrigin + url.pathname + url.search }, body: '' }
  }
}
