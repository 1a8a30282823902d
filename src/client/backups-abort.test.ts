import 'fake-indexeddb/auto'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { accountFromMnemonic, newMnemonic } from '../account/index.ts'
import { blocksOf } from '../ipfs/blocks.ts'
import { BackupOutbox } from './backups.ts'
import { CafeClient } from './cafe-client.ts'
import { MemorySessionStore } from './session-store.ts'

/** The caller's `signal` (AbortOptions) on the backup outbox's calls. */
describe('backup outbox: AbortOptions', () => {
  it('queues nothing for a caller that already gave up', async () => {
    const account = accountFromMnemonic(newMnemonic())
    const client = new CafeClient({ account: () => account, store: new MemorySessionStore(), transport: async () => { throw new Error('no cafe is asked') } })
    const blocks = blocksOf(new MemoryBlockstore())
    const bytes = new TextEncoder().encode('a file')
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    await blocks.put(cid, bytes)
    const outbox = new BackupOutbox({ client, blocks, dbName: 'backups-abort-test', metaOf: async () => ({}), snapshotOf: async () => { throw new Error('no threads here') } })
    await outbox.start()
    const gone = AbortSignal.abort(new Error('gone'))
    await expect(outbox.backup(cid.toString(), { signal: gone })).rejects.toThrow('gone')
    await expect(outbox.list({ signal: gone })).rejects.toThrow('gone')
    expect(await outbox.list()).toEqual([])
    expect(await outbox.pending()).toEqual({})
    outbox.stop()
  })
})
