import { BackupChecks, BackupOutbox, CafeClient, Files, IdbSessionStore, Messages, Recoveries, Threads } from '../client/index.ts'
import { httpPeers, relayPeerIds } from '../node/http/index.ts'
import type { Account } from '../account/index.ts'
import type { CafeTransport } from '../client/index.ts'
import type { LightcafeNode } from '../node/create-node.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The parts of this device as a client of cafes, each over its own IndexedDB store. */
export interface ClientParts {
  client: CafeClient
  messages: Messages
  files: Files
  threads: Threads
  backups: BackupOutbox
  checks: BackupChecks
  recoveries: Recoveries
}

export interface ClientInit {
  node: LightcafeNode
  /** How this device reaches a cafe (libp2pTransport over the node's relays). */
  transport: CafeTransport
  /** The account now (a restore replaces it). */
  account: () => Account
  relays: Multiaddr[]
  /** Each part's IndexedDB database is named `<prefix>/<part>`. */
  prefix: string
}

/** This device as a client of cafes: sessions, messages, files, threads, backups, their checks, recoveries. */
export async function createClient ({ node, transport, account, relays, prefix }: ClientInit): Promise<ClientParts> {
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
