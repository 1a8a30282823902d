import { describe, expect, it } from 'vitest'
import { bareAddress, certNames, chooseLanAddresses, isLoopback, lanAddresses, mdnsName, servedSubnets } from './addresses.ts'
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

  describe('the one devices are sent to (QR code, invitations)', () => {
    // A laptop on a Wi-Fi (the default route) with a Docker bridge whose address sorts first.
    const host = {
      lo: [info('127.0.0.1', 'IPv4', true)],
      docker0: [info('172.17.0.1', 'IPv4')],
      wlp2s0: [info('192.168.1.20', 'IPv4')]
    }

    it('is the address of the interface carrying the default route, even when another interface comes first', () => {
      expect(lanAddresses(host, undefined)[0]).toBe('172.17.0.1')
      expect(chooseLanAddresses(host, { routeAddress: '192.168.1.20' })).toEqual({
        hosts: ['192.168.1.20', '172.17.0.1'],
        why: 'default route',
        interfaces: { '172.17.0.1': 'docker0', '192.168.1.20': 'wlp2s0' }
      })
    })

    it('is the owner\'s choice when given (one of the addresses), else the first found', () => {
      expect(chooseLanAddresses(host, { routeAddress: '192.168.1.20', chosen: '172.17.0.1' })).toMatchObject({ hosts: ['172.17.0.1', '192.168.1.20'], why: 'chosen' })
      expect(() => chooseLanAddresses(host, { chosen: '10.9.9.9' })).toThrow(/not one of this host's LAN addresses/)
      // No default route, or one through an interface not served (a VPN filtered out by LIGHTCAFE_LAN_HOSTS).
      expect(chooseLanAddresses(host, {})).toMatchObject({ hosts: ['172.17.0.1', '192.168.1.20'], why: 'first found' })
      expect(chooseLanAddresses(host, { routeAddress: '10.8.0.2' })).toMatchObject({ why: 'first found' })
    })
  })
})

describe('the LAN subnets LAN mode\'s TURN may relay to', () => {
  const iface = (address: string, netmask: string): NetworkInterfaceInfo => ({ address, netmask, family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: null })
  const ifaces = { wlan0: [iface('192.168.1.20', '255.255.255.0')], docker0: [iface('172.17.0.1', '255.255.0.0')], tun0: [iface('10.8.0.2', '255.255.255.252')] }

  it('is the subnet of the address devices are sent to, not a container bridge\'s or a VPN\'s', () => {
    const choice = chooseLanAddresses(ifaces, { routeAddress: '192.168.1.20' })
    expect(choice.hosts).toEqual(['192.168.1.20', '172.17.0.1', '10.8.0.2'])
    expect(servedSubnets(choice, ifaces)).toEqual(['192.168.1.0-192.168.1.255'])
  })

  it('is every listed address\'s subnet when the owner lists them, or with no default route (an address on no interface: its /24)', () => {
    expect(servedSubnets(chooseLanAddresses(ifaces, { override: '192.168.1.20,10.8.0.2' }), ifaces, '192.168.1.20,10.8.0.2')).toEqual(['192.168.1.0-192.168.1.255', '10.8.0.0-10.8.0.3'])
    expect(servedSubnets({ hosts: ['10.1.2.3'], why: 'first found' }, {})).toEqual(['10.1.2.0-10.1.2.255'])
  })
})
