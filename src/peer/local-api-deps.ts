import { searchContacts, warmCafes } from '../client/index.ts'
import { connectionPath } from '../node/connection-path.ts'
import { CafeMemory } from '../search/sample.ts'
import type { Account } from '../account/index.ts'
import type { ConnectionInfo, LocalApiDeps } from '../api/app.ts'
import type { Cafe } from '../cafe/compose.ts'
import type { CafeTransport, SearchTargets } from '../client/index.ts'
import type { LightcafeNode } from '../node/create-node.ts'
import type { CafeSearch } from './cafe-search.ts'
import type { ClientParts } from './client.ts'
import type { Connection } from '@libp2p/interface'

async function describe (c: Connection): Promise<ConnectionInfo> {
  const addr = c.remoteAddr.toString()
  const transport = addr.includes('/webrtc') && c.limits == null
    ? 'webrtc'
    : addr.includes('/p2p-circuit') ? 'circuit-relay' : addr.includes('/ws') ? 'websockets' : 'other'
  return { peerId: c.remotePeer.toString(), remoteAddr: addr, transport, direct: c.limits == null && !addr.includes('/p2p-circuit/p2p/'), ...await connectionPath(c) }
}

export interface LocalApiParts {
  node: LightcafeNode
  cafe: Cafe
  client: ClientParts
  /** Where this device's searches go (the relays' directories, one ask per cafe). */
  search: CafeSearch
  transport: CafeTransport
  accounts: { get: () => Account, restore: (mnemonic: string) => Promise<Account> }
  startedAt: string
}

/** What the local API reads and drives: this peer's parts, its search, and the browser's storage. */
export function localApiDeps ({ node, cafe, client: parts, search, transport, accounts, startedAt }: LocalApiParts): LocalApiDeps {
  const self = node.libp2p.peerId.toString()
  // Ask the browser not to evict a cafe's data under storage pressure (granted silently for installed apps).
  const persisted = navigator.storage?.persist?.().catch(() => false) ?? Promise.resolve(false)
  // A search asks a sample of these (src/search/sample.ts); this page remembers how each did.
  const searchTargets = async (): Promise<SearchTargets> => ({ own: (await parts.client.list()).map(s => s.id), lists: await search.lists() })
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
      ask: search.ask,
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
