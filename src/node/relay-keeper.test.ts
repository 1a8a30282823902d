import { afterEach, describe, expect, it, vi } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { Wake } from '../shared/wake.ts'
import { RelayKeeper } from './relay-keeper.ts'
import { tcpTestNode } from '../../test/fixtures/tcp-node.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { WakeEvent } from '../shared/wake.ts'

// The keeper over real libp2p TCP nodes: a "relay" that goes down and comes back on its port
// with its key, and a peer that keeps a connection to it.

async function until (check: () => boolean, ms = 10_000): Promise<void> {
  await vi.waitFor(() => { expect(check()).toBe(true) }, { timeout: ms, interval: 20 })
}

describe('the relay keeper', () => {
  const nodes: Libp2p[] = []
  const keepers: RelayKeeper[] = []
  afterEach(async () => {
    for (const k of keepers.splice(0)) k.stop()
    await Promise.all(nodes.splice(0).map(async n => n.stop()))
  })

  const relayOn = async (key: PrivateKey, port: number): Promise<Libp2p> => {
    const { createLibp2p } = await import('libp2p')
    const { tcp } = await import('@libp2p/tcp')
    const { noise } = await import('@libp2p/noise')
    const { yamux } = await import('@libp2p/yamux')
    const n = await createLibp2p({ privateKey: key, addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    nodes.push(n)
    return n
  }

  it('redials a lost relay at once when woken (the network came back), not when its backoff runs out, and then wakes everything else', async () => {
    const key = await generateKeyPair('Ed25519')
    const relay = await relayOn(key, 0)
    const addr = relay.getMultiaddrs()[0]
    const port = Number(/\/tcp\/(\d+)/.exec(addr.toString())?.[1])
    const peer = await tcpTestNode(false)
    nodes.push(peer)
    const wake = new Wake()
    const woken: WakeEvent[] = []
    wake.on(e => woken.push(e))
    // A second relay this peer cannot reach (nothing listens there).
    const dead = multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${(await generateKeyPair('Ed25519')).publicKey.toString()}`)
    const keeper = new RelayKeeper(peer, [multiaddr(addr.toString()), dead], { page: { protocol: 'node:', hostname: 'localhost' }, wake })
    keepers.push(keeper)
    keeper.start()
    await until(() => keeper.state()[0].connected)
    expect(keeper.state()[0].lastDial).toBe('start')
    // Other peers are dialled through the relay that is up, not the one that cannot answer.
    expect(keeper.dialable().map(String)).toEqual([addr.toString()])

    // The relay goes away; the keeper's redials fail and back off.
    await relay.stop()
    // After 3 failures the next redial is 4 s away (0.5 s doubling).
    await until(() => keeper.state()[0].attempts >= 3, 20_000)
    const waiting = keeper.state()[0]
    expect(waiting.connected).toBe(false)
    expect(waiting.nextDialAt).toBeGreaterThan(Date.now())
    // None is up: every relay is worth a try.
    expect(keeper.dialable()).toHaveLength(2)

    // It is back, but nothing says so yet: the keeper waits out its backoff. Then the network
    // "comes back" (the browser's online event): it redials now.
    await relayOn(key, port)
    expect(keeper.state()[0].connected).toBe(false)
    wake.notify('online')
    await until(() => keeper.state()[0].connected)
    const back = keeper.state()[0]
    expect(back.lastDial).toBe('online')
    expect(back.attempts).toBe(0)
    expect(back.nextDialAt).toBeUndefined()
    // A relay back after a loss wakes every other backoff.
    await until(() => woken.some(e => e.reason === 'relay'))
    expect(woken.map(e => e.reason)).toEqual(['online', 'relay'])
  }, 40_000)
})
