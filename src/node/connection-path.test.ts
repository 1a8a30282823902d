import { describe, expect, it } from 'vitest'
import { pathOfPair } from './connection-path.ts'

describe('the path of a WebRTC connection, from its selected candidate pair', () => {
  it('tells a LAN pair, a pair through NAT, and one through TURN apart', () => {
    expect(pathOfPair({ candidateType: 'host', address: '192.168.1.10' }, { candidateType: 'host', address: '192.168.1.11' })).toBe('direct')
    // A peer that hides its host address behind an mDNS name is seen as prflx on its private address: still the LAN.
    expect(pathOfPair({ candidateType: 'host', address: '192.168.1.10' }, { candidateType: 'prflx', address: '192.168.1.11' })).toBe('direct')
    expect(pathOfPair({ candidateType: 'srflx', address: '198.51.100.6' }, { candidateType: 'prflx', address: '198.51.100.2' })).toBe('nat')
    expect(pathOfPair({ candidateType: 'host', address: '10.0.0.2' }, { candidateType: 'prflx', address: '198.51.100.2' })).toBe('nat')
    expect(pathOfPair({ candidateType: 'relay', address: '203.0.113.20' }, { candidateType: 'srflx', address: '198.51.100.2' })).toBe('turn')
    // Chromium hides a remote prflx address: the signalled candidate on the same port says what it is.
    const hidden = { candidateType: 'prflx', address: '', port: 50123 } as const
    expect(pathOfPair({ candidateType: 'host', address: '10.77.0.2', port: 4000 }, hidden, [], [{ candidateType: 'host', address: 'x.local', port: 50123 }])).toBe('direct')
    expect(pathOfPair({ candidateType: 'host', address: '10.77.0.2', port: 4000 }, hidden, [], [{ candidateType: 'srflx', address: '198.51.100.6', port: 50123 }])).toBe('nat')
    // None matches, and that side has STUN (it signalled a srflx): a symmetric NAT's fresh mapping, through NAT.
    expect(pathOfPair({ candidateType: 'host', address: '10.77.0.2', port: 4000 }, hidden, [], [{ candidateType: 'host', address: 'x.local', port: 9 }, { candidateType: 'srflx', address: '198.51.100.6', port: 10 }])).toBe('nat')
    // None matches, and that side has no STUN (no srflx or relay candidate): it learned no mapping,
    // so the hidden address is one of its own host addresses not yet signalled: the LAN.
    expect(pathOfPair({ candidateType: 'host', address: '10.77.0.2', port: 4000 }, hidden, [], [{ candidateType: 'host', address: 'x.local', port: 9 }])).toBe('direct')
    expect(pathOfPair({ candidateType: 'prflx', address: '198.51.100.6' }, { candidateType: 'relay', address: '203.0.113.20' })).toBe('turn')
  })
})
