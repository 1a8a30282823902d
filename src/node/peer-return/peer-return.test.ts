import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { Wake } from '../../shared/wake.ts'
import { messages } from './protocol.ts'
import { RETURN_PROTOCOL, peerReturn, peerReturnServer } from './index.ts'
import type { PeerReturn, PeerReturnServer } from './index.ts'
import type { WakeEvent } from '../../shared/wake.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { JsonMessages } from '../json-messages.ts'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'

// Real libp2p nodes over TCP: a relay (circuit relay v2 server and the watch), a peer that
// waits for another, and the other, which goes away and comes back (reserving on the relay).

type Relay = Libp2p<{ relay: CircuitRelayService, peerReturn: PeerReturnServer }>
type Watcher = Libp2p<{ peerReturn: PeerReturn }>

const base = { transports: [tcp(), circuitRelayTransport()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionGater: { denyDialMultiaddr: async () => false } }

async function relayNode (watchMs?: number, more: { maxPerSource?: number, exempt?: (source: string) => boolean } = {}): Promise<Relay> {
  let node: Relay | undefined
  // eslint-disable-next-line prefer-const -- the callback below may run before createLibp2p returns: it reads undefined, not a TDZ error
  node = await createLibp2p({
    ...base,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    services: {
      identify: identify(),
      relay: circuitRelayServer(),
      peerReturn: peerReturnServer({ reserved: peer => node?.services.relay.reservations.has(peer) ?? false, limits: { ...(watchMs != null ? { watchMs } : {}), ...(more.maxPerSource != null ? { maxPerSource: more.maxPerSource } : {}) }, exempt: more.exempt })
    }
  }) as unknown as Relay
  return node
}

/** A peer that reserves on the relays it connects to (as every browser peer does); the same key is the same peer coming back. */
async function reservingNode (privateKey?: PrivateKey): Promise<Libp2p> {
  return createLibp2p({ ...base, ...(privateKey != null ? { privateKey } : {}), addresses: { listen: ['/p2p-circuit'] }, services: { identify: identify() } })
}

async function until (check: () => boolean, ms = 10_000): Promise<void> {
  await vi.waitFor(() => { expect(check()).toBe(true) }, { timeout: ms, interval: 20 })
}

describe('the relays\' peer-return watch', () => {
  let relay: Relay
  let watcher: Watcher
  let wake: Wake
  let woken: WakeEvent[]
  const stops: Array<Libp2p | undefined> = []

  beforeEach(async () => {
    relay = await relayNode()
    wake = new Wake()
    woken = []
    wake.on(e => woken.push(e))
    watcher = await createLibp2p({ ...base, services: { identify: identify(), peerReturn: peerReturn({ wake, relays: () => new Set([relay.peerId.toString()]) }) } }) as unknown as Watcher
    stops.push(relay, watcher)
  })
  afterEach(async () => { await Promise.all(stops.splice(0).map(async n => n?.stop())) })

  const reserved = (peer: Libp2p): boolean => relay.services.relay.reservations.has(peer.peerId)

  it('wakes the peer that waits as soon as the one it waits for reserves on the relay again (watches made before and after the relay connection)', async () => {
    const key = await generateKeyPair('Ed25519')
    let away = await reservingNode(key)
    stops.push(away)
    const id = away.peerId.toString()
    // Waited for before the relay is even connected: watched once it is.
    wake.await(id)
    await watcher.dial(relay.getMultiaddrs()[0])
    await until(() => watcher.services.peerReturn.watching()[relay.peerId.toString()]?.includes(id) === true)
    await until(() => relay.services.peerReturn.watching() === 1)
    expect(woken).toEqual([])
    await away.dial(relay.getMultiaddrs()[0])
    await until(() => woken.length > 0)
    expect(reserved(away)).toBe(true)
    expect(woken).toEqual([{ reason: 'peer', peer: id }])
    expect(wake.awaitedFor(id)).toBeUndefined()
    expect(watcher.services.peerReturn.watching()).toEqual({})

    // It goes away (its page closed) and comes back (the same key): a new wait is answered the same way.
    await away.stop()
    await until(() => relay.getConnections(away.peerId).length === 0)
    wake.await(id)
    await until(() => relay.services.peerReturn.watching() === 1)
    away = await reservingNode(key)
    stops.push(away)
    await away.dial(relay.getMultiaddrs()[0])
    await until(() => woken.length > 1)
    expect(woken[1]).toEqual({ reason: 'peer', peer: id })
  })

  it('answers at once when the peer came back after the failed attempt began, and not when it was there all along', async () => {
    const back = await reservingNode()
    stops.push(back)
    await watcher.dial(relay.getMultiaddrs()[0])
    await back.dial(relay.getMultiaddrs()[0])
    await until(() => reserved(back))
    // The attempt that failed began 5 s ago, before it was back.
    wake.await(back.peerId.toString(), Date.now() - 5_000)
    await until(() => woken.length > 0)
    expect(woken).toEqual([{ reason: 'peer', peer: back.peerId.toString() }])
    // There before the attempt began, and it still failed (say no WebRTC pair works): no answer
    // until it comes anew, or every failure would wake everyone at once, forever.
    wake.await(back.peerId.toString())
    await until(() => relay.services.peerReturn.watching() === 1)
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(woken).toHaveLength(1)
  })

  it('refuses what is not a peer id, and ends a watch that ran out with {back: false}', async () => {
    await relay.stop()
    relay = await relayNode(200)
    stops.push(relay)
    const ask = async (body: unknown): Promise<unknown> => {
      const stream = await watcher.dialProtocol(relay.getMultiaddrs()[0], RETURN_PROTOCOL)
      const io = messages(stream)
      await io.write(body, { signal: AbortSignal.timeout(5_000) })
      return io.read({ signal: AbortSignal.timeout(5_000) })
    }
    expect(await ask({ peer: 'not a peer id', sinceMs: 0 })).toEqual({ error: 'INVALID_PEER' })
    const nobody = (await reservingNode())
    stops.push(nobody)
    expect(await ask({ peer: nobody.peerId.toString(), sinceMs: 60_000 })).toEqual({ back: false })
    expect(relay.services.peerReturn.watching()).toBe(0)
  })

  it('bounds the watches one source address holds over all its connections (peer ids are free): WATCH_FULL past it, room again when one ends', async () => {
    await relay.stop()
    relay = await relayNode(60_000, { maxPerSource: 3, exempt: () => false })
    stops.push(relay)
    // Three pages from one address (127.0.0.1 here, counted like any other), each with its own connection.
    const pages = await Promise.all([0, 1, 2].map(async () => createLibp2p({ ...base, services: { identify: identify() } })))
    stops.push(...pages)
    const open = async (page: Libp2p, peer: string): Promise<{ stream: Stream, io: JsonMessages }> => {
      const stream = await page.dialProtocol(relay.getMultiaddrs()[0], RETURN_PROTOCOL)
      const io = messages(stream)
      await io.write({ peer, sinceMs: 0 }, { signal: AbortSignal.timeout(5_000) })
      return { stream, io }
    }
    const ids = await Promise.all([0, 1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    const held = [await open(pages[0], ids[0]), await open(pages[1], ids[1]), await open(pages[2], ids[2])]
    await until(() => relay.services.peerReturn.watching() === 3)
    expect(await (await open(pages[0], ids[3])).io.read({ signal: AbortSignal.timeout(5_000) })).toEqual({ error: 'WATCH_FULL' })
    // One ends (its stream closes): another fits.
    held[1].stream.abort(new Error('done waiting'))
    await until(() => relay.services.peerReturn.watching() === 2)
    await open(pages[1], ids[3])
    await until(() => relay.services.peerReturn.watching() === 3)
  })
})
