import { X509Certificate as NodeX509, createPublicKey } from 'node:crypto'
import { mkdtemp, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { createServer } from 'node:https'
import { connect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { certNames } from './addresses.ts'
import { CA_VALIDITY_DAYS, loadOrCreateCa } from './ca.ts'
import { RENEW_WITHIN_DAYS, SERVER_VALIDITY_DAYS, ensureServerCert } from './certs.ts'
import { startStaticServer } from '../static-server.ts'
import { setupResponse } from './setup-page.ts'

const DAY = 86_400_000
let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'lightcafe-certs-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

/** Subject alternative names as OpenSSL reads them (not through the library that wrote them). */
function sans (pem: string): string[] {
  return (new NodeX509(pem).subjectAltName ?? '').split(', ').filter(s => s !== '')
}

/** A real TLS handshake against `cert`, verified by Node's OpenSSL with only `ca` trusted. */
async function handshake (cert: { cert: string, key: string }, ca: string, host: string, servername?: string): Promise<{ authorized: boolean, error?: string }> {
  const server = createServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.end('ok'))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  try {
    return await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ca, servername, rejectUnauthorized: false, checkServerIdentity: () => undefined }, () => {
        // Chain and name, as a browser checks them: the name is `host` (an IP or a DNS name).
        const peer = socket.getPeerX509Certificate()
        const nameOk = peer != null && (/^\d+\.\d+\.\d+\.\d+$/.test(host) ? peer.checkIP(host) != null : peer.checkHost(host) != null)
        const error = socket.authorizationError?.toString() ?? (nameOk ? undefined : `name ${host} not in the certificate`)
        resolve({ authorized: socket.authorized && nameOk, error })
        socket.end()
      })
      socket.on('error', err => resolve({ authorized: false, error: err.message }))
    })
  } finally {
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
}

describe('local CA', () => {
  it('is created once and reused across restarts: same key and fingerprint from the same directory, key file 0600', async () => {
    const first = await loadOrCreateCa(dir)
    expect(first.created).toBe(true)
    const again = await loadOrCreateCa(dir)
    expect(again.created).toBe(false)
    expect(again.fingerprint).toBe(first.fingerprint)
    expect(again.pem).toBe(first.pem)
    expect(createPublicKey(again.pem).export({ format: 'jwk' })).toEqual(createPublicKey(first.pem).export({ format: 'jwk' }))
    expect((await stat(first.keyFile)).mode & 0o777).toBe(0o600)
    const node = new NodeX509(first.pem)
    expect(node.ca).toBe(true)
    expect(node.fingerprint256).toBe(first.fingerprint)
    const days = (Date.parse(node.validTo) - Date.parse(node.validFrom)) / DAY
    expect(days).toBeGreaterThanOrEqual(CA_VALIDITY_DAYS)
    // Another directory is another CA.
    const other = await loadOrCreateCa(join(dir, 'other'))
    expect(other.fingerprint).not.toBe(first.fingerprint)
  })

  it('refuses a key that does not belong to the certificate', async () => {
    await loadOrCreateCa(dir)
    const other = await loadOrCreateCa(join(dir, 'b'))
    await writeFile(join(dir, 'ca.key'), await (await import('node:fs/promises')).readFile(other.keyFile))
    await expect(loadOrCreateCa(dir)).rejects.toMatchObject({ reason: 'CA_KEY_MISMATCH' })
  })
})

