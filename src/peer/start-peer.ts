import { AccountStore } from '../account/index.ts'
import { createLocalApi } from '../api/app.ts'
import { requestBodyCap, requestBodyMs } from '../cafe/compose.ts'
import { createPeerApp, libp2pTransport } from '../client/index.ts'
import { createGatewayApp } from '../ipfs/gateway.ts'
import { createNode } from '../node/create-node.ts'
import { cafeSearch } from './cafe-search.ts'
import { createClient } from './client.ts'
import { localApiDeps } from './local-api-deps.ts'
import { deviceRouter } from './routes.ts'
import { startTabCafe } from './tab-cafe.ts'
import type { Account } from '../account/index.ts'
import type { ActivityLog, CafeHost, ContactIndex, PinService } from '../cafe/index.ts'
import type { Cafe } from '../cafe/compose.ts'
import type { BackupChecks, BackupOutbox, CafeClient, Files, Messages } from '../client/index.ts'
import type { LightcafeNode, NodeInit } from '../node/create-node.ts'
import type { ClientParts } from './client.ts'
import type { Router } from './router.ts'
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

/** The route table over this device's apps; other peers reach it over libp2p from now on. */
function serveApps (node: LightcafeNode, cafe: Cafe, parts: ClientParts, api: Hono): Router {
  const router = deviceRouter({
    api,
    cafeApp: cafe.app,
    peerApp: createPeerApp(parts.messages, parts.client),
    // This device's blocks, read by its cafes when they pull a pin (Pinning Service API origins).
    gateway: createGatewayApp(async cid => node.blocks.get(cid)),
    isOwnCafe: async peer => (await parts.client.list()).some(s => s.id === peer)
  })
  node.serve(async (request, info) => router.peer(request, info.remotePeer))
  return router
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
  // This device's searches, and its cafe's forwards, go where the relays' directories point.
  const search = cafeSearch({ directory: node.libp2p.services.cafeDirectory, relays: () => opts.relays, fetchCafe: async (cafeId, request, options) => transport({ id: cafeId, addrs: [] }, request, options) })
  const { cafe, close: closeCafe } = await startTabCafe(node, search, prefix, VERSION)
  const parts = await createClient({ node, transport, account: () => account, relays: opts.relays, prefix })
  // This tab's cafe answers for its owner's contact too: the owner is no client of its own cafe.
  const ownContact = async (): Promise<void> => { cafe.contacts.setOwner(await parts.messages.profile()) }
  await ownContact().catch(() => { /* a contact that no longer verifies: published again on the next profile change */ })
  parts.messages.addEventListener('profile', () => { void ownContact().catch(() => {}) })
  const accountsOfApi = { get: () => account, restore: async (mnemonic: string) => { account = await accounts.restore(mnemonic); return account } }
  const api = createLocalApi(localApiDeps({ node, cafe, client: parts, search, transport, accounts: accountsOfApi, startedAt }))
  const router = serveApps(node, cafe, parts, api)
  await parts.backups.start()
  parts.checks.start()
  await parts.messages.start()

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
    handle: router.own,
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
