import { BlockList, isIP } from 'node:net'
import type { IncomingHttpHeaders } from 'node:http'

/**
 * The client behind a reverse proxy the owner trusts (`--trusted-proxy`). A proxy on this host
 * (Caddy, nginx) connects from 127.0.0.1 for everyone, so every per-address bound would see one
 * address; the proxy names the real client in a header it sets. That header is believed only on
 * connections from the trusted proxy: from anyone else it is a stranger's claim.
 *
 * One header is read, the one the proxy sets (`x-forwarded-for` by default: Caddy sets it, nginx
 * with `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`; or `forwarded`, RFC 7239).
 * Proxies pass on headers they do not set, so reading the other one too would let a client
 * write its own. A proxy appends the address it saw to what the client sent, so the rightmost
 * entry is the one to believe; entries added by further trusted proxies are skipped.
 */
export type ProxyHeader = 'x-forwarded-for' | 'forwarded'

export interface TrustedProxy {
  /** True for an address (as a socket reports it) of a proxy we trust. */
  trusts(address: string): boolean
  header: ProxyHeader
  /** As given, for logs. */
  describe: string
}

/** `spec`: comma-separated addresses or CIDR ranges (`127.0.0.1,10.0.0.0/8,::1`). Throws on anything else. */
export function trustedProxy (spec: string, header: string = 'x-forwarded-for'): TrustedProxy {
  if (header !== 'x-forwarded-for' && header !== 'forwarded') throw new Error(`--proxy-header must be x-forwarded-for or forwarded, not ${header}`)
  const list = new BlockList()
  const parts = spec.split(',').map(s => s.trim()).filter(s => s !== '')
  if (parts.length === 0) throw new Error('--trusted-proxy needs an address')
  for (const part of parts) {
    const [ip, bits] = part.split('/')
    const family = isIP(ip)
    if (family === 0 || (bits != null && !/^\d{1,3}$/.test(bits))) throw new Error(`--trusted-proxy: ${part} is not an address or CIDR range`)
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (bits == null) list.addAddress(ip, type)
    else list.addSubnet(ip, Number(bits), type)
  }
  const trusts = (address: string): boolean => {
    const family = isIP(address)
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
  }
  return { trusts, header, describe: `${parts.join(',')} (${header})` }
}

/** An address as a forwarding header writes it (`1.2.3.4:80`, `[2001:db8::1]:80`, `"[::1]"`), bare, or undefined. */
function bareAddress (entry: string): string | undefined {
  let s = entry.trim().replace(/^"|"$/g, '')
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s)
  if (bracketed != null) s = bracketed[1]
  else if (/^[\d.]+:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'))
  return isIP(s) !== 0 ? s : undefined
}

/** The `for=` addresses of a `Forwarded` header, in order (undefined where one is `unknown` or obfuscated). */
function forwardedFor (value: string): Array<string | undefined> {
  return value.split(',').map(element => {
    const pair = element.split(';').map(p => p.trim()).find(p => /^for=/i.test(p))
    return pair == null ? undefined : bareAddress(pair.slice(4))
  })
}

/**
 * The client's address for a request that came from `peer`: the one the trusted proxy names,
 * or `peer` itself (not a trusted proxy; or the proxy named nobody usable: then everyone it
 * carries shares its address, which errs on the side of the bound).
 */
export function clientAddress (peer: string, headers: IncomingHttpHeaders, proxy: TrustedProxy | undefined): string {
  if (proxy == null || !proxy.trusts(peer)) return peer
  const raw = headers[proxy.header]
  const value = Array.isArray(raw) ? raw.join(',') : raw
  if (value == null || value === '') return peer
  const entries = proxy.header === 'forwarded' ? forwardedFor(value) : value.split(',').map(bareAddress)
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]
    if (entry == null) return peer
    if (!proxy.trusts(entry)) return entry
  }
  return peer
}
