// A test fixture (imported by unit tests only): a cafe with its backup services, all in memory.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { blocksOf } from '../ipfs/blocks.ts'
import { createCafeApp } from './app.ts'
import { backupUsage } from './backup-api.ts'
import { CafeHost } from './host.ts'
import { PinService } from './pins/pin-service.ts'
import { MemoryPinStore } from './pins/pin-store.ts'
import { MemorySnapshotStore, Snapshots } from './snapshots.ts'
import { MemoryCafeStore } from './store.ts'

/** A cafe in cafe mode with pins and snapshots, and its `/cafe/v1` app. */
export async function memoryBackupCafe (): Promise<{ cafeId: string, host: CafeHost, pins: PinService, snapshots: Snapshots, app: ReturnType<typeof createCafeApp> }> {
  const key = await generateKeyPair('Ed25519')
  const cafeId = peerIdFromPrivateKey(key).toString()
  const host = new CafeHost({ peerId: cafeId, privateKeyRaw: key.raw, store: new MemoryCafeStore() })
  await host.setSettings({ enabled: true })
  const pins = new PinService({ blocks: blocksOf(new MemoryBlockstore()), store: new MemoryPinStore(), quota: async a => host.quotaOf(a) })
  const snapshots = new Snapshots(new MemorySnapshotStore())
  host.useService(backupUsage(pins, snapshots))
  return { cafeId, host, pins, snapshots, app: createCafeApp(host, { services: { pins, snapshots } }) }
}
