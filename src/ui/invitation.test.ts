import { describe, expect, it } from 'vitest'
import { invitationIn, joinLink } from './invitation.ts'

describe('join links', () => {
  it('carry cafe and token in the fragment (never sent to the server) and keep the page\'s relays', () => {
    const link = joinLink('http://127.0.0.1:8080/?relay=%2Fip4%2F127.0.0.1%2Ftcp%2F9090%2Fws&x=1#overview', '12D3KooWCafe', 'abc.def+/=')
    const url = new URL(link)
    expect(url.origin + url.pathname).toBe('http://127.0.0.1:8080/')
    expect(url.searchParams.getAll('relay')).toEqual(['/ip4/127.0.0.1/tcp/9090/ws'])
    expect(url.searchParams.has('token')).toBe(false)
    expect(url.searchParams.has('x')).toBe(false)
    expect(invitationIn(url.hash)).toEqual({ cafe: '12D3KooWCafe', token: 'abc.def+/=' })
  })
  it('in LAN mode carry the LAN\'s https origin and wss relays, never this page\'s loopback ones', () => {
    const wss = '/ip4/192.168.1.20/tcp/9443/tls/ws/p2p/12D3KooWRelay'
    const link = joinLink('http://127.0.0.1:8080/?relay=%2Fip4%2F127.0.0.1%2Ftcp%2F9090%2Fws#overview', '12D3KooWCafe', 'tok', { origin: 'https://192.168.1.20:8443', relays: [wss] })
    const url = new URL(link)
    expect(url.origin + url.pathname).toBe('https://192.168.1.20:8443/')
    expect(url.searchParams.getAll('relay')).toEqual([wss])
    expect(link).not.toContain('127.0.0.1')
    expect(invitationIn(url.hash)).toEqual({ cafe: '12D3KooWCafe', token: 'tok' })
  })
  it('in LAN mode open the plain-HTTP setup page, which goes on to the app once the CA is trusted: relays and fragment ride along', () => {
    const wss = '/ip4/192.168.1.20/tcp/9443/tls/ws/p2p/12D3KooWRelay'
    const link = joinLink('https://192.168.1.20:8443/#overview', '12D3KooWCafe', 'tok', { origin: 'https://192.168.1.20:8443', relays: [wss], setup: 'http://192.168.1.20:8080/setup' })
    const url = new URL(link)
    expect(url.origin + url.pathname).toBe('http://192.168.1.20:8080/setup')
    expect(url.searchParams.getAll('relay')).toEqual([wss])
    expect(invitationIn(url.hash)).toEqual({ cafe: '12D3KooWCafe', token: 'tok' })
  })
  it('are recognised only when both parts are there', () => {
    expect(invitationIn('#clients')).toBeUndefined()
    expect(invitationIn('#join=abc')).toBeUndefined()
    expect(invitationIn('#join=&token=t')).toBeUndefined()
    expect(invitationIn('')).toBeUndefined()
  })
})
