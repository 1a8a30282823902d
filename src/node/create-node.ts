import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { MemoryDatastore } from 'datastore-core'
import { IDBDatastore } from 'datastore-idb'
import { createHeliaLight } from 'helia'
import { openIdbBlocks } from '../ipfs/idb-blocks.ts'
import { cafeDirectory } from './cafe-directory/index.ts'
import { httpOverLibp2p, relayPeerIds } from './http/index.ts'
import { IceServers, askIceServers } from './ice-servers/index.ts'
import { watchNetwork, watchPeerReturns } from './network-watch.ts'
import { peerReturn } from './peer-return/index.ts'
import { hasWebRtc } from './errors.ts'
import { watchPeerLiveness } from './peer-liveness.ts'
import { nativeNoiseKeys } from './noise-crypto.ts'
import { loadOrCreatePeerKey } from './peer-key.ts'
import { RelayKeeper } from './relay-keeper.ts'
import { fixWebRTCInitChannelRace } from './webrtc-init-channel.ts'
import { Wake } from '../shared/wake.ts'
import { refusalResponse } from '../shared/errors.ts'
import type { Blocks } from '../ipfs/blocks.ts'
import type { CafeDirectory } from './cafe-directory/index.ts'
import type { HttpOverLibp2p, Libp2pHttpHandler, ServeOptions } from './http/index.ts'
import type { IceServerEntry, IceSource } from './ice-servers/index.ts'
import type { PeerReturn } from './peer-return/index.ts'
import type { HeliaWithLibp2p } from '@helia/libp2p'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface NodeInit {
  relays: Multiaddr[]
  /** Prefix of the IndexedDB databases; one browser profile = one node. */
  dbPrefix?: string
  /**
   * ICE servers the page's server names (`/relays.json`: STUN, or TURN with credentials minted
   * for this request), read again before they expire. Each relay is asked too (its own coturn).
   */
  iceServers?: (signal: AbortSignal) => Promise<IceServerEntry[]>
  /** Whether to use WebRTC; default: where the browser has `RTCPeerConnection`. */
  webrtc?: boolean
  /** The bounds of the routes this peer serves over HTTP over libp2p (see `LightcafeNode.serve`). */
  serveOptions?: ServeOptions
}

/** How long a request that arrives before this peer's app is up waits for it (then 503 NODE_NOT_READY). */
export const APP_READY_WAIT_MS = 15_000

/** The protocols every browser peer runs, as libp2p services (a type, not an interface: libp2p's ServiceMap needs an index signature). */
export type LightcafeServices = {
  identify: Identify
  ping: Ping
  /** HTTP over libp2p: serves this peer's APIs, fetches from other peers. */
  http: HttpOverLibp2p
  /** The relays' cafe directories: lists cafes, announces this one in cafe mode. */
  cafeDirectory: CafeDirectory
  /** Asks the relays to say when a peer this node could not reach is back (wakes every backoff). */
  peerReturn: PeerReturn
}

export interface LightcafeNode {
  helia: HeliaWithLibp2p<LightcafeServices>
  libp2p: Libp2p<LightcafeServices>
  /** The peer key (Ed25519): identity on the network, and the cafe's JWT signing key. */
  privateKey: PrivateKey
  relays: RelayKeeper
  /** STUN/TURN servers held now (each new WebRTC connection starts with them). */
  ice: IceServers
  /** WebRTC is used (listened on, advertised, dialled); without it only WebSockets and the relay are. */
  webrtc: boolean
  /** "Try again now": fired when the network or a peer waited for comes back; every backoff listens. */
  wake: Wake
  /**
   * Serves this peer's apps over HTTP over libp2p. The protocol is served from before the first
   * relay reservation: a peer that dials us the moment we are back (its relay said so) waits
   * for the app rather than being refused.
   */
  serve(handler: Libp2pHttpHandler): void
  /** This device's own blocks, local only (Helia's blockstore would ask the network for a missing one). */
  blocks: Blocks
  stop(): Promise<void>
}

