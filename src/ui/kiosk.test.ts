import { describe, expect, it } from 'vitest'
import { banners, invitationIn, joinLink, relayProblem, setupPage } from './kiosk.ts'

const MiB = 2 ** 20
const live = (relays: boolean[], usage: number, quota: number, attempts = 1) => ({ info: { relays: relays.map((connected, i) => ({ multiaddr: `/ip4/127.0.0.1/tcp/${9090 + i}/ws`, connected, attempts: connected ? 0 : attempts })) }, storage: { usage, quota } })

describe('kiosk banners', () => {
  it('are empty while a relay is connected and storage has room', () => {
    expect(banners(live([false, true], 10 * MiB, 100 * MiB))).toEqual([])
    expect(banners(live([], 0, 0))).toEqual([]) // no relays configured: nothing to be cut off from
  })
  it('say when every relay is lost and when storage is past 90 %', () => {
    const [cut, full] = banners(live([false, false], 95 * MiB, 100 * MiB))
    expect(cut.kind).toBe('disconnected')
    expect(cut.text).toMatch(/^Disconnected from the relays/)
    expect(full).toEqual({ kind: 'storage', text: 'Storage is nearly full: 95 of 100 MiB used.' })
    expect(banners(live([true], 90 * MiB, 100 * MiB))).toEqual([])
  })
  it('stay away during the first dial of every relay, and come once one has failed', () => {
    expect(banners(live([false, false], 0, 0, 0))).toEqual([])
    expect(banners(live([false, false], 0, 0, 1)).map(b => b.kind)).toEqual(['disconnected'])
    const refused = { info: { relays: [{ multiaddr: '/ip4/127.0.0.1/tcp/9090/ws', connected: false, attempts: 0, cause: 'refused' as const }] }, storage: { usage: 0, quota: 0 } }
    expect(banners(refused).map(b => b.kind)).toEqual(['disconnected'])
  })
})

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

describe('relay problems', () => {
  const wss = '/ip4/10.77.0.1/tcp/9443/tls/ws/p2p/12D3KooWRelay'
  const setup = setupPage({ origin: 'https://10.77.0.1:8443', relays: [], setup: 'http://10.77.0.1:8080/setup' })
  it('name the relay\'s address and the likely cause', () => {
    expect(setup).toBe('http://10.77.0.1:8080/setup')
    const cert = relayProblem({ multiaddr: wss, cause: 'certificate' }, setup)!
    expect(cert.text).toBe('The relay at 10.77.0.1:9443 did not take a secure (wss) connection: the device may not trust this relay\'s certificate (install the CA from http://10.77.0.1:8080/setup), or the relay is not running.')
    expect(cert).toMatchObject({ relay: wss, link: setup })
    expect(relayProblem({ multiaddr: '/ip4/10.77.0.1/tcp/9090/ws', cause: 'mixed-content' }, setup)!.text).toMatch(/^The relay at 10\.77\.0\.1:9090 has an unencrypted ws:\/\/ address.*mixed content/)
    expect(relayProblem({ multiaddr: '/ip4/127.0.0.1/tcp/9090/ws', cause: 'refused' }, setup)!.text).toBe('The relay at 127.0.0.1:9090 refused the connection: the relay is not running there, or a firewall blocks port 9090.')
    expect(relayProblem({ multiaddr: '/ip6/::1/tcp/9090/ws', cause: 'timeout' }, setup)!.text).toMatch(/^The relay at \[::1\]:9090 did not answer within 10 s/)
    expect(relayProblem({ multiaddr: wss }, setup)).toBeUndefined()
  })
  it('are listed in the disconnection banner', () => {
    const [cut] = banners({ info: { relays: [{ multiaddr: wss, connected: false, cause: 'certificate' }, { multiaddr: '/ip4/10.77.0.1/tcp/9444/tls/ws', connected: false }] }, storage: { usage: 0, quota: 0 } }, setup)
    expect(cut.problems?.map(p => p.relay)).toEqual([wss])
    // Without a setup address from relays.json: the words say where, no link.
    const bare = relayProblem({ multiaddr: wss, cause: 'certificate' }, setupPage({ origin: 'https://x:1', relays: [] }))!
    expect(bare.link).toBeUndefined()
    expect(bare.text).toContain('install the CA from the setup page of the computer running Lightcafe')
  })
})
