import '../relay/polyfill.ts'
import './websocket-polyfill.ts'
import { mkdir, readFile, readdir, rm } from 'node:fs/promises'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast } from 'blockstore-fs/sharding'
import { createLibp2p } from 'libp2p'
import { loadOrCreateKey } from '../relay/relay.ts'
import { writeFileSynced } from '../relay/synced-file.ts'
import { libp2pTransport } from '../src/client/libp2p-transport.ts'
import { createCafe, requestBodyCap, requestBodyMs } from '../src/cafe/compose.ts'
import { cafeSearch } from '../src/peer/cafe-search.ts'
import { cafeDirectory } from '../src/node/cafe-directory/index.ts'
import { httpOverLibp2p } from '../src/node/http/index.ts'
import { RelayKeeper } from '../src/node/relay-keeper.ts'
import { watchNetwork } from '../src/node/network-watch.ts'
import { randomBytes, toBase64url } from '../src/shared/bytes.ts'
import { printableLog } from '../src/shared/printable.ts'
import { startFetchServer } from './fetch-server.ts'
import { createHttpCarrier } from './http-carrier.ts'
import { createOwnerApi } from './owner-api.ts'
import { syncedFsBlocks } from './synced-blocks.ts'
import { SyncedLevelDatastore } from './synced-records.ts'
import type { Cafe } from '../src/cafe/compose.ts'
import type { FetchServer } from './fetch-server.ts'
import type { CafeDirectory } from '../src/node/cafe-directory/index.ts'
import type { HttpOverLibp2p } from '../src/node/http/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { HttpGuardLimits } from '../relay/http-guard.ts'
import type { TrustedProxy } from '../relay/client-address.ts'

export const VERSION = '0.1.0'

/** Ports that worked as defaults: libp2p TCP 4002 and WebSockets 4003, the cafe API 8090, the owner's 8091 (loopback). */
export const DEFAULT_PORTS = { tcp: 4002, ws: 4003, wss: 4004, http: 8090, owner: 8091 } as const

export interface NodeCafeInit {
  /** Where the cafe keeps everything: peer.key, owner.secret, records/ (LevelDB), blocks/ (files). */
  dir: string
  /** Address the libp2p and HTTP listeners bind (default 0.0.0.0: other devices reach it). */
  host?: string
  ports?: Partial<Record<keyof typeof DEFAULT_PORTS, number>>
  /** PEM certificate and key: also listen for WSS (browsers on an HTTPS page may not open ws://). */
  tls?: { cert: string, key: string }
  /** Relays to reserve a slot on (reachable by peer id through them) and whose directories list this cafe. */
  relays?: string[]
  /** Multiaddrs to announce instead of the listening ones (behind NAT or a proxy). */
  announce?: string[]
  log?: (line: string) => void
  /** Tighter limits on the HTTP ports (tests); defaults: HTTP_GUARD_LIMITS. */
  httpLimits?: Partial<HttpGuardLimits>
  /** A reverse proxy in front of the HTTP port whose forwarding header names the client (`--trusted-proxy`). */
  trustedProxy?: TrustedProxy
}

export interface NodeCafe {
  cafe: Cafe
  libp2p: Libp2p
  /** Dialable multiaddrs, each ending in /p2p/<peer id>. */
  multiaddrs: string[]
  http: FetchServer
  owner: FetchServer
  ownerSecretFile: string
  startedAt: string
  stop(): Promise<void>
}

/** The owner's secret for /api/v0: created once (0600), read by the CLI. */
async function ownerSecret (file: string): Promise<string> {
  try { return (await readFile(file, 'utf8')).trim() } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const secret = toBase64url(randomBytes(32))
    await writeFileSynced(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
    return secret
  }
}

/**
 * Deletes the temporary files of block writes a killed process left (blockstore-fs writes a
 * block to `.<name>.tmp` and renames it): never blocks, and no one else writes here.
 */
async function removeUnfinishedWrites (dir: string): Promise<number> {
  let removed = 0
  for (const name of await readdir(dir, { recursive: true }).catch(() => [] as string[])) {
    const base = name.split('/').at(-1) ?? ''
    if (base.startsWith('.') && base.endsWith('.tmp')) { await rm(join(dir, name), { force: true }); removed++ }
  }
  return removed
}

/** WebRTC needs node-datachannel, a native module; without it the cafe is reached over TCP and WebSockets only. */
async function webRTCTransport (log: (line: string) => void): Promise<unknown[]> {
  try {
    const { webRTC } = await import('@libp2p/webrtc')
    return [webRTC()]
  } catch (err) {
    log(`WebRTC unavailable (${(err as Error).message}): reachable over TCP and WebSockets only`)
    return []
  }
}

