import { describe, expect, it } from 'vitest'
import { bareAddress, certNames, isLoopback, lanAddresses, mdnsName } from './addresses.ts'
import type { NetworkInterfaceInfo } from 'node:os'

const info = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  ({ address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 }) as NetworkInterfaceInfo

describe('LAN addresses', () => {
  const ifaces = {
    lo: [info('127.0.0.1', 'IPv4', true), info('::1', 'IPv6', true)],
    docker0: [info('100.64.0.1', 'IPv4')],
    wlan0: [info('192.168.1.20', 'IPv4'), info('fe80::1', 'IPv6')],
    eth0: [info('169.254.3.4', 'IPv4'), info('10.0.0.7', 'IPv4')]
  }

  it('are the non-internal, non-link-local IPv4 addresses, private ranges first', () => {
    expect(lanAddresses(ifaces, undefined)).toEqual(['192.168.1.20', '10.0.0.7', '100.64.0.1'])
  })

  it('can be chosen by LIGHTCAFE_LAN_HOSTS', () => {
    expect(lanAddresses(ifaces, ' 10.0.0.7, 10.0.0.7,192.168.1.20 ')).toEqual(['10.0.0.7', '192.168.1.20'])
  })

  it('name loopback, IPv4-mapped addresses and the host\'s .local name', () => {
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true)
    expect(isLoopback('::1')).toBe(true)
    expect(isLoopback('10.77.0.1')).toBe(false)
    expect(isLoopback(undefined)).toBe(false)
    expect(bareAddress('::ffff:10.77.0.1')).toBe('10.77.0.1')
    expect(mdnsName('Kitchen-Tablet.fritz.box')).toBe('kitchen-tablet.local')
    expect(certNames(['10.0.0.7'], 'tab')).toEqual({ ips: ['10.0.0.7', '127.0.0.1'], dns: ['localhost', 'tab.local'] })
  })
})
