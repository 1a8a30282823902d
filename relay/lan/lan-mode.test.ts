import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { lanBanner, lanChange, prepareLan } from './lan-mode.ts'

const DAY = 86_400_000

describe('LAN mode', () => {
  it('starts again when an address appears or goes, or the certificate nears expiry; not when Wi-Fi is merely off', () => {
    const now = new Date('2026-12-01T00:00:00Z')
    const fine = new Date(now.getTime() + 100 * DAY)
    expect(lanChange(['192.168.1.20'], ['192.168.1.20'], fine, now)).toBeUndefined()
    expect(lanChange(['192.168.1.20'], ['192.168.1.20', '10.0.0.7'], fine, now)).toBe('LAN addresses changed (+10.0.0.7)')
    expect(lanChange(['192.168.1.20'], ['192.168.1.31'], fine, now)).toBe('LAN addresses changed (+192.168.1.31 -192.168.1.20)')
    expect(lanChange(['192.168.1.20'], [], fine, now)).toBeUndefined()
    expect(lanChange(['192.168.1.20'], ['192.168.1.20'], new Date(now.getTime() + 29 * DAY), now)).toMatch(/^the server certificate expires on /)
  })

  it('prepares the CA and a certificate for the addresses, and prints the URLs and a QR code of the setup page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lightcafe-lanmode-'))
    try {
      const lan = await prepareLan({ stateDir: dir, httpPort: 8080, httpsPort: 8443, wssPort: 9443, hosts: ['192.168.1.20'] })
      expect(lan.cert.names.ips).toEqual(['192.168.1.20', '127.0.0.1'])
      const banner = lanBanner(lan)
      expect(banner).toContain('https://192.168.1.20:8443/')
      expect(banner).toContain('http://192.168.1.20:8080/setup')
      expect(banner).toContain(lan.ca.fingerprint)
      expect(banner).toMatch(/[█▀▄]{10,}/) // the QR code's block characters
      await expect(prepareLan({ stateDir: dir, httpPort: 8080, httpsPort: 8443, wssPort: 9443, hosts: [] })).rejects.toThrow(/no LAN IPv4 address/)

      // Two interfaces: each URL names its own, and the QR code carries the default route's.
      const two = lanBanner({ ...lan, hosts: ['192.168.1.20', '172.17.0.1'], why: 'default route', interfaces: { '192.168.1.20': 'wlp2s0', '172.17.0.1': 'docker0' } })
      expect(two).toContain('https://192.168.1.20:8443/        the app (wlp2s0, default route)')
      expect(two).toContain('https://172.17.0.1:8443/        the app (docker0)')
      expect(two).toContain('The QR code and invitations use 192.168.1.20 (wlp2s0, default route); another: npm start -- --lan --lan-address <address>')
      expect(two).toContain('Scan to set up a phone or tablet (http://192.168.1.20:8080/setup)')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