/** Starts the headless cafe: libp2p (TCP, WS, WSS, circuit relay, WebRTC), the cafe API over libp2p and HTTP, the owner API on loopback. */
export async function startNodeCafe (init: NodeCafeInit): Promise<NodeCafe> {
  // Lines carry what strangers sent (paths, peer ids): written printable, one line each.
  const log = printableLog(init.log ?? (() => {}))
  const host = init.host ?? '0.0.0.0'
  const ports = { ...DEFAULT_PORTS, ...init.ports }
  await mkdir(init.dir, { recursive: true, mode: 0o700 })
  const startedAt = new Date().toISOString()
  // Every write synced: what the cafe acknowledges survives a power cut (synced-records.ts, synced-blocks.ts).
  const records = new SyncedLevelDatastore(join(init.dir, 'records'))
  await records.open()
  const sharding = new NextToLast() // blockstore-fs's default layout, shared with the synced writer
  const blockstore = new FsBlockstore(join(init.dir, 'blocks'), { shardingStrategy: sharding })
  await blockstore.open()
  const unfinished = await removeUnfinishedWrites(join(init.dir, 'blocks'))
  if (unfinished > 0) log(`removed ${unfinished} unfinished block writes (the last run was killed)`)
  const privateKey = await loadOrCreateKey(join(init.dir, 'peer.key'))
  const relays = (init.relays ?? []).map(r => multiaddr(r))
  const webrtc = await webRTCTransport(log)

  const libp2p = await createLibp2p({
    privateKey,
    addresses: {
      listen: [
        `/ip4/${host}/tcp/${ports.tcp}`,
        `/ip4/${host}/tcp/${ports.ws}/ws`,
        ...(init.tls != null ? [`/ip4/${host}/tcp/${ports.wss}/tls/ws`] : []),
        ...(relays.length > 0 ? ['/p2p-circuit'] : []),
        ...(webrtc.length > 0 && relays.length > 0 ? ['/webrtc'] : [])
      ],
      ...(init.announce != null && init.announce.length > 0 ? { announce: init.announce } : {})
    },
    transports: [
      tcp(),
      webSockets(init.tls != null ? { https: { cert: init.tls.cert, key: init.tls.key } } : {}),
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
      ...webrtc as []
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // A LAN cafe dials LAN peers (origins of pins are dialled by peer id only, see compose.ts).
    connectionGater: { denyDialMultiaddr: async () => false },
    connectionManager: { maxConnections: 512 },
    services: { identify: identify(), ping: ping(), http: httpOverLibp2p(), cafeDirectory: cafeDirectory({ relays: () => relays }) }
  }) as unknown as Libp2p<{ http: HttpOverLibp2p, cafeDirectory: CafeDirectory }>
  const keeper = new RelayKeeper(libp2p, relays, { page: { protocol: 'node:', hostname: 'localhost' } })
  keeper.start()
  // Node has no `online` event: a change of this host's addresses redials a lost relay at once.
  const stopNetwork = watchNetwork(keeper.wake, { addresses: () => Object.values(networkInterfaces()).flat().map(i => i?.address ?? '') })

  const transport = libp2pTransport(libp2p.services.http, () => keeper.dialable(), keeper.wake)
  const cafe = await createCafe({
    libp2p,
    privateKeyRaw: privateKey.raw,
    records: { cafe: records, pins: records, snapshots: records, contacts: records, inbox: records },
    blocks: syncedFsBlocks(blockstore, sharding),
    forward: cafeSearch({ directory: libp2p.services.cafeDirectory, relays: () => relays, fetchCafe: async (cafeId, request, options) => transport({ id: cafeId, addrs: [] }, request, options) }),
    version: VERSION,
    // Files and LevelDB on the cafe's own disk: nothing evicts them.
    persistent: async () => true
  })
  await cafe.pins.ready
  keeper.addEventListener('change', () => { cafe.relaysChanged() })
  cafe.activity.addEventListener('activity', ({ detail: a }) => {
    log(`${a.kind.padEnd(12)} ${String(a.status)} ${a.what}${a.who != null ? ` from ${a.who.slice(0, 16)}…` : ''} (${a.ms} ms)`)
  })

  await libp2p.services.http.serve(async (req, info) => cafe.app.fetch(req, { remotePeer: info.remotePeer }), { maxRequestBodyBytes: requestBodyCap, requestBodyMs })
  const carrier = createHttpCarrier(cafe, { startedAt, peerId: libp2p.peerId.toString(), version: VERSION })
  const http = await startFetchServer({ host, port: ports.http, handler: carrier, ...(init.httpLimits != null ? { limits: init.httpLimits } : {}), ...(init.trustedProxy != null ? { trustedProxy: init.trustedProxy } : {}) })
  const ownerSecretFile = join(init.dir, 'owner.secret')
  const ownerApi = createOwnerApi(cafe, {
    secret: await ownerSecret(ownerSecretFile),
    peer: () => ({ peerId: libp2p.peerId.toString(), multiaddrs: libp2p.getMultiaddrs().map(ma => ma.toString()), relays: keeper.state().map(r => ({ multiaddr: r.multiaddr, connected: r.connected, reserved: r.reserved, ...(r.lastError != null ? { lastError: r.lastError } : {}) })), startedAt, http: http.url })
  })
  const owner = await startFetchServer({ host: '127.0.0.1', port: ports.owner, handler: async req => ownerApi.fetch(req), ...(init.httpLimits != null ? { limits: init.httpLimits } : {}) })

  let stopped = false
  return {
    cafe,
    libp2p,
    get multiaddrs () { return libp2p.getMultiaddrs().map(ma => ma.toString()) },
    http,
    owner,
    ownerSecretFile,
    startedAt,
    stop: async () => {
      if (stopped) return
      stopped = true
      stopNetwork()
      keeper.stop()
      await cafe.stop()
      await Promise.allSettled([http.stop(), owner.stop()])
      await libp2p.services.http.unserve()
      await libp2p.stop()
      await blockstore.close()
      await records.close()
    }
  }
}
