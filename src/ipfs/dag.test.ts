import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { blockKey } from './blocks.ts'
import { links, traverse, traverseDag } from './dag.ts'

const cidOf = async (code: number, bytes: Uint8Array): Promise<CID> => CID.createV1(code, await sha256.digest(bytes))

describe('DAG walk', () => {
  it('reads links from dag-pb, dag-cbor (nested, in key order) and raw, and refuses other codecs', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async t => cidOf(raw.code, new TextEncoder().encode(t))))
    const pb = dagPb.encode(dagPb.prepare({ Links: [{ Hash: b, Name: 'x' }, { Hash: a, Name: 'y' }] }))
    expect(links(await cidOf(dagPb.code, pb), pb).map(String)).toEqual([b, a].map(String))
    const cbor = dagCbor.encode({ z: [c, { deep: a }], a: b, bytes: new Uint8Array([1, 2]), n: 3 })
    expect(links(await cidOf(dagCbor.code, cbor), cbor).map(String)).toEqual([b, c, a].map(String))
    expect(links(a, new TextEncoder().encode('a'))).toEqual([])
    const json = CID.createV1(0x0129, a.multihash)
    expect(() => links(json, new Uint8Array())).toThrow(expect.objectContaining({ reason: 'UNSUPPORTED_CODEC' }))
  })

  it('walks depth first, first link first, each block once, reporting what is missing', async () => {
    const leaves = await Promise.all(['1', '2', '3'].map(async t => { const bytes = new TextEncoder().encode(t); return { cid: await cidOf(raw.code, bytes), bytes } }))
    const mid = dagPb.encode(dagPb.prepare({ Links: [{ Hash: leaves[1].cid }, { Hash: leaves[0].cid }] }))
    const midCid = await cidOf(dagPb.code, mid)
    const top = dagPb.encode(dagPb.prepare({ Links: [{ Hash: midCid }, { Hash: leaves[2].cid }, { Hash: leaves[0].cid }] }))
    const topCid = await cidOf(dagPb.code, top)
    const store = new Map([[topCid.toString(), top], [midCid.toString(), mid], [leaves[0].cid.toString(), leaves[0].bytes], [leaves[1].cid.toString(), leaves[1].bytes]])
    const walked: Array<[string, boolean]> = []
    for await (const { cid, bytes } of traverseDag(topCid, async c => store.get(c.toString()))) walked.push([cid.toString(), bytes != null])
    expect(walked).toEqual([[topCid, true], [midCid, true], [leaves[1].cid, true], [leaves[0].cid, true], [leaves[2].cid, false]].map(([c, has]) => [String(c), has]))
  })

  it('visits once per key: the same bytes under two codecs are two blocks by CID, one by multihash', async () => {
    const bytes = dagCbor.encode({ leaf: true })
    const asCbor = await cidOf(dagCbor.code, bytes)
    const asRaw = CID.createV1(raw.code, asCbor.multihash)
    const top = dagCbor.encode([asCbor, asRaw])
    const topCid = await cidOf(dagCbor.code, top)
    const store = new Map<string, Uint8Array>([[blockKey(topCid), top], [blockKey(asCbor), bytes]])
    const walk = { load: async (c: CID) => store.get(blockKey(c)), links: (b: Uint8Array, c: CID) => links(c, b) }
    const keysBy = async (key?: (c: CID) => string): Promise<string[]> => {
      const out: string[] = []
      for await (const v of traverse(topCid, { ...walk, ...(key != null ? { key } : {}) })) out.push(v.key)
      return out
    }
    expect(await keysBy()).toEqual([topCid, asCbor, asRaw].map(String))
    expect(await keysBy(blockKey)).toEqual([blockKey(topCid), blockKey(asCbor)])
  })
})
