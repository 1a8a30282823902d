import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { concat } from 'uint8arrays/concat'
import type { Blockstore } from 'interface-blockstore'

/**
 * The few block operations Lightcafe needs, over any interface-blockstore (IndexedDB in the
 * browser, memory in unit tests). Blockstores key by multihash: the same bytes under two
 * codecs are one entry, so bookkeeping keys blocks by `blockKey`, not by the CID's text.
 */
export interface Blocks {
  get(cid: CID): Promise<Uint8Array | undefined>
  put(cid: CID, bytes: Uint8Array): Promise<void>
  has(cid: CID): Promise<boolean>
  delete(cid: CID): Promise<void>
  /** Every stored block, as the raw CID of its multihash. */
  keys(): AsyncIterable<CID>
  /**
   * Stores those of `blocks` not stored yet, together where the store can (IndexedDB: one
   * transaction); resolves once they are durable. Optional: `storeMany` falls back to one
   * has/put per block.
   */
  putMany?(blocks: ReadonlyArray<{ cid: CID, bytes: Uint8Array }>): Promise<void>
}

/** Stores those of `list` not stored yet, in one batch where `blocks` has one; resolves once they are durable. */
export async function storeMany (blocks: Blocks, list: ReadonlyArray<{ cid: CID, bytes: Uint8Array }>): Promise<void> {
  if (list.length === 0) return
  if (blocks.putMany != null) { await blocks.putMany(list); return }
  for (const { cid, bytes } of list) if (!(await blocks.has(cid))) await blocks.put(cid, bytes)
}

/** The storage identity of a block: its multihash, written as a CIDv1 raw (reversible, printable). */
export function blockKey (cid: CID): string {
  return cid.code === raw.code && cid.version === 1 ? cid.toString() : CID.createV1(raw.code, cid.multihash).toString()
}

export function cidOfKey (key: string): CID { return CID.parse(key) }

async function collect (chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) parts.push(c)
  return parts.length === 1 ? parts[0] : concat(parts)
}

export function blocksOf (store: Blockstore): Blocks {
  return {
    async get (cid) {
      if (!(await store.has(cid))) return undefined
      try { return await collect(store.get(cid)) } catch (err) {
        if ((err as Error).name === 'NotFoundError') return undefined
        throw err
      }
    },
    async put (cid, bytes) { await store.put(cid, bytes) },
    async has (cid) { return store.has(cid) },
    async delete (cid) { await store.delete(cid) },
    async * keys () {
      for await (const pair of store.getAll()) yield CID.createV1(raw.code, pair.cid.multihash)
    }
  }
}
