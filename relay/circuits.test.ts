import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { RELAY_LIMITS, startRelay } from './relay.ts'
import type { Relay, RelayLimits } from './relay.ts'
import type { Connection, Libp2p } from '@libp2p/interface'

// The real relay (startRelay, WebSockets on loopback) and real libp2p peers in Node: one that
// reserves a slot (as a cafe does) and others that reach it through the relay's circuits.

// Node 20 has no WebSocket of its own (22 has): libp2p's dialler takes ws's, the same API.
globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket

const SINK = '/lightcafe-test/sink/1'
const started: Array<{ stop: () => void | Promise<void> }> = []
afterEach(async () => { await Promise.allSettled(started.splice(0).map(async n => n.stop())) })

async function peer (reserve: boolean): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: reserve ? ['/p2p-circuit'] : [] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: async () => false },
    services: { identify: identify() }
  })
  started.push(node)
  return node
}

async function until (check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** A relay with `limits`, and a peer reserved on it that takes every byte sent to SINK over a circuit. */
async function setUp (limits: RelayLimits): Promise<{ relay: Relay, cafe: Libp2p, received: () => number, circuit: () => Promise<Connection> }> {
  const relay = await startRelay({ port: 0, limits })
  started.push(relay)
  const cafe = await peer(true)
  let received = 0
  await cafe.handle(SINK, async (stream) => {
    for await (const chunk of stream) received += chunk.byteLength
    await stream.close()
  }, { runOnLimitedConnection: true })
  await cafe.dial(multiaddr(relay.multiaddrs[0]))
  await until(() => relay.node.services.relay.reservations.has(cafe.peerId))
  const through = multiaddr(`${relay.multiaddrs[0]}/p2p-circuit/p2p/${cafe.peerId.toString()}`)
  return { relay, cafe, received: () => received, circuit: async () => (await peer(false)).dial(through) }
}

async function send (conn: Connection, bytes: number): Promise<void> {
  const stream = await conn.newStream(SINK, { runOnLimitedConnection: true })
  const chunk = new Uint8Array(64 * 1024).fill(7)
  for (let sent = 0; sent < bytes; sent += chunk.byteLength) {
    if (!stream.send(chunk)) await stream.onDrain()
  }
  await stream.close()
}

describe('the relay bounds its circuits (real relay, real peers over WebSockets)', () => {
  it('has sane per-connection stream bounds, and circuits in all well below libp2p\'s 300 per reserved peer', () => {
    expect(RELAY_LIMITS.stopStreamsPerConnection).toBeLessThan(300)
    expect(RELAY_LIMITS.maxCircuitsPerSource).toBeLessThanOrEqual(RELAY_LIMITS.maxCircuits)
    expect(RELAY_LIMITS.relayedBytesPerSecond).toBeGreaterThan(0)
  })

  it('refuses a circuit past the bound per source address, and takes one again once one closes', async () => {
    const { relay, circuit } = await setUp({ maxCircuitsPerSource: 2, maxCircuits: 100 })
    const first = await circuit()
    await circuit()
    expect(first.limits).toBeDefined()
    await expect(circuit()).rejects.toThrow(/PERMISSION_DENIED/)
    expect(relay.node.services.circuits.open()).toBe(2)
    await first.close()
    await until(() => relay.node.services.circuits.open() === 1)
    await circuit()
  })

  it('refuses a circuit past the bound in all, whatever the source', async () => {
    const { relay, circuit } = await setUp({ maxCircuitsPerSource: 100, maxCircuits: 2 })
    await circuit()
    await circuit()
    await expect(circuit()).rejects.toThrow(/PERMISSION_DENIED/)
    expect(relay.node.services.circuits.open()).toBe(2)
  })

  it('refuses a circuit past the bound per reserved peer (libp2p\'s stop streams), under the other bounds', async () => {
    const { circuit } = await setUp({ maxCircuitsPerSource: 100, maxCircuits: 100, stopStreamsPerConnection: 2 })
    await circuit()
    await circuit()
    const refused = await circuit().then(() => 'opened', (err: Error) => err.message)
    // libp2p's relay answers MALFORMED_MESSAGE when its stream to the reserved peer is refused.
    expect(refused).toMatch(/status MALFORMED_MESSAGE/)
  })

  it('carries all circuits together within its byte budget: 6 MiB over two circuits at 1 MiB/s take 3 s or more', async () => {
    const { received, circuit } = await setUp({ relayedBytesPerSecond: 1 << 20 })
    const [a, b] = [await circuit(), await circuit()]
    const start = Date.now()
    await Promise.all([send(a, 3 << 20), send(b, 3 << 20)])
    await until(() => received() >= 6 << 20, 30_000)
    // A second of budget at the start, 1 MiB/s after, and what each paused stream's window
    // (1 MiB on the relay) held when the last pause ended: at least 3 s, however fast the machine.
    expect(Date.now() - start).toBeGreaterThanOrEqual(2_900)
    expect(received()).toBe(6 << 20)
  }, 40_000)
})
