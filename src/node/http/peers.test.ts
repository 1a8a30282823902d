import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { httpOverLibp2p, httpPeers, relayPeerIds } from './index.ts'
import { tcpTestNode as node } from '../../../test/fixtures/tcp-node.ts'
import type { HttpOverLibp2p } from './index.ts'
import type { Libp2p } from '@libp2p/interface'

describe('peers a contact lookup asks', () => {
  let asker: Libp2p<{ http: HttpOverLibp2p }>
  let serving: Libp2p<{ http: HttpOverLibp2p }>
  let other: Libp2p
  let relay: Libp2p

  beforeAll(async () => {
    asker = await node(false, { http: httpOverLibp2p() })
    serving = await node(true, { http: httpOverLibp2p() })
    await serving.services.http.serve(async () => new Response('hi'))
    other = await node(true)
    relay = await node(true)
    const identified = (peers: Libp2p[]): Promise<void> => new Promise(resolve => {
      const left = new Set(peers.map(p => p.peerId.toString()))
      asker.addEventListener('peer:identify', evt => { left.delete(evt.detail.peerId.toString()); if (left.size === 0) resolve() })
    })
    const done = identified([serving, other])
    await Promise.all([serving, other, relay].map(async p => asker.dial(p.getMultiaddrs()[0])))
    await done
  })
  afterAll(async () => { await Promise.all([asker, serving, other, relay].map(async p => p?.stop())) })

  it('are the connected peers that serve HTTP over libp2p or may: never a relay, nor one whose identify lacks the protocol', async () => {
    const relays = relayPeerIds([multiaddr(`/ip4/127.0.0.1/tcp/9/ws/p2p/${relay.peerId.toString()}`), multiaddr('/ip4/127.0.0.1/tcp/9/ws')])
    expect([...relays]).toEqual([relay.peerId.toString()])
    expect(await httpPeers(asker, relays)).toEqual([serving.peerId.toString()])
    // Not yet identified (nothing known about its protocols): asked.
    await asker.peerStore.delete(other.peerId)
    expect(await httpPeers(asker, relays)).toEqual([serving.peerId.toString(), other.peerId.toString()].sort())
  })
})
