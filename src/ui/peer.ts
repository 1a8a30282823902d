import { AccountStore } from '../account/index.ts'
import { createLocalApi } from '../api/app.ts'
import { CafeHost, IdbCafeStore, createCafeApp } from '../cafe/index.ts'
import { CafeClient, Files, IdbSessionStore, libp2pTransport } from '../client/index.ts'
import { createNode } from '../node/create-node.ts'
import { serveHttp } from '../node/http-over-libp2p.ts'
import type { Account } from '../account/index.ts'
import type { ConnectionInfo } from '../api/app.ts'
import type { LightcafeNode } from '../node/create-node.ts'
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Hono } from 'hono'

export const VERSION = '0.1.0'

export interface RunningPeer {
  node: LightcafeNode
  account: () => Account
  cafe: CafeHost
  client: CafeClient
  api: Hono
  cafeApp: ReturnType<typeof createCafeApp>
  /** A request to a cafe over libp2p exactly as given (no session added): diagnostics and tests. */
  rawCafeFetch(cafeId: string, request: Request): Promise<Response>
  /** Answers a same-origin request (/api/v0 or /cafe/v1), as the service worker forwards it. */
  handle(request: Request): Promise<Response>
  stop(): Promise<void>
}

function describe (c: Connection): ConnectionInfo {
  const addr = c.remoteAddr.toString()
  const transport = addr.includes('/webrtc') && c.limits == null
    ? 'webrtc'
    : addr.includes('/p2p-circuit') ? 'circuit-relay' : addr.includes('/ws') ? 'websockets' : 'other'
  return { peerId: c.remotePeer.toString(), remoteAddr: addr, transport, direct: c.limits == null && !addr.includes('/p2p-circuit/p2p/') }
}

/** Builds the whole peer in this page: node, account, cafe host, cafe client, both HTTP apps. */
export async function startPeer (opts: { relays: Multiaddr[], dbPrefix?: string }): Promise<RunningPeer> {
  const prefix = opts.dbPrefix ?? 'lightcafe'
  const node = await createNode({ relays: opts.relays, dbPrefix: prefix })
  const accounts = new AccountStore(`${prefix}/account`)
  let account = await accounts.loadOrCreate()

  const cafe = new CafeHost({ peerId: node.libp2p.peerId.toString(), privateKeyRaw: node.privateKey.raw, store: new IdbCafeStore(`${prefix}/cafe`) })
  const cafeApp = createCafeApp(cafe, { version: VERSION })
  const stopServing = await serveHttp(node.libp2p, async (req, info) => cafeApp.fetch(req, { remotePeer: info.remotePeer }))

  const transport = libp2pTransport(node.libp2p, () => opts.relays)
  const client = new CafeClient({ account: () => account, store: new IdbSessionStore(`${prefix}/client`), transport })
  await client.start()

  const files = new Files(node.helia, () => account, `${prefix}/files`)
  const api = createLocalApi({
    peer: () => ({
      peerId: node.libp2p.peerId.toString(),
      multiaddrs: node.libp2p.getMultiaddrs().map(ma => ma.toString()),
      relays: node.relays.state().map(r => ({ multiaddr: r.multiaddr, connected: r.connected, reserved: r.reserved }))
    }),
    connections: () => node.libp2p.getConnections().filter(c => c.status === 'open').map(describe),
    account: () => account,
    restoreAccount: async (mnemonic) => { account = await accounts.restore(mnemonic); return account },
    cafe,
    client,
    files
  })

  return {
    node,
    account: () => account,
    cafe,
    client,
    api,
    cafeApp,
    rawCafeFetch: async (cafeId, request) => transport({ id: cafeId, addrs: [] }, request, AbortSignal.timeout(20_000)),
    handle: async (request) => {
      const path = new URL(request.url).pathname
      if (path.startsWith('/api/v0/')) return api.fetch(request)
      // Same-origin callers of the cafe API have no libp2p peer id: they are this device.
      if (path.startsWith('/cafe/v1/')) return cafeApp.fetch(request, {})
      return Response.json({ error: { reason: 'NOT_FOUND', details: `no route ${path}` } }, { status: 404 })
    },
    stop: async () => {
      client.stop()
      await stopServing()
      await accounts.close()
      await files.close()
      await node.stop()
    }
  }
}
