import { describe, expect, it } from 'vitest'
import { sourceOf } from './source-address.ts'

describe('sourceOf: where a stranger comes from, for per-address bounds', () => {
  it('counts IPv4 by address, IPv6 by /64, IPv4-mapped as IPv4, in multiaddrs and bare', () => {
    expect(sourceOf('/ip4/203.0.113.7/tcp/4001/ws')).toBe('203.0.113.7')
    expect(sourceOf('203.0.113.7')).toBe('203.0.113.7')
    expect(sourceOf('/ip6/2001:db8:1:2:aaaa::1/tcp/4001')).toBe(sourceOf('/ip6/2001:db8:1:2:bbbb:cccc:dddd:eeee/tcp/9'))
    expect(sourceOf('/ip6/2001:db8:1:3::1/tcp/4001')).not.toBe(sourceOf('/ip6/2001:db8:1:2::1/tcp/4001'))
    expect(sourceOf('/ip6/::ffff:198.51.100.1/tcp/1')).toBe('198.51.100.1')
    expect(sourceOf('::ffff:198.51.100.1')).toBe('198.51.100.1')
    expect(sourceOf('/ip6/::1/tcp/1')).toBe('::1')
    expect(sourceOf('::1')).toBe('::1')
  })

  it('gives every spelling of one /64 one key: zeros, case, brackets, zones, a dotted tail', () => {
    const key = sourceOf('2001:db8:0:7::1')
    expect(key).toBe('2001:db8:0:7::/64')
    for (const a of ['2001:0DB8:0000:0007:ffff:ffff:ffff:ffff', '2001:db8:0:7:1:2:3:4', '[2001:db8:0:7::abcd]', '2001:db8:0:7::1.2.3.4', '/ip6zone/eth0/ip6/2001:db8:0:7::9/tcp/1', '2001:db8:0:7::9%eth0']) {
      expect(sourceOf(a), a).toBe(key)
    }
    // A host of the /64 next door is somebody else.
    expect(sourceOf('2001:db8:0:8::1')).not.toBe(key)
  })

  it('leaves what is no address as it is, and counts a relayed connection under its relay', () => {
    for (const bad of ['', 'not-an-address', '1:2:3', '1::2::3', '12345::1']) expect(sourceOf(bad)).toBe(bad.toLowerCase())
    expect(sourceOf('/dns4/relay.example.org/tcp/443/tls/ws/p2p/QmRelay/p2p-circuit/p2p/QmPeer')).toBe('/dns4/relay.example.org/tcp/443/tls/ws/p2p/QmRelay')
  })
})
