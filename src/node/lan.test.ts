import { describe, expect, it } from 'vitest'
import { fetchLan, lanOf } from './lan.ts'

const ID = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const loop = `/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`
const lanRelay = `/ip4/192.168.1.20/tcp/9443/tls/ws/p2p/${ID}`
const serving = (body: unknown, status = 200): typeof fetch => (async () => new Response(typeof body === 'string' ? body : JSON.stringify(body), { status })) as typeof fetch
const page = { href: 'http://127.0.0.1:8080/' }

describe('LAN mode in relays.json', () => {
  it('is the https origin and wss relays other devices reach', async () => {
    expect(await fetchLan(page, serving({ relays: [loop], lan: { origin: 'https://192.168.1.20:8443', relays: [lanRelay] } }))).toEqual({ origin: 'https://192.168.1.20:8443', relays: [lanRelay] })
  })
  it('is absent on one machine, offline, or for a body that is not a relay list', async () => {
    expect(await fetchLan(page, serving({ relays: [loop] }))).toBeUndefined()
    expect(await fetchLan(page, serving({}, 404))).toBeUndefined()
    expect(await fetchLan(page, serving('{not json'))).toBeUndefined()
    expect(await fetchLan(page, serving({ lan: { origin: 'https://h:1', relays: [] }, pad: 'x'.repeat(70_000) }))).toBeUndefined()
    expect(await fetchLan(page, (async () => { throw new TypeError('offline') }) as typeof fetch)).toBeUndefined()
  })
  it('ignores an origin that is not a bare https one, and drops addresses that are not multiaddrs', () => {
    for (const origin of ['http://192.168.1.20:8080', 'https://h:1/path', 'not a url', 42]) expect(lanOf({ lan: { origin, relays: [] } }), String(origin)).toBeUndefined()
    expect(lanOf({ lan: 'https://x' })).toBeUndefined()
    expect(lanOf(null)).toBeUndefined()
    expect(lanOf({ lan: { origin: 'https://h:1', relays: ['nonsense', lanRelay, 7], setup: 'http://h:2/setup' } })).toEqual({ origin: 'https://h:1', relays: [lanRelay], setup: 'http://h:2/setup' })
    expect(lanOf({ lan: { origin: 'https://h:1', setup: 'javascript:alert(1)' } })).toEqual({ origin: 'https://h:1', relays: [] })
  })
})
