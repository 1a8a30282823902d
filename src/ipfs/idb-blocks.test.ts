import 'fake-indexeddb/auto'
import * as dagPb from '@ipld/dag-pb'
import { IDBBlockstore } from 'blockstore-idb'
import { openDB } from 'idb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { blocksOf } from './blocks.ts'
import { BlockBatchError, idbBlockKey, openIdbBlocks } from './idb-blocks.ts'

let dbs = 0

async function rawBlock (text: string): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

async function bytesOf (store: IDBBlockstore, cid: CID): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of store.get(cid)) parts.push(p)
  expect(parts).toHaveLength(1)
  return parts[0]
}

// IndexedDB in Node is fake-indexeddb: the same API and transaction rules as the browser's.
describe('IndexedDB blocks with batched writes', () => {
  it('writes records that blockstore-idb itself reads back byte for byte, under its keys', async () => {
    const location = `idb-blocks-${dbs++}`
    const opened = await openIdbBlocks(location)
    const a = await rawBlock('a raw leaf')
    const pbBytes = dagPb.encode(dagPb.prepare({ Links: [{ Hash: a.cid, Name: 'a', Tsize: a.bytes.length }] }))
    const node = { cid: CID.createV1(dagPb.code, await sha256.digest(pbBytes)), bytes: pbBytes }
    await opened.blocks.putMany!([a, node])
    opened.close()

    // A fresh blockstore-idb over the same database, as the page opens it after a reload.
    const store = new IDBBlockstore(location)
    await store.open()
    expect(await bytesOf(store, a.cid)).toEqual(a.bytes)
    expect(await bytesOf(store, node.cid)).toEqual(node.bytes)
    const listed: string[] = []
    for await (const pair of store.getAll()) listed.push(pair.cid.toString())
    // blockstore-idb lists blocks by multihash, as raw CIDs.
    expect(listed.sort()).toEqual([a.cid.toString(), CID.createV1(raw.code, node.cid.multihash).toString()].sort())
    store.close()

    const db = await openDB(location)
    expect([...db.objectStoreNames]).toEqual([location])
    expect((await db.getAllKeys(location)).sort()).toEqual([idbBlockKey(a.cid), idbBlockKey(node.cid)].sort())
    db.close()
  })

  it('reads what blockstore-idb wrote; a block not there is undefined', async () => {
    const location = `idb-blocks-${dbs++}`
    const store = new IDBBlockstore(location)
    await store.open()
    const a = await rawBlock('written by blockstore-idb')
    await store.put(a.cid, a.bytes)
    store.close()
    const opened = await openIdbBlocks(location)
    expect(await opened.blocks.get(a.cid)).toEqual(a.bytes)
    expect(await opened.blocks.get((await rawBlock('never written')).cid)).toBeUndefined()
    expect(await opened.blocks.has(a.cid)).toBe(true)
    opened.close()
  })

  it('skips a block already stored (has + put in one transaction)', async () => {
    const location = `idb-blocks-${dbs++}`
    const opened = await openIdbBlocks(location)
    const a = await rawBlock('stored once')
    // A stand-in value under a's key shows whether the batch wrote over it.
    const marker = new Uint8Array([1, 2, 3])
    await opened.blocks.put(a.cid, marker)
    const b = await rawBlock('new')
    await opened.blocks.putMany!([a, b])
    expect(await opened.blocks.get(a.cid)).toEqual(marker)
    expect(await opened.blocks.get(b.cid)).toEqual(b.bytes)
    opened.close()
  })

  it('a batch with a write that fails stores none of it, and says why', async () => {
    const location = `idb-blocks-${dbs++}`
    const opened = await openIdbBlocks(location)
    const a = await rawBlock('would be stored')
    const bad = { cid: (await rawBlock('cannot be cloned')).cid, bytes: (() => 0) as unknown as Uint8Array }
    const err = await opened.blocks.putMany!([a, bad]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BlockBatchError)
    expect(err).toMatchObject({ reason: 'STORAGE_ERROR', status: 500 })
    expect(await opened.blocks.has(a.cid)).toBe(false)
    // The connection is still good for the next batch.
    await opened.blocks.putMany!([a])
    expect(await blocksOf(opened.store).get(a.cid)).toEqual(a.bytes)
    opened.close()
  })
})
