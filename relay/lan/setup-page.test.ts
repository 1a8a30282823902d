import { X509Certificate } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrCreateCa } from './ca.ts'
import { startSetupServer } from './setup-server.ts'
import type { LocalCa } from './ca.ts'
import type { SetupServer } from './setup-server.ts'

let dir: string
let ca: LocalCa
let server: SetupServer
const ORIGIN = 'https://192.168.1.20:8443'

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lightcafe-setup-'))
  ca = await loadOrCreateCa(dir)
  server = await startSetupServer({ host: '127.0.0.1', port: 0, context: { httpsOrigin: ORIGIN, hostName: 'tab<b>.local', ca } })
})
afterAll(async () => {
  await server.stop()
  await rm(dir, { recursive: true, force: true })
})

const get = async (path: string, init?: RequestInit): Promise<Response> => fetch(server.url + path, { redirect: 'manual', ...init })

describe('setup page over plain HTTP', () => {
  it('is static HTML with a strict CSP, only its own script, per-platform steps, the CA fingerprint and a link to the HTTPS app', async () => {
    const res = await get('/setup')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).toContain("script-src 'self'")
    // Fetches only from the HTTPS app: how it tells whether the CA is trusted.
    expect(csp).toContain(`connect-src ${ORIGIN};`)
    const html = await res.text()
    expect(html.match(/<script[^>]*>/gi)).toEqual(['<script src="/setup.js" defer>'])
    expect(html).not.toMatch(/<script[^>]*>[^<]|\son\w+=|style=/i)
    expect(html).toContain(`data-app="${ORIGIN}"`)
    // The invitation section is there for the script to show, hidden without one.
    expect(html).toMatch(/<section id="invited" [^>]*hidden>/)
    const js = await get('/setup.js')
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await js.text()).toContain('location.replace(target.href)')
    expect(html).toContain('<html lang="en" data-app=')
    for (const heading of ['Android', 'iPhone and iPad (iOS, iPadOS)', 'Desktop Chrome, Edge and other Chromium browsers', 'Firefox (desktop)']) expect(html).toContain(`>${heading}</h2>`)
    expect(html).toContain('Certificate Trust Settings')
    expect(html).toContain(ca.fingerprint)
    expect(html).toContain(`<a class="button" href="${ORIGIN}/">Open Lightcafe over HTTPS</a>`)
    expect(html).toContain('tab&lt;b&gt;.local') // the host name is escaped
    expect((await get('/setup.css')).headers.get('content-type')).toBe('text/css; charset=utf-8')
  })

  it('offers the CA as PEM, as DER (.crt, application/x-x509-ca-cert) and as an iOS profile with a com.apple.security.root payload', async () => {
    const pem = await get('/ca.pem')
    expect(pem.headers.get('content-type')).toBe('application/x-pem-file')
    expect(await pem.text()).toBe(ca.pem)

    const der = await get('/ca.crt')
    expect(der.headers.get('content-type')).toBe('application/x-x509-ca-cert')
    expect(der.headers.get('content-disposition')).toBe('attachment; filename="lightcafe-ca.crt"')
    const bytes = new Uint8Array(await der.arrayBuffer())
    expect(new X509Certificate(bytes).fingerprint256).toBe(ca.fingerprint)
    expect((await get('/ca.der')).headers.get('content-type')).toBe('application/x-x509-ca-cert')

    const profile = await get('/lightcafe.mobileconfig')
    expect(profile.headers.get('content-type')).toBe('application/x-apple-aspen-config')
    const plist = await profile.text()
    expect(plist).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE plist/)
    expect(plist).toContain('<string>com.apple.security.root</string>')
    expect(plist).toContain('<string>Configuration</string>')
    const data = /<data>([\s\S]*?)<\/data>/.exec(plist)?.[1].replace(/\s/g, '') ?? ''
    expect(new X509Certificate(Buffer.from(data, 'base64')).fingerprint256).toBe(ca.fingerprint)
    // The same CA always gives the same profile identifiers: installing again replaces it.
    const uuids = [...plist.matchAll(/<key>PayloadUUID<\/key>\s*<string>([0-9A-F-]{36})<\/string>/g)].map(m => m[1])
    expect(uuids).toHaveLength(2)
  })

  it('sends / to the setup page and everything else to the same path on the HTTPS app; read-only', async () => {
    const root = await get('/')
    expect(root.status).toBe(302)
    expect(root.headers.get('location')).toBe('/setup')
    const app = await get('/some/route?relay=x')
    expect(app.status).toBe(302)
    expect(app.headers.get('location')).toBe(`${ORIGIN}/some/route?relay=x`)
    expect((await get('/relays.json')).headers.get('location')).toBe(`${ORIGIN}/relays.json`)
    const post = await get('/setup', { method: 'POST', body: 'x' })
    expect(post.status).toBe(405)
    expect((await post.json()).error.reason).toBe('METHOD_NOT_ALLOWED')
  })
})
