import { describe, expect, it } from 'vitest'
import { guestAddress } from './cli.ts'

const id = '12D3KooWK26cTrNiAEDWDF5RjHp1UjPQKWnY1so3n9hYM2zrbEU9'
const addrs = [`/ip4/127.0.0.1/tcp/4002/p2p/${id}`, `/ip4/127.0.0.1/tcp/4003/ws/p2p/${id}`, `/ip4/192.168.1.20/tcp/4003/ws/p2p/${id}`, `/ip4/192.168.1.20/tcp/4004/tls/ws/p2p/${id}`, `/ip4/127.0.0.1/tcp/9090/ws/p2p/relay/p2p-circuit/p2p/${id}`]

describe('the address an invitation names', () => {
  it('is a WebSocket the guest\'s page may open: WSS for an HTTPS app, on the app\'s host, never a loopback one for another device', () => {
    expect(guestAddress(addrs, 'http://127.0.0.1:8080')).toBe(addrs[1])
    expect(guestAddress(addrs, 'https://192.168.1.20:8443')).toBe(addrs[3])
    expect(guestAddress(addrs, 'http://cafe.local:8080')).toBe(addrs[2])
    expect(guestAddress(addrs.slice(0, 1), 'http://127.0.0.1:8080')).toBeUndefined()
  })
})
