import { IDBBlockstore } from 'blockstore-idb'
import { openDB } from 'idb'
import { base32upper } from 'multiformats/bases/base32'
import { LightcafeError } from '../shared/errors.ts'
import { blocksOf } from './blocks.ts'
import type { Blocks } from './blocks.ts'
import type { CID } from 'multiformats/cid'

// blockstore-idb 4's layout, which batched writes must match byte for byte (idb-blocks.test.ts
// reads them back through IDBBlockstore): one database and one object store, both named by the
// location, version 1; keys `/` + base32upper (with its `B` prefix) of the multihash bytes.
const IDB_VERSION = 1

/** The key blockstore-idb stores a block under. */
export function idbBlockKey (cid: CID): string {
  return `/${base32upper.encoder.encode(cid.multihash.bytes)}`
}

/** A batch of block writes IndexedDB refused (the transaction aborted: nothing of it was stored). */
export class BlockBatchError extends LightcafeError {
  constructor (cause: unknown) {
    const full = (cause as Error | undefined)?.name === 'QuotaExceededError'
    super(full ? 'STORAGE_FULL' : 'STORAGE_ERROR', `blocks could not be stored: ${(cause as Error | undefined)?.message ?? String(cause)}`, { cause })
  }
}

export interface IdbBlocks {
  /** The blockstore itself (Helia takes it). */
  store: IDBBlockstore
  /** Its blocks, with `putMany` as one transaction. */
  blocks: Blocks
  close(): void
}

/**
 * An IDBBlockstore at `location`, opened, and its `Blocks` whose `putMany` writes many blocks
 * in one IndexedDB transaction (has + put for each), and whose `get` is one read, over a
 * second connection to the same database: blockstore-idb has one transaction per request.
 */
export async function openIdbBlocks (location: string): Promise<IdbBlocks> {
  const store = new IDBBlockstore(location)
  await store.open()
  const db = await openDB(location, IDB_VERSION, {
    upgrade (d) { if (!d.objectStoreNames.contains(location)) d.createObjectStore(location) }
  })
  const base = blocksOf(store)
  return {
    store,
    blocks: {
      ...base,
      // One request, not blockstore-idb's has then get (two transactions).
      async get (cid) {
        const bytes: unknown = await db.get(location, idbBlockKey(cid))
        return bytes instanceof Uint8Array ? bytes : undefined
      },
      async putMany (list) {
        if (list.length === 0) return
        let tx
        try { tx = db.transaction(location, 'readwrite') } catch (err) { throw new BlockBatchError(err) }
        const os = tx.objectStore(location)
        // Requests queued back to back: each check and put runs in order within the one transaction.
        const writes = list.map(async ({ cid, bytes }) => {
          const key = idbBlockKey(cid)
          if ((await os.getKey(key)) === undefined) await os.put(bytes, key)
        })
        const failed = (await Promise.allSettled(writes)).find(r => r.status === 'rejected')
        if (failed != null) {
          // A request that threw (a value it could not clone) does not abort the transaction by itself.
          try { tx.abort() } catch {}
          await tx.done.catch(() => {})
          throw new BlockBatchError(failed.reason)
        }
        // Durable only once the transaction completes; one that aborts (storage full) stored nothing.
        try { await tx.done } catch (err) { throw new BlockBatchError(err) }
      }
    },
    close () {
      db.close()
      void store.close()
    }
  }
}
