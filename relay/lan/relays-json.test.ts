import { describe, expect, it } from 'vitest'
import { relayView, relaysJson } from './relays-json.ts'
import { startStaticServer } from '../static-server.ts'
import { iceServersFor } from '../turn/credentials.ts'
import { createHmac } from 'node:crypto'

const ID = '12D3KooWF1jrabN6uHr7g1F96TsXv1QdWq7ov3qy8MCui4FZuims'
const RELAY = [
  `/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`,
  `/ip4/192.168.1.20/tcp/9443/tls/ws/p2p/${ID}`,
  `/ip4/10.0.0.7/tcp/9443/tls/ws/p2p/${ID}`
]
const lanView = relayView(RELAY, ['192.168.1.20', '10.0.0.7'], 8443)

describe('/relays.json per requesting host', () => {
  it('gives a request on loopback the loopback ws relay, plus the LAN origin and wss relay to invite others with', () => {
    for (const local of ['127.0.0.1', '::ffff:127.0.0.1', '::1']) {
      expect(relaysJson(local, lanView)).toEqual({
        relays: [`/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`],
        lan: { origin: 'https://192.168.1.20:8443', relays: [`/ip4/192.168.1.20/tcp/9443/tls/ws/p2p/${ID}`] }
      })
    }
  })

  it('gives a request on a LAN address only the wss relay on that same address, never a loopback one', () => {
    expect(relaysJson('10.0.0.7', lanView)).toEqual({
      relays: [`/ip4/10.0.0.7/tcp/9443/tls/ws/p2p/${ID}`],
      lan: { origin: 'https://10.0.0.7:8443', relays: [`/ip4/10.0.0.7/tcp/9443/tls/ws/p2p/${ID}`] }
    })
    const mapped = relaysJson('::ffff:192.168.1.20', lanView)
    expect(mapped.relays).toEqual([`/ip4/192.168.1.20/tcp/9443/tls/ws/p2p/${ID}`])
    expect(mapped.lan?.origin).toBe('https://192.168.1.20:8443')
    // An address the server does not know (it binds only the LAN ones): still nothing on loopback.
    expect(JSON.stringify(relaysJson('172.16.0.9', lanView))).not.toContain('127.0.0.1')
  })

  it('names the setup page on the same LAN address when the server gives its port', () => {
    const withSetup = relayView(RELAY, ['192.168.1.20', '10.0.0.7'], 8443, 8080)
    expect(relaysJson('10.0.0.7', withSetup).lan?.setup).toBe('http://10.0.0.7:8080/setup')
    expect(relaysJson('127.0.0.1', withSetup).lan?.setup).toBe('http://192.168.1.20:8080/setup')
    expect(relaysJson('10.0.0.7', lanView).lan?.setup).toBeUndefined()
  })

  it('gives each request STUN/TURN on the LAN address it reached, with TURN credentials minted for that request', () => {
    const SECRET = 'lan-turn-secret-0123456789abcdef'
    let n = 0
    const iceFor = (host: string): ReturnType<typeof iceServersFor> => iceServersFor([{ urls: [`stun:${host}:3478`, `turn:${host}:3478?transport=udp`], secret: SECRET, ttlSeconds: 3600 }], `req${++n}`)
    const a = relaysJson('10.0.0.7', lanView, iceFor)
    const b = relaysJson('192.168.1.20', lanView, iceFor)
    expect(a.iceServers?.map(s => s.urls)).toEqual([['stun:10.0.0.7:3478'], ['turn:10.0.0.7:3478?transport=udp']])
    expect(b.iceServers?.map(s => s.urls)).toEqual([['stun:192.168.1.20:3478'], ['turn:192.168.1.20:3478?transport=udp']])
    expect(a.iceServers?.[1].username).toMatch(/^\d+:req1$/)
    expect(a.iceServers?.[1].credential).toBe(createHmac('sha1', SECRET).update(a.iceServers![1].username!).digest('base64'))
    expect(b.iceServers?.[1].credential).not.toBe(a.iceServers?.[1].credential)
    // The host's own browser gets the first LAN address's; no coturn, no iceServers.
    expect(relaysJson('127.0.0.1', lanView, iceFor).iceServers?.[0].urls).toEqual(['stun:192.168.1.20:3478'])
    expect(relaysJson('10.0.0.7', lanView, () => [])).not.toHaveProperty('iceServers')
  })

  it('without LAN mode lists the relay as before, with no lan block', () => {
    const view = relayView([`/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`], undefined, 8443)
    expect(relaysJson('127.0.0.1', view)).toEqual({ relays: [`/ip4/127.0.0.1/tcp/9090/ws/p2p/${ID}`] })
  })

  it('is answered by the static server by the local address the request arrived on', async () => {
    const seen: Array<string | undefined> = []
    const web = await startStaticServer({ root: '/nonexistent', port: 0, relays: () => ['unused'], relaysFor: local => { seen.push(local); return relaysJson(local, lanView) } })
    try {
      const res = await fetch(`${web.url}/relays.json`)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(await res.json()).toEqual(relaysJson('127.0.0.1', lanView))
      expect(seen).toEqual(['127.0.0.1'])
    } finally {
      await web.stop()
    }
  })
})
