// A test fixture (imported by unit tests only): a cafe with its backup services, all in memory.
import { MemoryBlockstore } from 'blockstore-core/memory'
import { blocksOf } from '../ipfs/blocks.ts'
import { createCafeApp } from './app.ts'
import { backupUsage } from './backup-api.ts'
import { PinService } from './pins/pin-service.ts'
import { MemoryPinStore } from './pins/pin-store.ts'
import { MemorySnapshotStore, Snapshots } from './snapshots.ts'
import { CafeContacts } from './contacts/contacts.ts'
import { MemoryContactStore } from './contacts/contact-store.ts'
import { inboxUsage } from './inbox/inbox-api.ts'
import { CafeInbox } from './inbox/inbox.ts'
import { MemoryInboxStore } from './inbox/inbox-store.ts'
import { testCafeHost } from './test-cafe-host.ts'
import type { CafeHost } from './host.ts'
import type { Blocks } from '../ipfs/blocks.ts'

/**
 * A cafe in cafe mode with pins and snapshots (and, with `inbox`, an inbox and contacts), and
 * its `/cafe/v1` app.
 */
export async function memoryBackupCafe (opts: { inbox?: boolean } = {}): Promise<{ cafeId: string, host: CafeHost, pins: PinService, snapshots: Snapshots, blocks: Blocks, app: ReturnType<typeof createCafeApp>, inbox?: CafeInbox }> {
  const { cafeId, host } = await testCafeHost()
  const blocks = blocksOf(new MemoryBlockstore())
  const pins = new PinService({ blocks, store: new MemoryPinStore(), quota: async a => host.quotaOf(a) })
  const snapshots = new Snapshots(new MemorySnapshotStore())
  host.useService(backupUsage(pins, snapshots))
  if (opts.inbox !== true) return { cafeId, host, pins, snapshots, blocks, app: createCafeApp(host, { services: { pins, snapshots } }) }
  const inbox = new CafeInbox({ store: new MemoryInboxStore(), isRegistered: async a => (await host.clientPeer(a)) != null })
  const contacts = new CafeContacts(new MemoryContactStore())
  host.useService(inboxUsage(inbox, contacts))
  return { cafeId, host, pins, snapshots, blocks, inbox, app: createCafeApp(host, { services: { pins, snapshots, inbox, contacts } }) }
}
