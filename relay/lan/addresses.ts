import { createSocket } from 'node:dgram'
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

/** Why the first LAN address is the one in the QR code and the invitations. */
export type LanChoiceReason = 'chosen' | 'default route' | 'first found'

export interface LanChoice {
  /** Every address served, the preferred one first (what the QR code and the invitations carry). */
  hosts: string[]
  why: LanChoiceReason
  /** Interface name per address, where known. */
  interfaces: Record<string, string>
}

/**
 * Orders the LAN addresses for devices: the owner's choice (`--lan-address`), else the address
 * of the interface that carries the default route (where a phone on the same Wi-Fi, whose
 * router is the gateway, sends its packets), else the first found. A bridge, a VPN or Docker
 * adds interfaces that no phone can reach; the default route's is the one on the devices' network.
 * `chosen` must be one of the addresses.
 */
export function chooseLanAddresses (
  ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  opts: { override?: string, chosen?: string, routeAddress?: string } = {}
): LanChoice {
  const found = lanAddresses(ifaces, opts.override)
  const interfaces: Record<string, string> = {}
  for (const [name, list] of Object.entries(ifaces)) for (const info of list ?? []) if (found.includes(info.address)) interfaces[info.address] ??= name
  const first = (host: string, why: LanChoiceReason): LanChoice => ({ hosts: [host, ...found.filter(h => h !== host)], why, interfaces })
  const chosen = opts.chosen?.trim()
  if (chosen != null && chosen !== '') {
    if (!found.includes(chosen)) throw new Error(`LAN mode: --lan-address ${chosen} is not one of this host's LAN addresses (${found.join(', ') || 'none'})`)
    return first(chosen, 'chosen')
  }
  if (opts.routeAddress != null && found.includes(opts.routeAddress)) return first(opts.routeAddress, 'default route')
  return { hosts: found, why: 'first found', interfaces }
}

/**
 * The LAN subnets the devices are on, as `first-last` address ranges (coturn's peer ranges):
 * the subnet of the address devices are sent to (`hosts[0]`), or of every address the owner
 * listed (LIGHTCAFE_LAN_HOSTS) or, with no default route, of every address found. Not a VPN's or
 * a container bridge's, which no phone on the Wi-Fi is on. An address on no interface counts as
 * a /24.
 */
export function servedSubnets (choice: Pick<LanChoice, 'hosts' | 'why'>, ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>, override?: string): string[] {
  const served = (override != null && override.trim() !== '') || choice.why === 'first found' ? choice.hosts : choice.hosts.slice(0, 1)
  const toInt = (ip: string): number => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0)
  const toIp = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
  const ranges = served.map(host => {
    const info = Object.values(ifaces).flatMap(l => l ?? []).find(i => i.address === host)
    const mask = toInt(info?.netmask ?? '255.255.255.0')
    const net = (toInt(host) & mask) >>> 0
    return `${toIp(net)}-${toIp((net | (~mask >>> 0)) >>> 0)}`
  })
  return [...new Set(ranges)]
}

/**
 * The local address the kernel would send from to an address beyond the LAN: the default
 * route's interface. A UDP socket's connect() only picks the route; nothing is sent. Undefined
 * when there is no default route.
 */
export async function defaultRouteAddress (): Promise<string | undefined> {
  const socket = createSocket('udp4')
  try {
    // 192.0.2.1 (TEST-NET-1, RFC 5737): no host-specific route ever covers it.
    return await new Promise<string | undefined>(resolve => {
      socket.once('error', () => { resolve(undefined) })
      socket.connect(9, '192.0.2.1', () => { resolve(socket.address().address) })
    })
  } finally {
    socket.close()
  }
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
