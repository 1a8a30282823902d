import { describe, expect, it } from 'vitest'
import { stub } from '../../test/fixtures/stub.ts'
import { relayList } from './relays.ts'

const ID = '12D3KooWF1jrabN6uHr7g1F96TsXv1QdWq7ov3qy8MCui4FZuims'
const LOOP = `/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`
const WSS = `/ip4/10.77.0.1/tcp/9443/tls/ws/p2p/${ID}`
const at = (href: string): Location => { const u = new URL(href); return stub<Location>({ href: u.href, origin: u.origin, protocol: u.protocol, host: u.host, hostname: u.hostname, port: u.port, pathname: u.pathname, search: u.search, hash: u.hash }) }
const serving = (body: unknown, status = 200): typeof fetch => (async () => new Response(typeof body === 'string' ? body : JSON.stringify(body), { status })) as typeof fetch

describe('relay list of a page', () => {
  it('reads the ICE servers relays.json names (bounded, TURN only with credentials)', async () => {
    const list = await relayList(at('https://10.77.0.1:8443/'), serving({ relays: [WSS], iceServers: [{ urls: ['stun:10.77.0.1:3478'] }, { urls: ['turn:10.77.0.1:3478'], username: '1:x', credential: 'pw', expiresAt: 1000 }, { urls: ['turn:nocreds.example'] }] }))
    expect(list.iceServers).toEqual([{ urls: ['stun:10.77.0.1:3478'] }, { urls: ['turn:10.77.0.1:3478'], username: '1:x', credential: 'pw', expiresAt: 1000 }])
  })

  it('reads relays and the LAN block from relays.json', async () => {
    const list = await relayList(at('http://127.0.0.1:8080/'), serving({ relays: [LOOP], lan: { origin: 'https://10.77.0.1:8443', relays: [WSS] } }))
    expect(list.relays.map(String)).toEqual([LOOP])
    expect(list.lan?.origin).toBe('https://10.77.0.1:8443')
    expect(list.lan?.relays).toEqual([WSS])
    expect((await relayList(at('http://127.0.0.1:8080/'), serving({ relays: [LOOP] }))).relays.map(String)).toEqual([LOOP])
  })

  it('lets ?relay= win for relays but keeps the served LAN block', async () => {
    const list = await relayList(at(`https://10.77.0.1:8443/?relay=${encodeURIComponent(WSS)}`), serving({ relays: [LOOP], lan: { origin: 'https://10.77.0.1:8443', relays: [WSS] } }))
    expect(list.relays.map(String)).toEqual([WSS])
    expect(list.lan?.origin).toBe('https://10.77.0.1:8443')
  })

  it('drops a LAN origin that is not https or not a bare origin, bad multiaddrs, and oversized or broken lists', async () => {
    for (const origin of ['http://10.77.0.1:8080', 'https://10.77.0.1:8443/path', 'javascript:alert(1)', 42]) {
      expect((await relayList(at('http://127.0.0.1:8080/'), serving({ relays: [LOOP], lan: { origin, relays: [WSS] } }))).lan).toBeUndefined()
    }
    expect((await relayList(at('http://127.0.0.1:8080/'), serving({ relays: ['not a multiaddr', 7, LOOP] }))).relays.map(String)).toEqual([LOOP])
    expect((await relayList(at('http://127.0.0.1:8080/'), serving(JSON.stringify({ relays: [LOOP], pad: 'x'.repeat(70_000) })))).relays).toEqual([])
    expect((await relayList(at('http://127.0.0.1:8080/'), serving('{not json'))).relays).toEqual([])
    expect((await relayList(at('http://127.0.0.1:8080/'), serving({}, 404))).relays).toEqual([])
    expect(await relayList(at('http://127.0.0.1:8080/'), (async () => { throw new TypeError('offline') }) as typeof fetch)).toEqual({ relays: [], iceServers: [] })
  })
})
