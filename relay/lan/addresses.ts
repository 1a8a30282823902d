import { hostname as osHostname, networkInterfaces } from 'node:os'
import type { NetworkInterfaceInfo } from 'node:os'

/**
 * The host's LAN IPv4 addresses: every non-internal, non-link-local IPv4 address, private
 * ranges first (those are what phones on the same Wi-Fi reach). `LIGHTCAFE_LAN_HOSTS`
 * (comma-separated) replaces the detected list, for a host with interfaces it must not serve on.
 */
export function lanAddresses (
  ifaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
  override: string | undefined = process.env.LIGHTCAFE_LAN_HOSTS
): string[] {
  if (override != null && override.trim() !== '') {
    return [...new Set(override.split(',').map(s => s.trim()).filter(s => s !== ''))]
  }
  const found = new Set<string>()
  for (const list of Object.values(ifaces)) {
    for (const info of list ?? []) {
      // Node 18.0–18.3 reported family as a number.
      const v4 = info.family === 'IPv4' || (info.family as unknown) === 4
      if (!v4 || info.internal || info.address.startsWith('169.254.')) continue
      found.add(info.address)
    }
  }
  return [...found].sort((a, b) => Number(!isPrivate(a)) - Number(!isPrivate(b)))
}

/** RFC 1918 ranges. */
export function isPrivate (ip: string): boolean {
  const [a, b] = ip.split('.').map(Number)
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
}

/** A socket address as a bare IPv4/IPv6 string (`::ffff:10.0.0.1` → `10.0.0.1`). */
export function bareAddress (address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/i, '')
}

export function isLoopback (address: string | undefined): boolean {
  const a = bareAddress(address)
  return a.startsWith('127.') || a === '::1' || a === 'localhost'
}

/** `<hostname>.local`, the mDNS name phones resolve on most LANs (first label only, lower case). */
export function mdnsName (name: string = osHostname()): string {
  const label = name.split('.')[0].toLowerCase().replace(/[^a-z0-9-]/g, '-')
  return `${label === '' ? 'lightcafe' : label}.local`
}

export interface CertNames { ips: string[], dns: string[] }

/** Everything the server certificate must cover: the LAN addresses, loopback, `localhost` and `<hostname>.local`. */
export function certNames (lan: string[], name: string = osHostname()): CertNames {
  return { ips: [...new Set([...lan, '127.0.0.1'])], dns: ['localhost', mdnsName(name)] }
}