/** libp2p (WebRTC, WebSockets, circuit relay v2) + Helia over IndexedDB, with a peer key that persists in the datastore (libp2p's peer store lives in memory). */
export async function createNode (init: NodeInit): Promise<LightcafeNode> {
  const prefix = init.dbPrefix ?? 'lightcafe'
  fixWebRTCInitChannelRace()
  // Recovery writes blocks in batches, one transaction each (`putMany`); Helia uses the store.
  const local = await openIdbBlocks(`${prefix}/blocks`)
  const blockstore = local.store
  const datastore = new IDBDatastore(`${prefix}/data`)
  await datastore.open()
  // Start-up phases for DevTools and the bench (`lc:*`, as boot.ts marks the rest).
  performance.mark('lc:stores-open')

  // Loaded here (not inside Helia) because the cafe signs its sessions with this key.
  // With Noise's X25519 keys, made by WebCrypto before libp2p asks for them (noise-crypto.ts).
  const [privateKey, noiseKeys] = await Promise.all([loadOrCreatePeerKey(datastore), nativeNoiseKeys()])
  performance.mark('lc:peer-key')
  // STUN/TURN: without them only host candidates are offered, and no pair forms across two
  // networks. Read per connection (credentials expire), from relays.json and every connected relay.
  let started: Libp2p<LightcafeServices> | undefined
  let keeper: RelayKeeper | undefined
  const fromPage: IceSource[] = init.iceServers != null ? [{ key: 'relays.json', available: () => true, fetch: init.iceServers }] : []
  const ice = new IceServers({
    sources: () => [...fromPage, ...(keeper?.state() ?? []).flatMap(r => {
      const id = r.multiaddr.split('/p2p/').at(-1)
      const node = started
      if (id == null || node == null || !r.connected) return []
      const peer = node.getConnections().find(c => c.remotePeer.toString() === id)?.remotePeer
      return peer == null ? [] : [{ key: id, available: () => keeper?.state().some(s => s.multiaddr === r.multiaddr && s.connected) === true, fetch: async (signal: AbortSignal) => askIceServers(node, peer, signal) }]
    })]
  })
  const wake = new Wake()
  const relayIds = relayPeerIds(init.relays)
  // Without RTCPeerConnection (WebKitGTK, a browser that disables it) `/webrtc` is neither
  // listened on nor advertised: peers would dial it and fail.
  const webrtc = init.webrtc ?? hasWebRtc()
  const light = createHeliaLight({ blockstore, datastore })
  const helia = withBitswap(withLibp2pLight(light, {
    privateKey,
    // libp2p keeps only its peer store in its datastore; on IndexedDB each connection's
    // identify wrote peer records on the main thread (~100 ms of 6 cold dials). Nothing reads
    // them after a reload: cafes are dialled by the addresses the directory or the relay give.
    datastore: new MemoryDatastore(),
    addresses: { listen: webrtc ? ['/p2p-circuit', '/webrtc'] : ['/p2p-circuit'] },
    transports: [
      webSockets(),
      ...(webrtc ? [webRTC({ rtcConfiguration: async () => ({ iceServers: await ice.forConnection() }) })] : []),
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 })
    ],
    connectionEncrypters: [noise(noiseKeys ?? {})],
    streamMuxers: [yamux()],
    // Browsers refuse private addresses by default; a LAN cafe lives on them.
    connectionGater: { denyDialMultiaddr: async () => false },
    // Now and then a WebRTC dial through the relay hangs until this timeout (libp2p's default
    // 6 s) and the retry then connects in ~0.5 s (measured: first queries to new cafes took
    // 6.5 s). Dials here finish in ~0.5 s, so a hung one is given up sooner and retried.
    connectionManager: { addressDialTimeout: 3_000 },
    services: {
      // Not over relayed (limited) connections: a dial to a peer opens one only to signal WebRTC,
      // and nothing here uses what identify learns on it (HTTP and liveness run on direct
      // connections only). Identify there cost both ends a signed record and peer store merges.
      identify: identify({ runOnLimitedConnection: false }),
      ping: ping(),
      http: httpOverLibp2p(),
      cafeDirectory: cafeDirectory({ relays: () => init.relays }),
      peerReturn: peerReturn({ wake, relays: () => relayIds })
    }
  }))
  await helia.start()
  performance.mark('lc:helia-started')
  const libp2p = helia.libp2p as unknown as Libp2p<LightcafeServices>
  let handler: Libp2pHttpHandler | undefined
  let appUp!: (h: Libp2pHttpHandler) => void
  const app = { promise: new Promise<Libp2pHttpHandler>(resolve => { appUp = resolve }) }
  await libp2p.services.http.serve(async (request, info) => {
    const h = handler ?? await Promise.race([app.promise, new Promise<undefined>(resolve => setTimeout(resolve, APP_READY_WAIT_MS))])
    if (h == null) return refusalResponse('NODE_NOT_READY', 'this peer is still starting')
    return h(request, info)
  }, init.serveOptions)
  // The relay first: its reservation is what makes this node reachable, and the slowest step.
  const relays = new RelayKeeper(libp2p, init.relays, { wake })
  relays.start()
  // The browser back online, a new network: every backoff (relays first) tries again now.
  const stopNetwork = watchNetwork(wake, { events: globalThis, connection: (globalThis.navigator as { connection?: EventTarget } | undefined)?.connection })
  const stopReturns = watchPeerReturns(libp2p, wake)
  relays.addEventListener('change', () => { void ice.refresh() })
  started = libp2p
  keeper = relays
  // Fetched as soon as a relay is connected (listened to above), so the first WebRTC dial has them.
  void ice.refresh()
  // Peers whose page reloaded are noticed at once, not when ICE or a ping gives up.
  const stopLiveness = await watchPeerLiveness(libp2p)
  return {
    helia: helia as unknown as HeliaWithLibp2p<LightcafeServices>,
    libp2p,
    privateKey,
    relays,
    ice,
    webrtc,
    wake,
    serve: (h) => { handler = h; appUp(h) },
    blocks: local.blocks,
    stop: async () => {
      stopNetwork()
      stopReturns()
      relays.stop()
      wake.stop()
      await stopLiveness()
      await helia.stop()
      local.close()
      datastore.close()
    }
  }
}
