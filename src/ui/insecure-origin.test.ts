import { describe, expect, it } from 'vitest'
import { secureAddresses } from './insecure-origin.ts'

describe('the insecure-origin page\'s links', () => {
  it('without LAN mode: the same host over https, the invitation in the fragment kept; no setup page known', () => {
    expect(secureAddresses({ href: 'http://10.77.0.1:8080/?relay=x#join=C&token=T' })).toEqual({ https: 'https://10.77.0.1:8080/?relay=x#join=C&token=T' })
  })
  it('in LAN mode: its https origin, and the setup page beside this http one (or the one it names)', () => {
    expect(secureAddresses({ href: 'http://192.168.1.20:8080/#join=C&token=T' }, { origin: 'https://192.168.1.20:8443', relays: [] }))
      .toEqual({ https: 'https://192.168.1.20:8443/#join=C&token=T', setup: 'http://192.168.1.20:8080/setup' })
    expect(secureAddresses({ href: 'http://192.168.1.20:8080/' }, { origin: 'https://192.168.1.20:8443', relays: [], setup: 'http://192.168.1.20:8080/ca' }).setup).toBe('http://192.168.1.20:8080/ca')
  })
})
