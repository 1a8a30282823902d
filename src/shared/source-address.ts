/**
 * Where a stranger comes from, as every per-address bound counts it (the relay directory's
 * listings, HTTP connection caps, rate limits): an IPv4 address, or an IPv6 /64 — one host is
 * routinely given a whole /64, so counting single IPv6 addresses would give it 2^64 budgets.
 * IPv4-mapped IPv6 counts as its IPv4 address; `::1` stays itself.
 *
 * Takes a bare address as Node reports it (`203.0.113.7`, `::ffff:203.0.113.7`,
 * `2001:db8::1`, `fe80::1%eth0`) or a multiaddr (`/ip6/2001:db8::1/tcp/4001/ws`; anything not
 * `/ip4` or `/ip6` counts under its part before `/p2p-circuit`: a relayed connection under its
 * relay). Something that is no address at all is returned as given.
 */
export function sourceOf (address: string): string {
  if (address.startsWith('/')) {
    const parts = address.split('/')
    if (parts[1] === 'ip4' || parts[1] === 'ip6') return sourceOfIp(parts[2])
    if (parts[1] === 'ip6zone' && parts[3] === 'ip6') return sourceOfIp(parts[4])
    return address.split('/p2p-circuit')[0]
  }
  return sourceOfIp(address)
}

function sourceOfIp (raw: string): string {
  const host = raw.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase()
  if (!host.includes(':')) return host
  const groups = ip6Groups(host)
  if (groups == null) return host
  if (groups.slice(0, 7).every(g => g === 0) && groups[7] === 1) return '::1'
  if (groups.slice(0, 5).every(g => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.')
  }
  return `${groups.slice(0, 4).map(g => g.toString(16)).join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail converted), or undefined. */
function ip6Groups (host: string): number[] | undefined {
  let text = host
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted != null) {
    const b = dotted.slice(1).map(Number)
    if (b.some(n => n > 255)) return undefined
    text = `${text.slice(0, dotted.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const part = (s: string): string[] => s === '' ? [] : s.split(':')
  const head = part(halves[0])
  const tail = halves.length === 2 ? part(halves[1]) : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  if (!all.every(g => /^[0-9a-f]{1,4}$/.test(g))) return undefined
  return all.map(g => parseInt(g, 16))
}
