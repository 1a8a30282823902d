import { peerIdFromString } from '@libp2p/peer-id'
import { PeerApi } from '../client/cafe-api.ts'
import { HTTP_LIMITS } from '../node/http/index.ts'
import { boundedChunks } from '../shared/streams.ts'
import { ActivityLog } from './activity.ts'
import { createCafeApp } from './app.ts'
import { backupUsage } from './backup-api.ts'
import { ContactIndex } from './contacts/contact-index.ts'
import { CafeContacts } from './contacts/contacts.ts'
import { DatastoreCafeStore, DatastoreContactStore, DatastoreInboxStore, DatastorePinStore, DatastoreSnapshotStore } from './datastore/index.ts'
import { CafeHost } from './host.ts'
import { inboxUsage } from './inbox/inbox-api.ts'
import { CafeInbox } from './inbox/inbox.ts'
import { PinService } from './pins/pin-service.ts'
import { Snapshots } from './snapshots.ts'
import type { InboxStore } from './inbox/inbox-store.ts'
import type { CarFetcher } from './pins/pin-service.ts'
import type { Forward } from './search-api.ts'
import type { Blocks } from '../ipfs/blocks.ts'
import type { CafeDirectory } from '../node/cafe-directory/index.ts'
import type { HttpOverLibp2p } from '../node/http/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

export const PULL_LIMITS = {
  /**
   * The most one pin pull's CAR may ever be. Each pull is cut sooner, at the cap the pin
   * service passes (the client's quota left, its own blocks once, slack): a source repeating
   * blocks the cafe already has costs no quota, and must not be read until the deadline.
   */
  maxCarBytes: 4 * 1024 * 1024 * 1024
} as const

/** The cafe's record stores, each over its datastore (one may serve all: each keeps its own namespace). */
export type CafeRecords = Record<'cafe' | 'pins' | 'snapshots' | 'contacts' | 'inbox', Datastore>

export interface CafeInit {
  /** A node running the `http` (HTTP over libp2p) and `cafeDirectory` services. */
  libp2p: Libp2p<{ http: HttpOverLibp2p, cafeDirectory: CafeDirectory }>
  /** libp2p Ed25519 private key `.raw`: the cafe signs its sessions with the peer key. */
  privateKeyRaw: Uint8Array
  records: CafeRecords
  /** Clients' blocks, apart from the owner's: the cafe's garbage collection never touches those. */
  blocks: Blocks
  /** How this cafe passes a search on: the device's own search (src/peer/cafe-search.ts), the same whether or not it is a cafe. */
  forward: Forward
  version: string
  /** Whether `blocks` and `records` survive (a disk does; a browser may evict a site's data unless it granted persistence). */
  persistent: () => Promise<boolean>
}

/** Everything a cafe is, the same in a browser tab and in Node; its carriers (libp2p, service worker, HTTP) call `app`. */
export interface Cafe {
  host: CafeHost
  pins: PinService
  snapshots: Snapshots
  inbox: CafeInbox
  /** The inbox's store (benchmarks fill it to measure how cost grows with what it holds). */
  inboxStore: InboxStore
  contacts: CafeContacts
  contactIndex: ContactIndex
  activity: ActivityLog
  app: ReturnType<typeof createCafeApp>
  /** Call when the relays changed: a relay that restarted has an empty directory. */
  relaysChanged(): void
  stop(): Promise<void>
}

/**
 * Request bodies strangers may send to a cafe, per route: a CAR upload is bounded by its
 * client's quota as it arrives, and by the idle limit per frame rather than a total time (a
 * large upload takes long); every other route is JSON far below the defaults.
 */
export const isUpload = (path: string): boolean => path === '/cafe/v1/uploads'
export function requestBodyCap (_method: string, path: string): number {
  return isUpload(path) ? Number.MAX_SAFE_INTEGER : HTTP_LIMITS.maxRequestBodyBytes
}
export function requestBodyMs (_method: string, path: string): number | undefined {
  return isUpload(path) ? undefined : HTTP_LIMITS.requestBodyMs
}

/**
 * Pulls a DAG for a pin as a CAR from a peer's trustless gateway over libp2p (the caller, or an
 * origin's peer). Only the peer id is dialled, through this node's own transports: an origin's
 * host is never contacted directly (a stranger's pin must not reach hosts on the cafe's LAN).
 */
