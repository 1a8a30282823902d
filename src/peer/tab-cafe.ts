import { createCafe } from '../cafe/compose.ts'
import { migrateIdbStores } from '../cafe/datastore/migrate-idb.ts'
import { CafeIdbDatastore } from '../cafe/datastore/idb-datastore.ts'
import { openIdbBlocks } from '../ipfs/idb-blocks.ts'
import type { Cafe, CafeRecords } from '../cafe/compose.ts'
import type { Forward } from '../cafe/search-api.ts'
import type { LightcafeNode } from '../node/create-node.ts'

/** The cafe's record stores, one IndexedDB database each (datastore-idb scans a whole database to list). */
async function openCafeRecords (prefix: string): Promise<CafeRecords> {
  const open = async (name: string): Promise<CafeIdbDatastore> => { const ds = new CafeIdbDatastore(`${prefix}/cafe-records/${name}`); await ds.open(); return ds }
  const [cafe, pins, snapshots, contacts, inbox] = await Promise.all(['cafe', 'pins', 'snapshots', 'contacts', 'inbox'].map(open))
  return { cafe, pins, snapshots, contacts, inbox }
}

/** The cafe of this tab: its records and blocks in IndexedDB (moved from 0.1's stores first), composed by createCafe(). */
export async function startTabCafe (node: LightcafeNode, forward: Forward, prefix: string, version: string): Promise<{ cafe: Cafe, close: () => void }> {
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
    records,
    blocks: cafeBlocks.blocks,
    forward,
    version,
    // Clients are told whether this browser may evict what the cafe keeps for them.
    persistent: async () => await navigator.storage?.persisted?.().catch(() => false) ?? false
  })
  // A relay that restarted has an empty directory: announce again once it is back.
  node.relays.addEventListener('change', () => { cafe.relaysChanged() })
  const close = (): void => {
    for (const ds of new Set(Object.values(records))) (ds as CafeIdbDatastore).close()
    cafeBlocks.close()
  }
  return { cafe, close }
}
