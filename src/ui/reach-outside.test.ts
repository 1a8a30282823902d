import { describe, expect, it } from 'vitest'
import { iceHost, localOnly, outsideReach } from './reach-outside.ts'

describe('the owner\'s "reachable from outside" line', () => {
  it('reads the host of each STUN/TURN URL', () => {
    expect(iceHost('turn:203.0.113.20:3478?transport=udp')).toBe('203.0.113.20')
    expect(iceHost('turns:Relay.Example.org:443?transport=tcp')).toBe('relay.example.org')
    expect(iceHost('stun:[2001:db8::1]:3478')).toBe('2001:db8::1')
    expect(iceHost('https://x')).toBeUndefined()
  })

  it('tells LAN-only hosts from ones other networks reach', () => {
    for (const h of ['192.168.1.20', '10.0.0.5', '172.20.1.1', '127.0.0.1', '169.254.3.3', '100.72.1.1', 'tablet.local', 'localhost', 'fd00::1', 'fe80::1', '::1']) expect(localOnly(h), h).toBe(true)
    for (const h of ['203.0.113.20', '8.8.8.8', '172.32.0.1', 'relay.example.org', '2001:db8::1']) expect(localOnly(h), h).toBe(false)
  })

  it('in LAN mode (TURN on a private address) says only its own network, not "from other networks too"', () => {
    const lan = ['stun:192.168.1.20:3478', 'turn:192.168.1.20:3478?transport=udp', 'turn:192.168.1.20:3478?transport=tcp']
    expect(outsideReach(lan)).toMatch(/^only from its own network.*private address/)
    expect(outsideReach(lan, ['direct', 'turn'])).toMatch(/^only from its own network/)
  })

  it('with a public TURN server, from other networks too; STUN only, most; none, its own network', () => {
    expect(outsideReach(['stun:203.0.113.20:3478', 'turn:203.0.113.20:3478?transport=udp'])).toMatch(/^from other networks too: .*TURN server$/)
    expect(outsideReach(['stun:stun.example.net:3478'])).toMatch(/^from most other networks/)
    expect(outsideReach([])).toMatch(/^only from its own network.*no STUN or TURN server is configured$/)
  })

  it('takes a connection through NAT as evidence', () => {
    expect(outsideReach(['turn:relay.example.org:3478'], ['nat'])).toMatch(/connected through NAT now\)$/)
    expect(outsideReach(['stun:192.168.1.20:3478'], ['nat'])).toMatch(/^from some other networks/)
  })
})
