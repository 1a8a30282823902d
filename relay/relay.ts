import './polyfill.ts'
import { readFile } from 'node:fs/promises'
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
import { mkdirOwned, ownByInvoker } from './state-files.ts'
import type { IceServerEntry } from '../src/node/ice-servers/index.ts'
import { writeFileSynced } from './synced-file.ts'
import { peerReturnServer } from '../src/node/peer-return/index.ts'
import { keepNewestConnection } from './newest-connection.ts'
import { forwardedUpgrades } from './forwarded-upgrade.ts'
import type { TrustedProxy } from './client-address.ts'
import { relayedCircuits } from './circuits.ts'
import type { RelayedCircuits } from './circuits.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/**
 * Relay limits (defaults; the owner sets them, `RelayInit.limits`). A relayed connection (a
 * circuit) mostly carries WebRTC signalling, but where no WebRTC pair can form (UDP blocked, no
 * TURN) it carries the cafe traffic itself, as the last resort. Each circuit is bounded in bytes
 * (both ways together) and time, then closed by the relay (the client dials a new one for its
 * next request); circuits are bounded in number, per source address and in all, and in bytes
 * per second, all together. Reservations (peers reachable through the relay) are bounded apart.
 */
export const RELAY_LIMITS = {
  /** Enough slots for a LAN of cafes and clients, and for the e2e suite's many profiles. */
  maxReservations: 256,
  /** Bytes per relayed connection: a few backups' worth, not a stream of them. */
  relayedDataLimit: 32n << 20n,
  /** Time a relayed connection may live. */
  relayedDurationLimitMs: 10 * 60_000,
  /** Circuits open at once, in all (each signalling dial holds one until its time runs out). */
  maxCircuits: 512,
  /** Circuits open at once asked for from one source address (a household, or a carrier's NAT). */
  maxCircuitsPerSource: 64,
  /** Bytes per second all circuits carry together, both ways counted (100 Mbit/s). */
  relayedBytesPerSecond: 12_500_000,
  /** Circuits one peer's connection may ask for at once (libp2p's hop streams per connection). */
  hopStreamsPerConnection: 32,
  /** Circuits to one reserved peer at once (libp2p's stop streams per connection; its default, 300, is far more than a cafe's clients). */
  stopStreamsPerConnection: 64
} as const

export type RelayLimits = { -readonly [K in keyof typeof RELAY_LIMITS]?: typeof RELAY_LIMITS[K] extends bigint ? bigint : number }

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
  limits?: RelayLimits
  /** ICE servers for one asking peer and where it asks from (TURN credentials minted now), served on `/lightcafe/ice-servers/1.0.0`. */
  iceServers?: (peerId: string, source: string) => IceServerEntry[]
  /**
   * Exempt loopback from the directory's per-address bound: only for `npm start`, whose loopback
   * peers are this host's own browser. Never where a proxy on this host fronts the relay: all
   * its peers would look like loopback (use `trustedProxy` there).
   */
  exemptLoopback?: boolean
  /** A reverse proxy in front of the WebSocket listeners: its peers' addresses are the clients it names (`--trusted-proxy`). */
  trustedProxy?: TrustedProxy
}

export interface Relay {
  node: Libp2p<{ relay: CircuitRelayService, circuits: RelayedCircuits }>
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
    await mkdirOwned(dirname(keyFile))
    // Synced: sessions the cafe signs with it must not outlive it in a power cut.
    await writeFileSynced(keyFile, privateKeyToProtobuf(key), { mode: 0o600 })
    await ownByInvoker(keyFile)
    return key
  }
}

const isLoopbackSource = (source: string): boolean => /^127\./.test(source) || source === '::1'

/** Starts a circuit-relay-v2 server on WebSockets. Browser peers reserve slots on it and signal WebRTC through it. */
export async function startRelay (init: RelayInit): Promise<Relay> {
  const host = init.host ?? '127.0.0.1'
  const hide = init.hideLoopback === true
  if (hide && init.port === 0) throw new Error('hideLoopback needs a fixed port: the loopback address is not listed by the node')
  let relayService: CircuitRelayService | undefined
  const forwarded = init.trustedProxy != null ? forwardedUpgrades(init.trustedProxy) : {}
  let circuits: RelayedCircuits | undefined
  const limits = { ...RELAY_LIMITS, ...init.limits }
  // Loopback is exempt from per-address bounds only for `npm start` (the host's own browser).
  const exempt = init.exemptLoopback === true ? isLoopbackSource : () => false
  const node = await createLibp2p({
    privateKey: await loadOrCreateKey(init.keyFile),
    addresses: {
      listen: [`/ip4/${host}/tcp/${init.port}/ws`, ...(init.listen ?? [])],
      ...(init.announce != null && init.announce.length > 0 ? { announce: init.announce } : {}),
      announceFilter: addrs => hide ? addrs.filter(ma => !/^\/ip[46]\/(127\.|::1\/)/.test(ma.toString())) : addrs
    },
    transports: [webSockets({ http: { ...forwarded }, ...(init.tls != null ? { https: { ...forwarded, cert: init.tls.cert, key: init.tls.key } } : {}) })],
    connectionEncrypters: [noise()],
    connectionManager: { maxConnections: 1024 },
    // Asked before each circuit: the relay-wide and per-source bounds (circuits.ts).
    connectionGater: { denyOutboundRelayedConnection: (source, destination) => circuits?.deny(source, destination) ?? true },
    // A stream's window stays within what a paused stream may buffer (4 MiB): the byte budget pauses circuits.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 1 << 20 } })],
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        maxInboundHopStreams: limits.hopStreamsPerConnection,
        maxOutboundStopStreams: limits.stopStreamsPerConnection,
        reservations: {
          maxReservations: limits.maxReservations,
          defaultDataLimit: limits.relayedDataLimit,
          defaultDurationLimit: limits.relayedDurationLimitMs
        }
      }),
      circuits: relayedCircuits({ maxCircuits: limits.maxCircuits, maxPerSource: limits.maxCircuitsPerSource, bytesPerSecond: limits.relayedBytesPerSecond, exempt }),
      // Cafes find each other through the relays they share (contact search federates over them).
      cafeDirectory: cafeDirectoryServer({ exempt }),
      // Peers waiting for an absent peer hear the moment it reserves here again.
      peerReturn: peerReturnServer({ reserved: peer => relayService?.reservations.has(peer) ?? false }),
      // Pages ask for STUN/TURN here: a static relays.json cannot mint TURN credentials.
      ...(init.iceServers != null ? { iceServers: iceServersServer({ mint: init.iceServers }) } : {})
    }
  })
  relayService = node.services.relay
  circuits = node.services.circuits
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
