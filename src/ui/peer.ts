import { AccountStore } from '../account/index.ts'
import { createLocalApi } from '../api/app.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { IDBBlockstore } from 'blockstore-idb'
import { ActivityLog, CafeContacts, CafeHost, CafeInbox, ContactIndex, IdbCafeStore, IdbContactStore, IdbInboxStore, IdbPinStore, IdbSnapshotStore, PinService, Snapshots, backupUsage, createCafeApp, inboxUsage } from '../cafe/index.ts'
import { BackupOutbox, CafeClient, Files, IdbSessionStore, Messages, Threads, createPeerApp, libp2pTransport, recover, searchContacts } from '../client/index.ts'
import { DirectoryAnnouncer, listCafes } from '../node/cafe-directory.ts'
import { blocksOf } from '../ipfs/blocks.ts'
import { createGatewayApp } from '../ipfs/gateway.ts'
import { createNode } from '../node/create-node.ts'
import { HTTP_LIMITS, directConnection, fetchOverLibp2p, newestDirect, serveHttp } from '../node/http-over-libp2p.ts'
import { REMOTE_BODY_LIMITS, boundedChunks, readJson } from '../shared/streams.ts'
import type { Account } from '../account/index.ts'
import type { ConnectionInfo } from '../api/app.ts'
import type { CarFetcher, Forward } from '../cafe/index.ts'
import type { RecoveryProgress } from '../client/index.ts'
import type { LightcafeNode } from '../node/create-node.ts'
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
  messages: Messages
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

export const PULL_LIMITS = {
  /**
   * The most one pin pull's CAR may ever be. Each pull is cut sooner, at the cap the pin
   * service passes (the client's quota left, its own blocks once, slack): a source repeating
   * blocks the cafe already has costs no quota, and must not be read until the deadline.
   */
  maxCarBytes: 4 * 1024 * 1024 * 1024
} as const

/**
 * Request bodies strangers may send to this peer, per route: a CAR upload is bounded by its
 * client's quota as it arrives, and by the idle limit per frame rather than a total time (a
 * large upload takes long); every other route is JSON far below the defaults.
 */
function requestBodyCap (_method: string, path: string): number {
  return isUpload(path) ? Number.MAX_SAFE_INTEGER : HTTP_LIMITS.maxRequestBodyBytes
}
const isUpload = (path: string): boolean => path === '/cafe/v1/uploads'

/**
 * Pulls a DAG for a pin as a CAR from a peer's trustless gateway over libp2p (the caller, or an
 * origin's peer). Only the peer id is dialled, through this node's own transports: an origin's
 * host is never contacted directly (a stranger's pin must not reach hosts on the cafe's LAN).
 */
function carOverLibp2p (libp2p: LightcafeNode['libp2p']): CarFetcher {
  return async (source, root, signal, opts) => {
    if (source.peer == null) throw new Error('a pin source must name a peer')
    const target = await directConnection(libp2p, peerIdFromString(source.peer), signal)
    const res = await fetchOverLibp2p(libp2p, target, new Request(`http://peer/ipfs/${root.toString()}?format=car`, { headers: { accept: 'application/vnd.ipld.car' } }), { signal })
    if (!res.ok || res.body == null) { await res.body?.cancel(); throw new Error(`the source answered ${res.status}`) }
    // The signal (the pull's deadline) covers the body; the CAR reader checks each section's length before reading it.
    return boundedChunks(res.body, { maxBytes: Math.min(opts?.maxBytes ?? PULL_LIMITS.maxCarBytes, PULL_LIMITS.maxCarBytes), signal, what: `the CAR of ${root.toString()}` })
  }
}

