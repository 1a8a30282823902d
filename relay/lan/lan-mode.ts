import { hostname } from 'node:os'
import { join } from 'node:path'
import { renderUnicodeCompact } from 'uqr'
import { networkInterfaces } from 'node:os'
import { certNames, chooseLanAddresses, defaultRouteAddress, servedSubnets } from './addresses.ts'
import { loadOrCreateCa } from './ca.ts'
import { RENEW_WITHIN_DAYS, ensureServerCert } from './certs.ts'
import type { LanChoiceReason } from './addresses.ts'
import type { LocalCa } from './ca.ts'
import type { ServerCert } from './certs.ts'

export interface LanConfig {
  /** LAN IPv4 addresses served (every one is in the certificate), the one devices are sent to first. */
  hosts: string[]
  /** Why the first is first (the owner chose it, it carries the default route, it came first). */
  why: LanChoiceReason
  /** Interface name per address, where known. */
  interfaces: Record<string, string>
  /** The subnets devices are on (`first-last`): the only private peers LAN mode's TURN relays to. */
  subnets: string[]
  httpsPort: number
  wssPort: number
  /** The plain-HTTP port: the app on loopback, the setup page on the LAN addresses. */
  httpPort: number
  ca: LocalCa
  cert: ServerCert
}

/**
 * Loads (or creates) the CA under `stateDir/tls` and a server certificate for every LAN address
 * now up. `chosen` (`--lan-address`): the address for the QR code and invitations; by default
 * the default route's (see chooseLanAddresses). `hosts` replaces the detection (tests).
 */
export async function prepareLan (opts: { stateDir: string, httpPort: number, httpsPort: number, wssPort: number, hosts?: string[], chosen?: string }): Promise<LanConfig> {
  const ifaces = networkInterfaces()
  const choice = opts.hosts != null
    ? { hosts: opts.hosts, why: 'first found' as const, interfaces: {} }
    : chooseLanAddresses(ifaces, { override: process.env.LIGHTCAFE_LAN_HOSTS, chosen: opts.chosen, routeAddress: await defaultRouteAddress() })
  const { hosts } = choice
  if (hosts.length === 0) throw new Error('LAN mode: this host has no LAN IPv4 address (is it on a network?); set LIGHTCAFE_LAN_HOSTS to choose one')
  const dir = join(opts.stateDir, 'tls')
  const ca = await loadOrCreateCa(dir, new Date(), hosts)
  const cert = await ensureServerCert(dir, ca, certNames(hosts))
  return { ...choice, subnets: servedSubnets(choice, ifaces, process.env.LIGHTCAFE_LAN_HOSTS), httpsPort: opts.httpsPort, wssPort: opts.wssPort, httpPort: opts.httpPort, ca, cert }
}

/** `10.0.0.7 (wlan0, default route)`: an address with its interface and, for the first, why devices are sent there. */
function named (lan: LanConfig, host: string): string {
  const notes = [lan.interfaces[host], host === lan.hosts[0] && lan.hosts.length > 1 ? lan.why : undefined].filter(n => n != null)
  return notes.length > 0 ? `(${notes.join(', ')})` : ''
}

/** What the terminal shows: the URLs for other devices and a QR code a phone's camera opens. */
export function lanBanner (lan: LanConfig): string {
  const [first] = lan.hosts
  const setup = `http://${first}:${lan.httpPort}/setup`
  const lines = [
    '',
    'LAN mode: other devices on this network open',
    ...lan.hosts.map(h => `  https://${h}:${lan.httpsPort}/        the app ${named(lan, h)}`.trimEnd()),
    ...lan.hosts.map(h => `  http://${h}:${lan.httpPort}/setup    first time on a device: install the local CA ${named(lan, h)}`.trimEnd()),
    ...(lan.hosts.length > 1 ? [`The QR code and invitations use ${first} ${named(lan, first)}; another: npm start -- --lan --lan-address <address> (or LIGHTCAFE_LAN_ADDRESS)`] : []),
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
