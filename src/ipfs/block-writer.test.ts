import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { BlockWriter, WriterSettledError } from './block-writer.ts'
import { blocksOf } from './blocks.ts'
import { heldBatchBlocks } from '../../test/fixtures/batch-blocks.ts'

async function block (n: number, size = 1000): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new Uint8Array(size).fill(n % 256)
  bytes[0] = n >> 8
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

describe('BlockWriter (write-behind)', () => {
  it('writes what arrives during a batch as the next batch, and is durable only at flush', async () => {
    const { blocks, nextBatch } = heldBatchBlocks()
    const writer = new BlockWriter(blocks)
    const all = await Promise.all([1, 2, 3, 4].map(async n => block(n)))
    for (const b of all) await writer.add(b) // none waits: 4 KB is far below the bound
    let flushed = false
    const flushing = writer.flush().then(() => { flushed = true })
    const first = await nextBatch()
    expect(first.keys).toEqual([all[0].cid.toString()])
    first.commit()
    const second = await nextBatch()
    expect(second.keys).toEqual(all.slice(1).map(b => b.cid.toString()))
    expect(flushed).toBe(false)
    second.commit()
    await flushing
    for (const b of all) expect(await blocks.has(b.cid)).toBe(true)
    expect(await writer.settle()).toEqual([])
  })

  it('holds at most maxBytes queued and being written: add waits for the batch in flight', async () => {
    const { blocks, nextBatch } = heldBatchBlocks()
    const writer = new BlockWriter(blocks, { maxBytes: 2500 })
    const all = await Promise.all([1, 2, 3, 4].map(async n => block(n)))
    await writer.add(all[0]) // written at once (1000 B)
    await writer.add(all[1]) // queued: 2000 B held
    let third = false
    const adding = writer.add(all[2]).then(() => { third = true }) // 3000 B > 2500: waits
    const first = await nextBatch()
    expect(third).toBe(false)
    first.commit()
    await adding // the first batch is done: 2000 B held again
    expect(third).toBe(true)
    ;(await nextBatch()).commit()
    await writer.add(all[3])
    const flushing = writer.flush()
    ;(await nextBatch()).commit()
    await flushing
    for (const b of all) expect(await blocks.has(b.cid)).toBe(true)
  })

  it('a failed batch fails the next add or flush; settle names every block not stored, once no write can land', async () => {
    const { blocks, nextBatch } = heldBatchBlocks()
    const writer = new BlockWriter(blocks)
    const all = await Promise.all([1, 2, 3].map(async n => block(n)))
    for (const b of all) await writer.add(b)
    const first = await nextBatch()
    first.fail(new Error('the transaction aborted'))
    await expect(writer.flush()).rejects.toThrow('the transaction aborted')
    await expect(writer.add(await block(9))).rejects.toThrow('the transaction aborted')
    const unwritten = (await writer.settle()).map(b => b.cid.toString())
    expect(unwritten.sort()).toEqual([...all.map(b => b.cid.toString()), (await block(9)).cid.toString()].sort())
    await expect(writer.add(all[0])).rejects.toBeInstanceOf(WriterSettledError)
  })

  it('settle waits for the batch being written, and drops what was only queued', async () => {
    const { blocks, nextBatch } = heldBatchBlocks()
    const writer = new BlockWriter(blocks)
    const all = await Promise.all([1, 2, 3].map(async n => block(n)))
    for (const b of all) await writer.add(b)
    let settled = false
    const settling = writer.settle().then(u => { settled = true; return u })
    const first = await nextBatch()
    expect(settled).toBe(false)
    first.commit()
    expect((await settling).map(b => b.cid.toString())).toEqual(all.slice(1).map(b => b.cid.toString()))
    expect(await blocks.has(all[0].cid)).toBe(true)
    expect(await blocks.has(all[1].cid)).toBe(false)
  })

  it('over a store without putMany, writes each block not yet stored', async () => {
    const store = new MemoryBlockstore()
    const blocks = blocksOf(store)
    const b = await block(1)
    await blocks.put(b.cid, b.bytes)
    let puts = 0
    const writer = new BlockWriter({ ...blocks, put: async (cid, bytes) => { puts++; await blocks.put(cid, bytes) } })
    await writer.add(b)
    await writer.add(await block(2))
    await writer.flush()
    expect(puts).toBe(1)
    expect(await blocks.has((await block(2)).cid)).toBe(true)
  })
})
