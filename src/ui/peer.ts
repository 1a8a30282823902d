import { AccountStore } from '../account/index.ts'
import { createLocalApi } from '../api/app.ts'
import { createCafe, requestBodyCap, requestBodyMs } from '../cafe/compose.ts'
import { migrateIdbStores } from '../cafe/datastore/migrate-idb.ts'
import { CafeIdbDatastore } from '../cafe/datastore/idb-datastore.ts'
import { BackupChecks, BackupOutbox, CafeClient, Files, IdbSessionStore, Messages, Recoveries, Threads, createPeerApp, libp2pTransport, searchContacts, warmCafes } from '../client/index.ts'
import { createGatewayApp } from '../ipfs/gateway.ts'
import { openIdbBlocks } from '../ipfs/idb-blocks.ts'
import { createNode } from '../node/create-node.ts'
import { connectionPath } from '../node/connection-path.ts'
import { CafeMemory } from '../search/sample.ts'
import { refusalResponse } from '../shared/errors.ts'
import { httpPeers, relayPeerIds } from '../node/http/index.ts'
import type { Account } from '../account/index.ts'
import type { ConnectionInfo, LocalApiDeps } from '../api/app.ts'
import type { ActivityLog, CafeHost, ContactIndex, PinService } from '../cafe/index.ts'
import type { Cafe, CafeRecords } from '../cafe/compose.ts'
import type { CafeTransport, SearchTargets } from '../client/index.ts'
import type { LightcafeNode, NodeInit } from '../node/create-node.ts'
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Hono } from 'hono'

export const VERSION = '0.1.0'
export interface RunningPeer {
  node: LightcafeNode
  account: () => Account
  cafe: CafeHost
  /** The cafe API's requests as the owner's live log shows them. */
  activity: ActivityLog
  pins: PinService
  client: CafeClient
  contactIndex: ContactIndex
  files: Files
  backups: BackupOutbox
  checks: BackupChecks
  messages: Messages
  api: Hono
  cafeApp: Cafe['app']
  cafeInboxStore: Cafe['inboxStore']
  /** A request to a cafe over libp2p exactly as given (no session added): diagnostics and tests. */
  rawCafeFetch(cafeId: string, request: Request): Promise<Response>
  /** Answers a same-origin request (/api/v0 or /cafe/v1), as the service worker forwards it. */
  handle(request: Request): Promise<Response>
  stop(): Promise<void>
}

async function describe (c: Connection): Promise<ConnectionInfo> {
  const addr = c.remoteAddr.toString()
  const transport = addr.includes('/webrtc') && c.limits == null
    ? 'webrtc'
    : addr.includes('/p2p-circuit') ? 'circuit-relay' : addr.includes('/ws') ? 'websockets' : 'other'
  return { peerId: c.remotePeer.toString(), remoteAddr: addr, transport, direct: c.limits == null && !addr.includes('/p2p-circuit/p2p/'), ...await connectionPath(c) }
}

/** The cafe's record stores, one IndexedDB database each (datastore-idb scans a whole database to list). */
async function openCafeRecords (prefix: string): Promise<CafeRecords> {
  const open = async (name: string): Promise<CafeIdbDatastore> => { const ds = new CafeIdbDatastore(`${prefix}/cafe-records/${name}`); await ds.open(); return ds }
  const [cafe, pins, snapshots, contacts, inbox] = await Promise.all(['cafe', 'pins', 'snapshots', 'contacts', 'inbox'].map(open))
  return { cafe, pins, snapshots, contacts, inbox }
}

/** The parts of this device as a client of cafes, each over its own IndexedDB store. */
interface ClientParts {
  client: CafeClient
  messages: Messages
  files: Files
  threads: Threads
  backups: BackupOutbox
  checks: BackupChecks
  recoveries: Recoveries
}

/** The cafe of this tab: its records and blocks in IndexedDB (moved from 0.1's stores first), composed by createCafe(). */
async function startCafe (node: LightcafeNode, relays: Multiaddr[], transport: CafeTransport, prefix: string): Promise<{ cafe: Cafe, records: CafeRecords, close: () => void }> {
  // What the cafe keeps for clients lives apart from this device's own blocks: its garbage
  // collection can then never touch the owner's files.
  // Its ingests write blocks in batches, one transaction each (`putMany`).
  const cafeBlocks = await openIdbBlocks(`${prefix}/cafe-blocks`)
  const records = await openCafeRecords(prefix)
  // A cafe made before the datastore stores keeps its records: moved once, before the stores open.
  // The old databases' deletion is not awaited (a tab of the old version may still hold them).
  await migrateIdbStores(prefix, records)
  const cafe = await createCafe({
    libp2p: node.libp2p,
    privateKeyRaw: node.privateKey.raw,
    relays: () => relays,
    records,
    blocks: cafeBlocks.blocks,
    fetchCafe: async (cafeId, request, options) => transport({ id: cafeId, addrs: [] }, request, options),
    version: VERSION,
    // Clients are told whether this browser may evict what the cafe keeps for them.
    persistent: async () => await navigator.storage?.persisted?.().catch(() => false) ?? false
  })
  // A relay that restarted has an empty directory: announce again once it is back.
  node.relays.addEventListener('change', () => { cafe.relaysChanged() })
  const close = (): void => {
    for (const ds of new Set(Object.values(records))) (ds as CafeIdbDatastore).close()
    cafeBlocks.close()
  }
  return { cafe, records, close }
}

