import { MemoryBlockstore } from 'blockstore-core/memory'
import { blocksOf } from './blocks.ts'
import type { Blocks } from './blocks.ts'
import type { CID } from 'multiformats/cid'

/** What a test does with one `putMany` call: let it commit, or make it fail (nothing of it stored). */
export interface HeldBatch {
  keys: string[]
  commit(): void
  fail(error: Error): void
}

/**
 * Blocks over memory whose `putMany` is held until the test commits or fails it: a batch
 * commits all its blocks at once, as an IndexedDB transaction does, or none of them.
 * For unit tests only.
 */
export function heldBatchBlocks (): { blocks: Blocks, batches: HeldBatch[], nextBatch: () => Promise<HeldBatch> } {
  const base = blocksOf(new MemoryBlockstore())
  const batches: HeldBatch[] = []
  const waiting: Array<(b: HeldBatch) => void> = []
  const blocks: Blocks = {
    ...base,
    async putMany (list: ReadonlyArray<{ cid: CID, bytes: Uint8Array }>) {
      await new Promise<void>((resolve, reject) => {
        const batch: HeldBatch = {
          keys: list.map(b => b.cid.toString()),
          commit: () => {
            void (async () => {
              for (const { cid, bytes } of list) if (!(await base.has(cid))) await base.put(cid, bytes)
            })().then(resolve, reject)
          },
          fail: reject
        }
        batches.push(batch)
        waiting.shift()?.(batch)
      })
    }
  }
  /** The next batch asked for (one already asked and not yet taken, else the next to come). */
  let taken = 0
  const nextBatch = async (): Promise<HeldBatch> => {
    const i = taken++
    if (i < batches.length) return batches[i]
    return new Promise(resolve => waiting.push(resolve))
  }
  return { blocks, batches, nextBatch }
}