/** Builds the whole peer in this page: node, account, cafe host, cafe client, both HTTP apps. */
export async function startPeer (opts: { relays: Multiaddr[], dbPrefix?: string, onNode?: (node: LightcafeNode) => void }): Promise<RunningPeer> {
  const prefix = opts.dbPrefix ?? 'lightcafe'
  const startedAt = new Date().toISOString()
  // The account (IndexedDB, then PBKDF2) loads while the node starts.
  const accounts = new AccountStore(`${prefix}/account`)
  const loading = accounts.loadOrCreate()
  loading.catch(() => { /* awaited below; a node that failed first is the error reported */ })
  const node = await createNode({ relays: opts.relays, dbPrefix: prefix })
  performance.mark('lc:node-started')
  opts.onNode?.(node)
  let account = await loading
  performance.mark('lc:account-loaded')

  const cafe = new CafeHost({ peerId: node.libp2p.peerId.toString(), privateKeyRaw: node.privateKey.raw, store: new IdbCafeStore(`${prefix}/cafe`) })
  // What the cafe keeps for clients lives apart from this device's own blocks: its garbage
  // collection can then never touch the owner's files.
  const cafeBlockstore = new IDBBlockstore(`${prefix}/cafe-blocks`)
  await cafeBlockstore.open()
  const pinStore = new IdbPinStore(`${prefix}/cafe-pins`)
  const pins = new PinService({
    blocks: blocksOf(cafeBlockstore),
    store: pinStore,
    quota: async address => cafe.quotaOf(address),
    fetchCar: carOverLibp2p(node.libp2p),
    delegates: () => node.libp2p.getMultiaddrs().map(ma => ma.toString())
  })
  const snapshots = new Snapshots(new IdbSnapshotStore(`${prefix}/cafe-snapshots`))
  cafe.useService(backupUsage(pins, snapshots))
  const contactStore = new IdbContactStore(`${prefix}/cafe-contacts`)
  const contacts = new CafeContacts(contactStore)
  // The search index is rebuilt from the stored contacts at start, then follows every change.
  const contactIndex = await ContactIndex.load(contactStore)
  contacts.onChange((address, contact) => { if (contact != null) contactIndex.upsert(contact); else contactIndex.remove(address) })
  const inbox = new CafeInbox({ store: new IdbInboxStore(`${prefix}/cafe-inbox`), isRegistered: async address => (await cafe.clientPeer(address)) != null })
  inbox.setLimits((await cafe.getSettings()).inbox ?? {})
  cafe.useService(inboxUsage(inbox, contacts))
  const transport = libp2pTransport(node.libp2p, () => opts.relays)
  const self = node.libp2p.peerId.toString()
  // Cafes known through the relays' directories; asked in parallel with one deadline.
  const directoryCafes = async (): Promise<string[]> => {
    const lists = await Promise.allSettled(opts.relays.map(async r => listCafes(node.libp2p, r, AbortSignal.timeout(3_000))))
    return [...new Set(lists.flatMap(l => l.status === 'fulfilled' ? l.value : []))]
  }
  const askCafe = async (cafeId: string, query: Record<string, unknown>, signal: AbortSignal): Promise<unknown> => {
    const res = await transport({ id: cafeId, addrs: [] }, new Request('http://cafe/cafe/v1/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(query) }), signal)
    if (!res.ok) { await res.body?.cancel(); throw new Error(`cafe ${cafeId} answered ${res.status}`) }
    // The deadline covers the body too: a cafe answering forever is cut off at the cap or the deadline.
    return readJson(res, { maxBytes: REMOTE_BODY_LIMITS.searchAnswerBytes, signal, what: `the answer of cafe ${cafeId}` })
  }
  // The search API picks the targets (a few, never visited) and bounds the wait.
  const forward: Forward = { cafes: directoryCafes, ask: askCafe }
  const activity = new ActivityLog()
  const cafeApp = createCafeApp(cafe, { version: VERSION, onActivity: a => { activity.record(a) }, services: { pins, snapshots, inbox, contacts, search: { index: () => contactIndex, forward } } })
  const announcer = new DirectoryAnnouncer(node.libp2p, () => opts.relays)
  announcer.set((await cafe.getSettings()).enabled)
  cafe.onSettings(s => { announcer.set(s.enabled) })
  // A relay that restarted has an empty directory: announce again once it is back.
  node.relays.addEventListener('change', () => { announcer.refresh() })
  // A message for a client connected right now is pushed to it at once; it stays here until
  // the client acknowledges it, so a push lost on the way is collected later.
  inbox.onDelivered((to, message) => {
    void (async () => {
      const peer = await cafe.clientPeer(to)
      if (peer == null || peer === '') return
      const conn = newestDirect(node.libp2p, peerIdFromString(peer))
      if (conn == null) return
      const res = await fetchOverLibp2p(node.libp2p, conn, new Request('http://peer/client/v1/inbox', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message.envelope) }), { signal: AbortSignal.timeout(10_000) })
      await res.body?.cancel()
    })().catch(() => { /* collected on the client's next check */ })
  })

  const client = new CafeClient({ account: () => account, store: new IdbSessionStore(`${prefix}/client`), transport })
  await client.start()

  const messages = new Messages({
    account: () => account,
    client,
    transport,
    peerId: node.libp2p.peerId.toString(),
    connectedPeers: () => [...new Set(node.libp2p.getConnections().filter(c => c.status === 'open' && c.limits == null).map(c => c.remotePeer.toString()))],
    dbName: `${prefix}/messages`
  })
  const peerApp = createPeerApp(messages, client)

  // This device's blocks, read by its cafes when they pull a pin (Pinning Service API origins).
  const gateway = createGatewayApp(async cid => node.blocks.get(cid))
  const stopServing = await serveHttp(node.libp2p, async (req, info) => {
    if (new URL(req.url).pathname.startsWith('/client/v1/')) return peerApp.fetch(req, { remotePeer: info.remotePeer })
    if (new URL(req.url).pathname.startsWith('/ipfs/')) {
      const mine = (await client.list()).some(s => s.id === info.remotePeer)
      if (!mine) return Response.json({ error: { reason: 'FORBIDDEN', details: 'this peer serves its blocks to its own cafes only' } }, { status: 403 })
      return gateway.fetch(req)
    }
    return cafeApp.fetch(req, { remotePeer: info.remotePeer })
  }, { maxRequestBodyBytes: requestBodyCap, requestBodyMs: (_method, path) => isUpload(path) ? undefined : HTTP_LIMITS.requestBodyMs })

  const files = new Files(node.helia, () => account, `${prefix}/files`)
  const threads = new Threads(() => account, `${prefix}/threads`)
  const backups = new BackupOutbox({
    client,
    blocks: node.blocks,
    dbName: `${prefix}/backups`,
    metaOf: async cid => {
      const sealed = await files.sealedRecord(cid)
      return { app: 'lightcafe', ...(sealed != null ? { lc: sealed } : {}) }
    },
    snapshotOf: async id => {
      const t = await threads.get(id)
      return { id: threads.snapshotId(id), ciphertext: await threads.seal(t) }
    }
  })
  await backups.start()
  await messages.start()
  const recoveries = new Map<string, { progress: RecoveryProgress, done: Promise<RecoveryProgress> }>()
  // Ask the browser not to evict a cafe's data under storage pressure (granted silently for installed apps).
  const persisted = navigator.storage?.persist?.().catch(() => false) ?? Promise.resolve(false)
  const api = createLocalApi({
    peer: () => ({
      peerId: node.libp2p.peerId.toString(),
      multiaddrs: node.libp2p.getMultiaddrs().map(ma => ma.toString()),
      relays: node.relays.state().map(r => ({ multiaddr: r.multiaddr, connected: r.connected, reserved: r.reserved })),
      startedAt
    }),
    connections: () => node.libp2p.getConnections().filter(c => c.status === 'open').map(describe),
    account: () => account,
    activity,
    restoreAccount: async (mnemonic) => { account = await accounts.restore(mnemonic); return account },
    cafe,
    inbox,
    client,
    files,
    backups,
    threads,
    messages,
    search: async (input, onUpdate) => searchContacts({
      cafes: async () => [...new Set([...await directoryCafes(), ...(await client.list()).map(s => s.id)])],
      ask: askCafe,
      self,
      local: (await cafe.getSettings()).enabled ? (name, limit) => contactIndex.search(name, limit) : undefined
    }, input, onUpdate),
    recover: async (cafeId) => {
      const running = recoveries.get(cafeId)
      if (running?.progress.state === 'running') return running.done
      const progress: RecoveryProgress = { cafe: cafeId, state: 'running', started: new Date().toISOString(), snapshots: 0, threads: [], dags: 0, dagsDone: 0, files: 0, blocks: 0, bytes: 0, totalBytes: 0 }
      const done = recover({ client, threads, files, blocks: node.blocks }, cafeId, progress)
      recoveries.set(cafeId, { progress, done })
      return done
    },
    recovery: (cafeId) => recoveries.get(cafeId)?.progress,
    storage: async () => {
      const est = await navigator.storage?.estimate?.() ?? {}
      // Asked for at start; read again, since the owner may grant it later (or install the app).
      await persisted
      return { usage: est.usage ?? 0, quota: est.quota ?? 0, persisted: await navigator.storage?.persisted?.().catch(() => false) ?? false }
    }
  })

  performance.mark('lc:peer-started')
  return {
    node,
    account: () => account,
    cafe,
    activity,
    pins,
    client,
    contactIndex,
    files,
    backups,
    messages,
    api,
    cafeApp,
    rawCafeFetch: async (cafeId, request) => transport({ id: cafeId, addrs: [] }, request, AbortSignal.timeout(20_000)),
    handle: async (request) => {
      const path = new URL(request.url).pathname
      if (path.startsWith('/api/v0/')) return api.fetch(request)
      // Same-origin callers of the cafe API have no libp2p peer id: they are this device.
      if (path.startsWith('/cafe/v1/')) return cafeApp.fetch(request, {})
      if (path.startsWith('/ipfs/')) return gateway.fetch(request)
      return Response.json({ error: { reason: 'NOT_FOUND', details: `no route ${path}` } }, { status: 404 })
    },
    stop: async () => {
      client.stop()
      backups.stop()
      messages.stop()
      announcer.stop()
      await stopServing()
      await pinStore.close()
      await threads.close()
      cafeBlockstore.close()
      await accounts.close()
      await files.close()
      await node.stop()
    }
  }
}
