import { hostname } from 'node:os'
import { join } from 'node:path'
import { renderUnicodeCompact } from 'uqr'
import { certNames, lanAddresses } from './addresses.ts'
import { loadOrCreateCa } from './ca.ts'
import { RENEW_WITHIN_DAYS, ensureServerCert } from './certs.ts'
import type { LocalCa } from './ca.ts'
import type { ServerCert } from './certs.ts'

export interface LanConfig {
  /** LAN IPv4 addresses served (every one is in the certificate). */
  hosts: string[]
  httpsPort: number
  wssPort: number
  /** The plain-HTTP port: the app on loopback, the setup page on the LAN addresses. */
  httpPort: number
  ca: LocalCa
  cert: ServerCert
}

/** Loads (or creates) the CA under `stateDir/tls` and a server certificate for every LAN address now up. */
export async function prepareLan (opts: { stateDir: string, httpPort: number, httpsPort: number, wssPort: number, hosts?: string[] }): Promise<LanConfig> {
  const hosts = opts.hosts ?? lanAddresses()
  if (hosts.length === 0) throw new Error('LAN mode: this host has no LAN IPv4 address (is it on a network?); set LIGHTCAFE_LAN_HOSTS to choose one')
  const dir = join(opts.stateDir, 'tls')
  const ca = await loadOrCreateCa(dir, new Date(), hosts)
  const cert = await ensureServerCert(dir, ca, certNames(hosts))
  return { hosts, httpsPort: opts.httpsPort, wssPort: opts.wssPort, httpPort: opts.httpPort, ca, cert }
}

/** What the terminal shows: the URLs for other devices and a QR code a phone's camera opens. */
export function lanBanner (lan: LanConfig): string {
  const [first] = lan.hosts
  const setup = `http://${first}:${lan.httpPort}/setup`
  const lines = [
    '',
    'LAN mode: other devices on this network open',
    ...lan.hosts.map(h => `  https://${h}:${lan.httpsPort}/        the app`),
    ...lan.hosts.map(h => `  http://${h}:${lan.httpPort}/setup    first time on a device: install the local CA`),
    `local CA ${lan.ca.certFile} (SHA-256 ${lan.ca.fingerprint})${lan.ca.created ? ', created now' : ''}`,
    `server certificate for ${[...lan.cert.names.ips, ...lan.cert.names.dns].join(', ')}, valid until ${lan.cert.notAfter.toISOString().slice(0, 10)}${lan.cert.issued != null ? ` (issued now: ${lan.cert.issued})` : ''}`,
    '',
    // The setup page rather than the app: a device that does not trust the CA yet cannot open
    // the HTTPS app at all, and the setup page leads to it in one tap once it does.
    `Scan to set up a phone or tablet (${setup}):`,
    renderUnicodeCompact(setup, { border: 1 }),
    `On ${hostname()} itself, use the app at http://127.0.0.1:${lan.httpPort}/`
  ]
  return lines.join('\n')
}

/**
 * Why the LAN servers must start again (and so renew the certificate): the LAN addresses are
 * not the ones served any more (Wi-Fi changed, DHCP gave another address), or the certificate
 * is within RENEW_WITHIN_DAYS of expiry. Undefined while all is well.
 */
export function lanChange (served: string[], current: string[], notAfter: Date, now = new Date()): string | undefined {
  const added = current.filter(h => !served.includes(h))
  const gone = served.filter(h => !current.includes(h))
  if (current.length > 0 && (added.length > 0 || gone.length > 0)) {
    return `LAN addresses changed (${[...added.map(h => `+${h}`), ...gone.map(h => `-${h}`)].join(' ')})`
  }
  if (notAfter.getTime() - now.getTime() < RENEW_WITHIN_DAYS * 86_400_000) return `the server certificate expires on ${notAfter.toISOString().slice(0, 10)}`
  return undefined
}
