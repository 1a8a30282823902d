import { describe, expect, it } from 'vitest'
import { lanOf, relayConfig } from './relays.ts'

const ID = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const loop = `/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`
const lanRelay = `/ip4/192.168.1.20/tcp/9443/tls/ws/p2p/${ID}`

const at = (href: string): Location => new URL(href) as unknown as Location
const serving = (body: unknown, status = 200): typeof fetch => (async () => new Response(JSON.stringify(body), { status })) as typeof fetch

describe('relays.json', () => {
  it('gives the relays this device dials and, in LAN mode, what other devices reach', async () => {
    const cfg = await relayConfig(at('http://127.0.0.1:8080/'), serving({ relays: [loop], lan: { origin: 'https://192.168.1.20:8443/', relays: [lanRelay] } }))
    expect(cfg.relays.map(String)).toEqual([loop])
    expect(cfg.lan).toEqual({ origin: 'https://192.168.1.20:8443', relays: [lanRelay] })
  })
  it('without `lan` (one machine) has none; `?relay=` still wins for the relays', async () => {
    const cfg = await relayConfig(at(`http://127.0.0.1:8080/?relay=${encodeURIComponent(lanRelay)}`), serving({ relays: [loop] }))
    expect(cfg.relays.map(String)).toEqual([lanRelay])
    expect(cfg.lan).toBeUndefined()
    expect((await relayConfig(at('http://127.0.0.1:8080/'), serving([loop]))).relays.map(String)).toEqual([loop])
    expect(await relayConfig(at('http://127.0.0.1:8080/'), serving({}, 404))).toEqual({ relays: [] })
  })
  it('ignores a `lan` that is not an https origin, and drops addresses that are not multiaddrs', () => {
    expect(lanOf({ lan: { origin: 'http://192.168.1.20:8080', relays: [] } })).toBeUndefined()
    expect(lanOf({ lan: { origin: 'not a url', relays: [] } })).toBeUndefined()
    expect(lanOf({ lan: 'https://x' })).toBeUndefined()
    expect(lanOf(null)).toBeUndefined()
    expect(lanOf({ lan: { origin: 'https://h:1', relays: ['nonsense', lanRelay, 7], setup: 'http://h:2/setup' } })).toEqual({ origin: 'https://h:1', relays: [lanRelay], setup: 'http://h:2/setup' })
    expect(lanOf({ lan: { origin: 'https://h:1', setup: 'javascript:alert(1)' } })).toEqual({ origin: 'https://h:1', relays: [] })
  })
})
