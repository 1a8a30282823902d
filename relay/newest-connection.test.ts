import { afterEach, describe, expect, it } from 'vitest'
import { tcpTestNode } from '../test/fixtures/tcp-node.ts'
import { keepNewestConnection } from './newest-connection.ts'
import type { Libp2p } from '@libp2p/interface'

describe('a relay keeps the newest connection of a peer', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => n.stop())) })

  it('aborts the older connection when the same peer connects again, and only that one', async () => {
    const relay = await tcpTestNode(true)
    const peer = await tcpTestNode(false)
    const other = await tcpTestNode(false)
    nodes.push(relay, peer, other)
    const stop = keepNewestConnection(relay)
    const first = await peer.dial(relay.getMultiaddrs()[0])
    await other.dial(relay.getMultiaddrs()[0])
    // The peer back after a cut: a new connection while the relay still holds the first.
    const second = await peer.dial(relay.getMultiaddrs()[0], { force: true })
    expect(second.id).not.toBe(first.id)
    await expect.poll(() => relay.getConnections(peer.peerId).length, { timeout: 5_000 }).toBe(1)
    expect(second.status).toBe('open')
    await expect.poll(() => first.status, { timeout: 5_000 }).not.toBe('open')
    expect(relay.getConnections(other.peerId)).toHaveLength(1)
    stop()
  })
})