/** This device as a client of cafes: sessions, messages, files, threads, backups, their checks, recoveries. */
async function startClient (node: LightcafeNode, transport: CafeTransport, account: () => Account, relays: Multiaddr[], prefix: string): Promise<ClientParts> {
  const client = new CafeClient({ account, store: new IdbSessionStore(`${prefix}/client`), transport, wake: node.wake })
  await client.start()
  const relayIds = relayPeerIds(relays)
  const messages = new Messages({
    account,
    client,
    transport,
    peerId: node.libp2p.peerId.toString(),
    connectedPeers: async () => httpPeers(node.libp2p, relayIds),
    dbName: `${prefix}/messages`,
    wake: node.wake
  })
  const files = new Files(node.helia, account, `${prefix}/files`)
  const threads = new Threads(account, `${prefix}/threads`)
  const backups = new BackupOutbox({
    client,
    blocks: node.blocks,
    dbName: `${prefix}/backups`,
    wake: node.wake,
    metaOf: async cid => {
      const sealed = await files.sealedRecord(cid)
      return { app: 'lightcafe', ...(sealed != null ? { lc: sealed } : {}) }
    },
    snapshotOf: async id => {
      const t = await threads.get(id)
      return { id: threads.snapshotId(id), ciphertext: await threads.seal(t) }
    },
    threadIds: async () => (await threads.list()).map(t => t.id)
  })
  // Each cafe's care of the backups, proven from time to time; what it lost is uploaded again.
  const checks = new BackupChecks({ client, outbox: backups, dbName: `${prefix}/backup-checks` })
  const recoveries = new Recoveries({
    client,
    threads,
    files,
    blocks: node.blocks,
    adopt: async roots => { for (const root of roots) await backups.backup(root).catch(() => {}) }
  })
  return { client, messages, files, threads, backups, checks, recoveries }
}

/**
 * What other peers may ask of this one over libp2p: its own `/client/v1` (any peer), its blocks
 * (`/ipfs/`, its own cafes only, when they pull a pin) and the cafe API.
 */
function serveNode (node: LightcafeNode, client: ClientParts, cafeApp: Cafe['app'], gateway: Hono): void {
  const peerApp = createPeerApp(client.messages, client.client)
  node.serve(async (req, info) => {
    if (new URL(req.url).pathname.startsWith('/client/v1/')) return peerApp.fetch(req, { remotePeer: info.remotePeer })
    if (new URL(req.url).pathname.startsWith('/ipfs/')) {
      const mine = (await client.client.list()).some(s => s.id === info.remotePeer)
      if (!mine) return refusalResponse('FORBIDDEN', 'this peer serves its blocks to its own cafes only')
      return gateway.fetch(req)
    }
    return cafeApp.fetch(req, { remotePeer: info.remotePeer })
  })
}

/** What the local API reads and drives: this peer's parts, its search, and the browser's storage. */
function localApiDeps (node: LightcafeNode, cafe: Cafe, parts: ClientParts, transport: CafeTransport, accounts: { get: () => Account, restore: (mnemonic: string) => Promise<Account> }, startedAt: string): LocalApiDeps {
  const self = node.libp2p.peerId.toString()
  // Ask the browser not to evict a cafe's data under storage pressure (granted silently for installed apps).
  const persisted = navigator.storage?.persist?.().catch(() => false) ?? Promise.resolve(false)
  // A search asks a sample of these (src/search/sample.ts); this page remembers how each did.
  const searchTargets = async (): Promise<SearchTargets> => ({ own: (await parts.client.list()).map(s => s.id), lists: await cafe.directoryLists() })
  const searchMemory = new CafeMemory()
  return {
    warmSearch: async () => warmCafes({
      cafes: searchTargets,
      memory: searchMemory,
      self,
      dial: async (id, options) => { await (await transport({ id, addrs: [] }, new Request('http://cafe/cafe/v1/info'), options)).body?.cancel() }
    }),
    peer: () => ({
      peerId: self,
      multiaddrs: node.libp2p.getMultiaddrs().map(ma => ma.toString()),
      relays: node.relays.state().map(r => ({ multiaddr: r.multiaddr, connected: r.connected, reserved: r.reserved })),
      // URLs only: TURN credentials stay in the node.
      iceServers: node.ice.current().flatMap(s => s.urls),
      webrtc: node.webrtc,
      startedAt
    }),
    connections: async () => Promise.all(node.libp2p.getConnections().filter(c => c.status === 'open').map(describe)),
    account: accounts.get,
    activity: cafe.activity,
    restoreAccount: accounts.restore,
    cafe: cafe.host,
    inbox: cafe.inbox,
    client: parts.client,
    files: parts.files,
    backups: parts.backups,
    checks: parts.checks,
    threads: parts.threads,
    messages: parts.messages,
    search: async (input, onUpdate) => searchContacts({
      cafes: searchTargets,
      memory: searchMemory,
      ask: cafe.askCafe,
      self,
      local: (await cafe.host.getSettings()).enabled ? (name, limit) => cafe.contactIndex.search(name, limit) : undefined
    }, input, onUpdate),
    recover: async (cafeId, options) => parts.recoveries.start(cafeId, options),
    recovery: (cafeId) => parts.recoveries.get(cafeId),
    storage: async () => {
      // WebKitGTK (and older Safari) have no navigator.storage: nothing to report, not zero.
      if (navigator.storage?.estimate == null) return { usage: 0, quota: 0, persisted: false, reported: false }
      const est = await navigator.storage.estimate()
      // Asked for at start; read again, since the owner may grant it later (or install the app).
      await persisted
      return { usage: est.usage ?? 0, quota: est.quota ?? 0, persisted: await navigator.storage.persisted?.().catch(() => false) ?? false, reported: true }
    }
  }
}

