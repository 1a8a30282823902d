import '../server/websocket-polyfill.ts'
import { connect, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cafeDirectory, DIRECTORY_LIMITS } from '../src/node/cafe-directory/index.ts'
import type { CafeDirectory } from '../src/node/cafe-directory/index.ts'
import { trustedProxy } from './client-address.ts'
import { startRelay } from './relay.ts'
import type { Relay } from './relay.ts'

/**
 * `npm run relay` behind a reverse proxy on its own host, as docs/DEPLOY.md sets it up: every
 * peer's connection comes from 127.0.0.1. The directory's per-address bound must still count
 * real clients: with `--trusted-proxy 127.0.0.1` by the address the proxy names in the
 * WebSocket upgrade request, and without it loopback is bounded like any address (it is no
 * longer exempt outside `npm start`). The proxy here is a TCP forwarder that adds the header
 * to the upgrade request, as Caddy and nginx do; the peers are real libp2p nodes dialling
 * over WebSockets through it.
 */

type Cafe = Libp2p<{ cafeDirectory: CafeDirectory }>
const PER_ADDRESS = DIRECTORY_LIMITS.maxPerAddress

/** A forwarding proxy to `port` that names `client` in X-Forwarded-For on each request it passes. */
async function proxyFor (port: number, client: string): Promise<{ port: number, server: Server }> {
  const sockets = new Set<Socket>()
  const server = createServer(inbound => {
    const outbound = connect(port, '127.0.0.1')
    sockets.add(inbound).add(outbound)
    let head = true
    inbound.on('data', (chunk: Buffer) => {
      if (head) {
        head = false
        const text = chunk.toString('latin1')
        const end = text.indexOf('\r\n')
        outbound.write(Buffer.from(`${text.slice(0, end)}\r\nX-Forwarded-For: ${client}${text.slice(end)}`, 'latin1'))
      } else outbound.write(chunk)
    })
    outbound.pipe(inbound)
    const close = (): void => { inbound.destroy(); outbound.destroy() }
    inbound.on('close', close).on('error', close)
    outbound.on('close', close).on('error', close)
  })
  server.on('close', () => { for (const s of sockets) s.destroy() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  return { port: (server.address() as AddressInfo).port, server }
}

const nodes: Cafe[] = []
async function cafe (): Promise<Cafe> {
  const node = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: async () => false },
    services: { identify: identify(), cafeDirectory: cafeDirectory() }
  }) as unknown as Cafe
  nodes.push(node)
  return node
}

/**
 * libp2p takes 5 new connections a second from one host (inboundConnectionThreshold): dials from
 * one source are spaced wider than that, so a refusal can only be the directory's.
 */
const DIAL_GAP_MS = 250
let lastDial = 0

/** Announces `n` fresh cafes through `port` (the proxy's or the relay's own) to `relay`; the answers' errors, or 'ok'. */
async function announce (relay: Relay, port: number, n: number): Promise<string[]> {
  const target = multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${relay.node.peerId.toString()}`)
  const out = []
  for (let i = 0; i < n; i++) {
    await new Promise(resolve => setTimeout(resolve, Math.max(0, lastDial + DIAL_GAP_MS - Date.now())))
    lastDial = Date.now()
    const answer = await (await cafe()).services.cafeDirectory.announce(target)
    out.push(answer.ok === true ? 'ok' : String(answer.error))
  }
  return out
}

const relayPort = (relay: Relay): number => Number(/\/tcp\/(\d+)\/ws\//.exec(relay.multiaddrs[0])![1])

let trusting: Relay
let plain: Relay
const proxies: Server[] = []
beforeAll(async () => {
  trusting = await startRelay({ port: 0, trustedProxy: trustedProxy('127.0.0.1') })
  plain = await startRelay({ port: 0 })
}, 30_000)
afterAll(async () => {
  await Promise.all(nodes.map(async n => n.stop()))
  for (const p of proxies) p.close()
  await Promise.all([trusting?.stop(), plain?.stop()])
})

describe("the relay directory's per-address bound behind a proxy on the relay's host [issue 24]", () => {
  it('with --trusted-proxy counts each client the proxy names, an IPv6 /64 as one', async () => {
    const via = async (client: string): Promise<number> => { const p = await proxyFor(relayPort(trusting), client); proxies.push(p.server); return p.port }
    const one = await via('203.0.113.7')
    expect(await announce(trusting, one, PER_ADDRESS + 1)).toEqual([...Array(PER_ADDRESS).fill('ok'), 'TOO_MANY_LISTINGS'])
    // Another client through the same proxy is not held back by the first.
    expect(await announce(trusting, await via('203.0.113.8'), 1)).toEqual(['ok'])
    // Each address of one /64 through its own proxy connection: still one client.
    const v6 = []
    for (let i = 1; i <= PER_ADDRESS + 1; i++) v6.push(...await announce(trusting, await via(`2001:db8:0:9::${i}`), 1))
    expect(v6).toEqual([...Array(PER_ADDRESS).fill('ok'), 'TOO_MANY_LISTINGS'])
  }, 60_000)

  it('without it bounds loopback like any address (before: exempt, so one host behind the proxy filled the directory)', async () => {
    const p = await proxyFor(relayPort(plain), '203.0.113.9')
    proxies.push(p.server)
    // The header is ignored from a proxy the relay was not told to trust: all of these are 127.0.0.1.
    expect(await announce(plain, p.port, PER_ADDRESS)).toEqual(Array(PER_ADDRESS).fill('ok'))
    expect(await announce(plain, relayPort(plain), 1)).toEqual(['TOO_MANY_LISTINGS'])
  }, 60_000)
})