describe('server certificate', () => {
  it('covers every LAN address, loopback, localhost and <host>.local, is valid 397 days from now, and passes a real TLS check with only the CA trusted', async () => {
    const ca = await loadOrCreateCa(dir)
    const now = new Date()
    const names = certNames(['192.168.1.20', '10.0.0.7'], 'Tablet.lan')
    const cert = await ensureServerCert(dir, ca, names, now)
    expect(cert.issued).toBe('missing')
    expect(sans(cert.cert).sort()).toEqual(['DNS:localhost', 'DNS:tablet.local', 'IP Address:10.0.0.7', 'IP Address:127.0.0.1', 'IP Address:192.168.1.20'].sort())
    const node = new NodeX509(cert.cert)
    expect(node.ca).toBe(false)
    expect(node.checkIssued(new NodeX509(ca.pem))).toBe(true)
    expect(node.verify(new NodeX509(ca.pem).publicKey)).toBe(true)
    expect(node.keyUsage).toContain('1.3.6.1.5.5.7.3.1') // serverAuth
    expect(Date.parse(node.validFrom)).toBeLessThanOrEqual(now.getTime())
    expect(Math.round((Date.parse(node.validTo) - now.getTime()) / DAY)).toBe(SERVER_VALIDITY_DAYS)
    expect((await stat(join(dir, 'server.key'))).mode & 0o777).toBe(0o600)

    expect(await handshake(cert, ca.pem, '127.0.0.1')).toEqual({ authorized: true, error: undefined })
    expect(await handshake(cert, ca.pem, 'localhost', 'localhost')).toEqual({ authorized: true, error: undefined })
    expect((await handshake(cert, ca.pem, 'example.org', 'example.org')).authorized).toBe(false)
    // Another CA's devices do not trust it.
    const stranger = await loadOrCreateCa(join(dir, 'stranger'))
    expect((await handshake(cert, stranger.pem, '127.0.0.1')).authorized).toBe(false)
  })

  it('is kept while it fits, and issued again when an address appears (keeping the old names), near expiry, or for another CA', async () => {
    const ca = await loadOrCreateCa(dir)
    const now = new Date()
    const first = await ensureServerCert(dir, ca, certNames(['192.168.1.20'], 'tablet'), now)
    const same = await ensureServerCert(dir, ca, certNames(['192.168.1.20'], 'tablet'), now)
    expect(same.issued).toBeUndefined()
    expect(same.cert).toBe(first.cert)
    expect(same.key).toBe(first.key)

    const grown = await ensureServerCert(dir, ca, certNames(['10.1.2.3'], 'tablet'), now)
    expect(grown.issued).toBe('new-name')
    expect(grown.cert).not.toBe(first.cert)
    expect(sans(grown.cert)).toEqual(expect.arrayContaining(['IP Address:10.1.2.3', 'IP Address:192.168.1.20']))

    const later = new Date(grown.notAfter.getTime() - (RENEW_WITHIN_DAYS - 1) * DAY)
    const renewed = await ensureServerCert(dir, ca, certNames(['10.1.2.3'], 'tablet'), later)
    expect(renewed.issued).toBe('expiring')
    expect(renewed.notAfter.getTime()).toBeGreaterThan(grown.notAfter.getTime())
    const notYet = new Date(grown.notAfter.getTime() - (RENEW_WITHIN_DAYS + 1) * DAY)
    expect((await ensureServerCert(dir, ca, certNames(['10.1.2.3'], 'tablet'), notYet)).issued).toBeUndefined()

    // The CA was replaced (its directory wiped and made again): the certificate follows.
    await rm(ca.keyFile)
    await rm(ca.certFile)
    const ca2 = await loadOrCreateCa(dir)
    const moved = await ensureServerCert(dir, ca2, certNames(['10.1.2.3'], 'tablet'), notYet)
    expect(moved.issued).toBe('other-ca')
    expect(new NodeX509(moved.cert).checkIssued(new NodeX509(ca2.pem))).toBe(true)
  })

  it('private keys stay out of every served path: the app root and the setup page never return them', async () => {
    // The layout of `npm start -- --lan`: dist/ served, .lightcafe/tls/ beside it.
    const tls = join(dir, '.lightcafe', 'tls')
    const root = join(dir, 'dist')
    await mkdir(root, { recursive: true })
    await writeFile(join(root, 'index.html'), '<!doctype html><title>app</title>')
    const ca = await loadOrCreateCa(tls)
    const cert = await ensureServerCert(tls, ca, certNames(['192.168.1.20'], 'tablet'))
    expect(relative(root, ca.keyFile).startsWith('..')).toBe(true)
    const web = await startStaticServer({ root, port: 0, relays: () => [], tls: { cert: cert.cert, key: cert.key } })
    try {
      const { request } = await import('node:https')
      const get = async (path: string): Promise<{ status: number, body: string }> => new Promise((resolve, reject) => {
        // A raw path: a client could send `..` segments a URL parser would fold away.
        request({ host: '127.0.0.1', port: new URL(web.url).port, path, ca: ca.pem, method: 'GET' }, res => {
          let body = ''
          res.on('data', (c: Buffer) => { body += c.toString() })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        }).on('error', reject).end()
      })
      for (const path of ['/../.lightcafe/tls/ca.key', '/..%2f.lightcafe%2ftls%2fca.key', '/.lightcafe/tls/ca.key', '/ca.key', '/server.key', '/%2e%2e/.lightcafe/tls/server.key']) {
        const res = await get(path)
        expect(res.body, path).not.toContain('PRIVATE KEY')
      }
      expect((await get('/')).body).toContain('<title>app</title>')
    } finally {
      await web.stop()
    }
    const context = { httpsOrigin: 'https://192.168.1.20:8443', hostName: 'tablet.local', ca }
    for (const path of ['/ca.key', '/server.key', '/.lightcafe/tls/ca.key', '/../ca.key']) {
      const res = setupResponse('GET', new URL(path, 'http://x'), context)
      expect(res.status, path).toBe(302)
      expect(String(res.body)).not.toContain('PRIVATE KEY')
    }
  })
})

describe('name constraints', () => {
  it('limit what the CA can vouch for to private and loopback addresses, *.local and localhost (OpenSSL enforces them)', async () => {
    const ca = await loadOrCreateCa(dir, new Date(), ['192.168.1.20', '203.0.113.9'])
    const ok = await ensureServerCert(dir, ca, certNames(['192.168.1.20'], 'tablet'))
    expect(await handshake(ok, ca.pem, '192.168.1.20')).toEqual({ authorized: true, error: undefined })
    // A LAN on a public address given at creation is permitted as that one address.
    await mkdir(join(dir, 'own'), { recursive: true })
    const own = await ensureServerCert(join(dir, 'own'), ca, { ips: ['203.0.113.9'], dns: [] })
    expect((await handshake(own, ca.pem, '203.0.113.9')).authorized).toBe(true)
    // Even with the CA's key, a certificate for a public name or address is refused by the device.
    for (const [names, host] of [[{ ips: ['8.8.8.8'], dns: [] }, '8.8.8.8'], [{ ips: [], dns: ['example.org'] }, 'example.org']] as const) {
      const sub = join(dir, host)
      await mkdir(sub, { recursive: true })
      const forged = await ensureServerCert(sub, ca, { ips: [...names.ips], dns: [...names.dns] })
      // Signed by the CA all right: what fails is the chain's name constraints (`openssl verify`
      // says "error 47: permitted subtree violation"; Node reports it as UNSPECIFIED).
      expect(new NodeX509(forged.cert).verify(new NodeX509(ca.pem).publicKey)).toBe(true)
      const res = await handshake(forged, ca.pem, host, host.includes('.org') ? host : undefined)
      expect(res.authorized, host).toBe(false)
      expect(res.error, host).toMatch(/PERMITTED_VIOLATION|permitted subtree violation|UNSPECIFIED/i)
    }
  })
})