/** Builds the whole peer in this page: node, account, cafe host, cafe client, both HTTP apps. */
export async function startPeer (opts: { relays: Multiaddr[], dbPrefix?: string, iceServers?: NodeInit['iceServers'], onNode?: (node: LightcafeNode) => void }): Promise<RunningPeer> {
  const prefix = opts.dbPrefix ?? 'lightcafe'
  const startedAt = new Date().toISOString()
  // The account (IndexedDB, then PBKDF2) loads while the node starts.
  const accounts = new AccountStore(`${prefix}/account`)
  const loading = accounts.loadOrCreate()
  loading.catch(() => { /* awaited below; a node that failed first is the error reported */ })
  const node = await createNode({ relays: opts.relays, dbPrefix: prefix, iceServers: opts.iceServers, serveOptions: { maxRequestBodyBytes: requestBodyCap, requestBodyMs } })
  performance.mark('lc:node-started')
  opts.onNode?.(node)
  let account = await loading
  performance.mark('lc:account-loaded')

  // Through the relays connected now: a relay this device cannot reach would cost every dial its timeout.
  const transport = libp2pTransport(node.libp2p.services.http, () => node.relays.dialable(), node.wake, { webrtc: node.webrtc })
  const { cafe, close: closeCafe } = await startCafe(node, opts.relays, transport, prefix)
  const parts = await startClient(node, transport, () => account, opts.relays, prefix)
  // This tab's cafe answers for its owner's contact too: the owner is no client of its own cafe.
  const ownContact = async (): Promise<void> => { cafe.contacts.setOwner(await parts.messages.profile()) }
  await ownContact().catch(() => { /* a contact that no longer verifies: published again on the next profile change */ })
  parts.messages.addEventListener('profile', () => { void ownContact().catch(() => {}) })
  // This device's blocks, read by its cafes when they pull a pin (Pinning Service API origins).
  const gateway = createGatewayApp(async cid => node.blocks.get(cid))
  serveNode(node, parts, cafe.app, gateway)
  await parts.backups.start()
  parts.checks.start()
  await parts.messages.start()
  const api = createLocalApi(localApiDeps(node, cafe, parts, transport, { get: () => account, restore: async (mnemonic) => { account = await accounts.restore(mnemonic); return account } }, startedAt))

  performance.mark('lc:peer-started')
  return {
    node,
    account: () => account,
    cafe: cafe.host,
    activity: cafe.activity,
    pins: cafe.pins,
    client: parts.client,
    contactIndex: cafe.contactIndex,
    files: parts.files,
    backups: parts.backups,
    checks: parts.checks,
    messages: parts.messages,
    api,
    cafeApp: cafe.app,
    cafeInboxStore: cafe.inboxStore,
    rawCafeFetch: async (cafeId, request) => transport({ id: cafeId, addrs: [] }, request, { signal: AbortSignal.timeout(20_000) }),
    handle: sameOrigin(api, cafe.app, gateway),
    stop: async () => {
      parts.client.stop()
      parts.backups.stop()
      parts.checks.stop()
      parts.messages.stop()
      await cafe.stop()
      await node.libp2p.services.http.unserve()
      closeCafe()
      await parts.threads.close()
      await accounts.close()
      await parts.files.close()
      await node.stop()
    }
  }
}

/** Answers a same-origin request (the service worker forwards /api/v0, /cafe/v1 and /ipfs). */
function sameOrigin (api: Hono, cafeApp: Cafe['app'], gateway: Hono): (request: Request) => Promise<Response> {
  return async request => {
    const path = new URL(request.url).pathname
    if (path.startsWith('/api/v0/')) return api.fetch(request)
    // Same-origin callers of the cafe API have no libp2p peer id: they are this device.
    if (path.startsWith('/cafe/v1/')) return cafeApp.fetch(request, {})
    if (path.startsWith('/ipfs/')) return gateway.fetch(request)
    return refusalResponse('NOT_FOUND', `no route ${path}`)
  }
}
