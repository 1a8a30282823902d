import { mkdir, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { syncDir, writeFileSynced } from '../relay/synced-file.ts'
import { randomBytes, toBase64url } from '../src/shared/bytes.ts'
import { blocksOf } from '../src/ipfs/blocks.ts'
import type { FsBlockstore } from 'blockstore-fs'
import type { ShardingStrategy } from 'blockstore-fs/sharding'
import type { Blocks } from '../src/ipfs/blocks.ts'
import type { CID } from 'multiformats/cid'

/** Block files written at once in one batch (each is synced on its own; the disk takes them together). */
const PARALLEL_WRITES = 8

/**
 * The Node cafe's blocks as files (blockstore-fs's layout, `sharding` the store's own, which reads them), written so that
 * a stored block survives a power cut: each file is synced under a temporary name
 * (`.<name>.<random>.tmp`: two ingests of one block never share one), renamed into place, and
 * every folder that gained a name is synced once per batch. `putMany` resolves only then, so
 * a pin that commits after it (ingest.ts) never names a block the disk could lose.
 * blockstore-fs itself renames unsynced files.
 */
export function syncedFsBlocks (store: FsBlockstore, sharding: ShardingStrategy): Blocks {
  const base = blocksOf(store)
  const pathOf = (cid: CID): string => {
    const { dir, file } = sharding.encode(cid)
    return join(store.path, dir, file)
  }
  const putMany = async (blocks: ReadonlyArray<{ cid: CID, bytes: Uint8Array }>): Promise<void> => {
    const dirs = new Set<string>()
    const todo = [...blocks]
    const one = async ({ cid, bytes }: { cid: CID, bytes: Uint8Array }): Promise<void> => {
      if (await base.has(cid)) return
      const file = pathOf(cid)
      const dir = dirname(file)
      // A new shard folder is a new name in the root: that is synced too.
      if ((await mkdir(dir, { recursive: true })) != null) dirs.add(store.path)
      const temp = join(dir, `.${file.slice(dir.length + 1)}.${toBase64url(randomBytes(6))}.tmp`)
      try {
        await writeFileSynced(temp, bytes, { syncFolder: false })
        await rename(temp, file)
      } catch (err) {
        await rm(temp, { force: true })
        throw err
      }
      dirs.add(dir)
    }
    const workers = Array.from({ length: Math.min(PARALLEL_WRITES, todo.length) }, async () => {
      for (let next = todo.shift(); next != null; next = todo.shift()) await one(next)
    })
    await Promise.all(workers)
    // Deepest first: a shard's name in the root is synced after the shard's own names.
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) await syncDir(dir)
  }
  return {
    ...base,
    put: async (cid, bytes) => { await putMany([{ cid, bytes }]) },
    putMany
  }
}
