import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { stub } from '../../test/fixtures/stub.ts'
import { libp2pTransport } from './libp2p-transport.ts'
import type { HttpOverLibp2p } from '../node/http/index.ts'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

// Which addresses the transport dials, with and without WebRTC. The HTTP layer is a stand-in
// that records the dials (e2e/webkit.spec.ts runs the real one in a browser without WebRTC).

const cafeId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const relay = multiaddr('/ip4/127.0.0.1/tcp/9090/ws/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN')
const ws = `/ip4/127.0.0.1/tcp/4003/ws/p2p/${cafeId}`
const circuitWebRtc = `${relay.toString()}/p2p-circuit/webrtc/p2p/${cafeId}`

function recorder (): { http: HttpOverLibp2p, dials: string[][] } {
  const dials: string[][] = []
  const conn = stub<Connection>({ remotePeer: peerIdFromString(cafeId) })
  const http = stub<HttpOverLibp2p>({
    newestDirect: () => undefined,
    newestRelayed: () => undefined,
    directConnection: async (targets: PeerId | Multiaddr | Multiaddr[]) => { dials.push([targets].flat().map(t => t.toString())); return conn },
    fetch: async () => Response.json({ ok: true })
  })
  return { http, dials }
}

describe('libp2pTransport', () => {
  it('with WebRTC, dials a cafe known by id through the relays\' WebRTC circuit', async () => {
    const { http, dials } = recorder()
    const res = await libp2pTransport(http, () => [relay])({ id: cafeId, addrs: [] }, new Request('http://cafe/cafe/v1/info'))
    expect(res.status).toBe(200)
    expect(dials).toEqual([[circuitWebRtc]])
  })

  it('without WebRTC, dials only the addresses that need none (a Node cafe\'s WebSocket)', async () => {
    const { http, dials } = recorder()
    await libp2pTransport(http, () => [relay], undefined, { webrtc: false })({ id: cafeId, addrs: [circuitWebRtc, ws] }, new Request('http://cafe/cafe/v1/info'))
    expect(dials).toEqual([[ws]])
  })

  it('without WebRTC, a cafe reachable only over WebRTC is reached through its relay\'s circuit at once, no WebRTC dial', async () => {
    const { http, dials } = recorder()
    const relayed: string[][] = []
    const circuit = { remotePeer: cafeId, limits: { bytes: 1n } } as unknown as Connection
    Object.assign(http, { relayedConnection: async (targets: Multiaddr[]) => { relayed.push(targets.map(t => t.toString())); return circuit } })
    const transport = libp2pTransport(http, () => [relay], undefined, { webrtc: false })
    for (const addrs of [[], [circuitWebRtc]]) expect((await transport({ id: cafeId, addrs }, new Request('http://cafe/cafe/v1/info'))).status).toBe(200)
    expect(dials).toEqual([])
    expect(relayed).toEqual([[`${relay.toString()}/p2p-circuit/p2p/${cafeId}`], [`${relay.toString()}/p2p-circuit/p2p/${cafeId}`]])
  })

  it('without WebRTC, a cafe its relay cannot reach either fails with WEBRTC_UNAVAILABLE naming both', async () => {
    const { http, dials } = recorder()
    Object.assign(http, { relayedConnection: async () => { throw new Error('the relay refused: RESOURCE_LIMIT_EXCEEDED') } })
    const err = await libp2pTransport(http, () => [relay], undefined, { webrtc: false })({ id: cafeId, addrs: [] }, new Request('http://cafe/cafe/v1/info')).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'WebRtcUnavailableError', reason: 'WEBRTC_UNAVAILABLE', status: 503 })
    expect((err as Error).message).toMatch(/WebRTC.*relay.*RESOURCE_LIMIT_EXCEEDED/)
    expect(dials).toEqual([])
  })

  it('when WebRTC dials fail otherwise (the peer at its relay), every attempt is made, then the relay\'s circuit, and it goes there at once for a while', async () => {
    const dials: string[][] = []
    const relayed: string[][] = []
    const circuit = { remotePeer: cafeId, limits: { bytes: 1n } } as unknown as Connection
    const http = {
      newestDirect: () => undefined,
      newestRelayed: () => undefined,
      directConnection: async (targets: Multiaddr[]) => { dials.push(targets.map(t => t.toString())); throw new Error('signal timed out') },
      relayedConnection: async (targets: Multiaddr[]) => { relayed.push(targets.map(t => t.toString())); return circuit },
      fetch: async (conn: Connection) => Response.json({ over: conn === circuit ? 'relay' : 'other' })
    } as unknown as HttpOverLibp2p
    const transport = libp2pTransport(http, () => [relay])
    const first = await transport({ id: cafeId, addrs: [] }, new Request('http://cafe/cafe/v1/info'))
    expect(await first.json()).toEqual({ over: 'relay' })
    expect(dials).toHaveLength(3) // every WebRTC attempt first
    expect(relayed).toEqual([[`${relay.toString()}/p2p-circuit/p2p/${cafeId}`]])
    await transport({ id: cafeId, addrs: [] }, new Request('http://cafe/cafe/v1/info'))
    expect(dials).toHaveLength(3) // then straight over the relay
    expect(relayed).toHaveLength(2)
  })

  it('a peer not at its relay (NO_RESERVATION) is dialled again, never taken through the relay', async () => {
    const dials: string[][] = []
    const http = {
      newestDirect: () => undefined,
      newestRelayed: () => undefined,
      directConnection: async (targets: Multiaddr[]) => { dials.push(targets.map(t => t.toString())); throw new Error('failed to connect via relay with status NO_RESERVATION') },
      relayedConnection: async () => { throw new Error('must not be asked') },
      fetch: async () => Response.json({})
    } as unknown as HttpOverLibp2p
    const err = await libp2pTransport(http, () => [relay])({ id: cafeId, addrs: [] }, new Request('http://cafe/cafe/v1/info')).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'PeerAbsentError' })
    expect(dials).toHaveLength(3)
  })
})
