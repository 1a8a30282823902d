import { LevelDatastore } from 'datastore-level'
import type { Batch, Key } from 'interface-datastore'
import type { AbortOptions } from '@libp2p/interface'

/** LevelDB's own: the write is in the log on disk (fdatasync) before it resolves. */
const SYNC = { sync: true } as const

/**
 * The Node cafe's records on LevelDB, every write synced before it resolves: what the cafe
 * acknowledges (a delivery, a registration, a pin) survives a power cut, not only a killed
 * process. datastore-level passes no options to LevelDB, so its writes are redone here with
 * `sync`. Concurrent writes share a sync: LevelDB commits the writers queued behind one log
 * write as a group, so a burst of deliveries costs a few syncs, and an acknowledgement waits
 * at most for the sync in flight plus its own.
 */
export class SyncedLevelDatastore extends LevelDatastore {
  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    options?.signal?.throwIfAborted()
    await this.db.put(key.toString(), value, SYNC)
    return key
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    await this.db.del(key.toString(), SYNC)
  }

  override batch (): Batch {
    const ops: Array<{ type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }> = []
    return {
      put: (key, value) => { ops.push({ type: 'put', key: key.toString(), value }) },
      delete: key => { ops.push({ type: 'del', key: key.toString() }) },
      commit: async (options?: AbortOptions) => {
        options?.signal?.throwIfAborted()
        await this.db.batch(ops, SYNC)
      }
    }
  }
}
