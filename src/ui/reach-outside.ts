import type { ConnectionPath } from '../node/connection-path.ts'

/** The host of a `stun:`/`turn:`/`turns:` URL (no brackets), or undefined. */
export function iceHost (url: string): string | undefined {
  const m = /^(?:stuns?|turns?):(?:\[([^\]]+)\]|([^:?/]+))/i.exec(url)
  return (m?.[1] ?? m?.[2])?.toLowerCase()
}

/**
 * Whether a host can only be reached from its own network: loopback, private, shared (CGNAT)
 * and link-local addresses, unique-local IPv6, and `localhost`/`.local` names. A STUN/TURN server
 * there (LAN mode's coturn) helps devices of that network only.
 */
export function localOnly (host: string): boolean {
  if (host === 'localhost' || host.endsWith('.local') || host.endsWith('.localhost')) return true
  const v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host)
  if (v4 != null) {
    const [a, b] = [Number(v4[1]), Number(v4[2])]
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127)
  }
  return host === '::1' || /^f[cd]|^fe[89ab]/i.test(host)
}

/**
 * Whether, and how, other networks reach this device, for the cafe owner: judged from the
 * STUN/TURN servers it holds (only those other networks can reach count), and from evidence —
 * a connection now straight through NAT is a device on another network.
 */
export function outsideReach (iceServers: string[], paths: ConnectionPath[] = []): string {
  const reachable = iceServers.filter(u => { const h = iceHost(u); return h != null && !localOnly(h) })
  const seen = paths.includes('nat') ? ' (a device on another network is connected through NAT now)' : ''
  if (reachable.some(u => /^turns?:/i.test(u))) return `from other networks too: directly through NAT where it allows, else through a TURN server${seen}`
  if (reachable.some(u => /^stuns?:/i.test(u))) return `from most other networks (directly through NAT); not from behind a symmetric NAT, as no TURN server other networks reach is configured${seen}`
  if (seen !== '') return `from some other networks: a device on another network is connected through NAT now, but no STUN or TURN server other networks reach is configured, so most cannot`
  const local = iceServers.length > 0 ? ': its STUN/TURN server is on a private address (LAN mode), which other networks cannot reach' : ': no STUN or TURN server is configured'
  return `only from its own network for anything but small requests through the relay${local}`
}
