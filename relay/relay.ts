import './polyfill.ts'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { cafeDirectoryServer } from '../src/node/cafe-directory/index.ts'
import { iceServersServer } from '../src/node/ice-servers/index.ts'
import { ownByInvoker } from './state-files.ts'
import type { IceServerEntry } from '../src/node/ice-servers/index.ts'
import { writeFileSynced } from './synced-file.ts'
import { peerReturnServer } from '../src/node/peer-return/index.ts'
import { keepNewestConnection } from './newest-connection.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/**
 * Relay limits (defaults; the owner sets them, `RelayInit.limits`). A relayed connection mostly
 * carries WebRTC signalling, but where no WebRTC pair can form (UDP blocked, no TURN) it carries
 * the cafe traffic itself, as the last resort: each is bounded in bytes (both ways together)
 * and time, then closed by the relay (the client dials a new one for its next request). In all,
 * the relay carries at most `maxReservations` such connections at once.
 */
export const RELAY_LIMITS = {
  /** Enough slots for a LAN of cafes and clients, and for the e2e suite's many profiles. */
  maxReservations: 256,
  /** Bytes per relayed connection: a few backups' worth, not a stream of them. */
  relayedDataLimit: 32n << 20n,
  /** Time a relayed connection may live. */
  relayedDurationLimitMs: 10 * 60_000
} as const

export interface RelayInit {
  /** TCP port for the WebSocket listener; 0 picks a free one. */
  port: number
  /** Loopback only by default: see README, "Network". */
  host?: string
  /** Where the relay's key lives, so its peer id (and thus its multiaddr) survives restarts. */
  keyFile?: string
  /** Extra listen multiaddrs, e.g. `/ip4/192.168.1.20/tcp/9443/tls/ws` (needs `tls`). */
  listen?: string[]
  /** Certificate and key (PEM) for `/tls/ws` listeners. */
  tls?: { cert: string, key: string }
  /** Addresses to announce instead of the listening ones, e.g. `/dns4/relay.example.org/tcp/443/tls/ws` behind a TLS proxy. */
  announce?: string[]
  /**
   * Keep loopback addresses out of what peers learn (identify, reservations): in LAN mode a
   * phone told of 127.0.0.1 would dial itself. `multiaddrs` still lists them for the host.
   */
  hideLoopback?: boolean
  /** The owner's limits on relayed connections (defaults: RELAY_LIMITS). */
  limits?: { maxReservations?: number, relayedDataLimit?: bigint, relayedDurationLimitMs?: number }
  /** ICE servers for one asking peer (TURN credentials minted now), served on `/lightcafe/ice-servers/1.0.0`. */
  iceServers?: (peerId: string) => IceServerEntry[]
}

export interface Relay {
  node: Libp2p
  /** Full dialable multiaddrs, ending in /p2p/<relay peer id>. */
  multiaddrs: string[]
  stop(): Promise<void>
}

export async function loadOrCreateKey (keyFile?: string): Promise<PrivateKey> {
  if (keyFile == null) return generateKeyPair('Ed25519')
  try {
    return privateKeyFromProtobuf(await readFile(keyFile))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const key = await generateKeyPair('Ed25519')
    await mkdir(dirname(keyFile), { recursive: true })
    // Synced: sessions the cafe signs with it must not outlive it in a power cut.
    await writeFileSynced(keyFile, privateKeyToProtobuf(key), { mode: 0o600 })
    await ownByInvoker(keyFile)
    return key
  }
}

/** Starts a circuit-relay-v2 server on WebSockets. Browser peers reserve slots on it and signal WebRTC through it. */
export async function startRelay (init: RelayInit): Promise<Relay> {
  const host = init.host ?? '127.0.0.1'
  const hide = init.hideLoopback === true
  if (hide && init.port === 0) throw new Error('hideLoopback needs a fixed port: the loopback address is not listed by the node')
  let relayService: CircuitRelayService | undefined
  const node = await createLibp2p({
    privateKey: await loadOrCreateKey(init.keyFile),
    addresses: {
      listen: [`/ip4/${host}/tcp/${init.port}/ws`, ...(init.listen ?? [])],
      ...(init.announce != null && init.announce.length > 0 ? { announce: init.announce } : {}),
      announceFilter: addrs => hide ? addrs.filter(ma => !/^\/ip[46]\/(127\.|::1\/)/.test(ma.toString())) : addrs
    },
    transports: [webSockets(init.tls != null ? { https: { cert: init.tls.cert, key: init.tls.key } } : {})],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 1024 },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        reservations: {
          maxReservations: init.limits?.maxReservations ?? RELAY_LIMITS.maxReservations,
          defaultDataLimit: init.limits?.relayedDataLimit ?? RELAY_LIMITS.relayedDataLimit,
          defaultDurationLimit: init.limits?.relayedDurationLimitMs ?? RELAY_LIMITS.relayedDurationLimitMs
        }
      }),
      // Cafes find each other through the relays they share (contact search federates over them).
      cafeDirectory: cafeDirectoryServer(),
      // Peers waiting for an absent peer hear the moment it reserves here again.
      peerReturn: peerReturnServer({ reserved: peer => relayService?.reservations.has(peer) ?? false }),
      // Pages ask for STUN/TURN here: a static relays.json cannot mint TURN credentials.
      ...(init.iceServers != null ? { iceServers: iceServersServer({ mint: init.iceServers }) } : {})
    }
  })
  relayService = node.services.relay
  // A peer back from a network cut is signalled over its new connection, not the dead old one.
  const stopNewest = keepNewestConnection(node)
  const multiaddrs = node.getMultiaddrs().map(ma => ma.toString())
  // Hidden from peers, but the host's own browser dials it (relays.json on loopback).
  if (hide) multiaddrs.unshift(`/ip4/${host}/tcp/${init.port}/ws/p2p/${node.peerId.toString()}`)
  return {
    node,
    multiaddrs,
    stop: async () => { stopNewest(); await node.stop() }
  }
}
