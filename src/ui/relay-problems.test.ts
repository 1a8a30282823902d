import { describe, expect, it } from 'vitest'
import { banners } from './banners.ts'
import { relayProblem, setupPage } from './relay-problems.ts'

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
