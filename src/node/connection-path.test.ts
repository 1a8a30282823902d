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
    expect(pathOfPair({ candidateType: 'prflx', address: '198.51.100.6' }, { candidateType: 'relay', address: '203.0.113.20' })).toBe('turn')
  })
})