function carOverLibp2p (http: HttpOverLibp2p): CarFetcher {
  return async (source, root, { signal, maxBytes } = {}) => {
    if (source.peer == null) throw new Error('a pin source must name a peer')
    const target = await http.directConnection(peerIdFromString(source.peer), { signal })
    const res = await http.fetch(target, new Request(`http://peer/ipfs/${root.toString()}?format=car`, { headers: { accept: 'application/vnd.ipld.car' } }), { signal })
    if (!res.ok || res.body == null) { await res.body?.cancel(); throw new Error(`the source answered ${res.status}`) }
    // The signal (the pull's deadline) covers the body; the CAR reader checks each section's length before reading it.
    return boundedChunks(res.body, { maxBytes: Math.min(maxBytes ?? PULL_LIMITS.maxCarBytes, PULL_LIMITS.maxCarBytes), signal, what: `the CAR of ${root.toString()}` })
  }
}

/** Builds a cafe from its parts: host, backup, inbox, contacts and search answers, directory announcement. */
export async function createCafe (init: CafeInit): Promise<Cafe> {
  const { libp2p } = init
  const { http, cafeDirectory } = libp2p.services
  const host = new CafeHost({ peerId: libp2p.peerId.toString(), privateKeyRaw: init.privateKeyRaw, store: new DatastoreCafeStore(init.records.cafe) })
  const pins = new PinService({
    blocks: init.blocks,
    store: new DatastorePinStore(init.records.pins),
    quota: async address => host.quotaOf(address),
    fetchCar: carOverLibp2p(http),
    delegates: () => libp2p.getMultiaddrs().map(ma => ma.toString())
  })
  const snapshots = new Snapshots(new DatastoreSnapshotStore(init.records.snapshots))
  host.useService(backupUsage(pins, snapshots))
  const contactStore = new DatastoreContactStore(init.records.contacts)
  const contacts = new CafeContacts(contactStore)
  // The search index is rebuilt from the stored contacts at start, then follows every change.
  const contactIndex = await ContactIndex.load(contactStore)
  contacts.addEventListener('change', ({ detail: { address, contact } }) => { if (contact != null) contactIndex.upsert(contact); else contactIndex.remove(address) })
  const inboxStore = new DatastoreInboxStore(init.records.inbox)
  const inbox = new CafeInbox({ store: inboxStore, isRegistered: async address => (await host.clientPeer(address)) != null })
  inbox.setLimits((await host.getSettings()).inbox ?? {})
  host.useService(inboxUsage(inbox, contacts))

  const activity = new ActivityLog()
  const app = createCafeApp(host, { version: init.version, onActivity: a => { activity.record(a) }, services: { pins, snapshots, persistent: init.persistent, inbox, contacts, search: { index: () => contactIndex, forward: init.forward } } })

  // The directory service announces this cafe on the node's relays while cafe mode is on.
  void cafeDirectory.keepAnnounced((await host.getSettings()).enabled)
  host.addEventListener('settings', ({ detail: s }) => { void cafeDirectory.keepAnnounced(s.enabled) })

  // A message for a client connected right now is pushed to it at once; it stays here until
  // the client acknowledges it, so a push lost on the way is collected later. The client's peer
  // is looked up once per delivery or batch (two IndexedDB reads), not once per message.
  inbox.onDelivered((to, messages) => {
    void (async () => {
      const peer = await host.clientPeer(to)
      // '' and 'http': clients with no libp2p peer to push to (same origin, or over HTTP).
      if (peer == null || peer === '' || peer === 'http') return
      const conn = http.newestDirect(peerIdFromString(peer))
      if (conn == null) return
      const client = new PeerApi(async (path, request) => http.fetch(conn, new Request(`http://peer${path}`, request), { signal: AbortSignal.timeout(10_000) }), peer)
      // Each push on its own: one lost is collected on the client's next check.
      await Promise.allSettled(messages.map(async message => { await client.deliver(message.envelope) }))
    })().catch(() => { /* collected on the client's next check */ })
  })

  return {
    host,
    pins,
    snapshots,
    inbox,
    inboxStore,
    contacts,
    contactIndex,
    activity,
    app,
    relaysChanged: () => { void cafeDirectory.refresh() },
    stop: async () => { await cafeDirectory.keepAnnounced(false) }
  }
}
