import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { blockKey } from './blocks.ts'
import { ArrivingDag, links, traverse, traverseDag } from './dag.ts'

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

  it('reads ahead at most `ahead` blocks beyond the one it waits for, in the order it will visit them, the walk unchanged', async () => {
    const leaves = await Promise.all(Array.from({ length: 10 }, async (_, i) => { const bytes = new TextEncoder().encode(`leaf ${i}`); return { cid: await cidOf(raw.code, bytes), bytes } }))
    const top = dagPb.encode(dagPb.prepare({ Links: leaves.map(l => ({ Hash: l.cid })) }))
    const topCid = await cidOf(dagPb.code, top)
    const store = new Map([[topCid.toString(), top], ...leaves.map(l => [l.cid.toString(), l.bytes] as [string, Uint8Array])])
    let inFlight = 0
    let most = 0
    const asked: string[] = []
    const get = async (c: CID): Promise<Uint8Array | undefined> => {
      asked.push(c.toString())
      most = Math.max(most, ++inFlight)
      await new Promise(resolve => setImmediate(resolve))
      inFlight--
      return store.get(c.toString())
    }
    const walked: string[] = []
    for await (const { cid, bytes } of traverseDag(topCid, get, { ahead: 3 })) { expect(bytes).toBeDefined(); walked.push(cid.toString()) }
    const order = [topCid, ...leaves.map(l => l.cid)].map(String)
    expect(walked).toEqual(order)
    expect(asked).toEqual(order)
    expect(most).toBe(4)
  })

  it('a walk stopped early leaves its reads ahead unawaited without an unhandled failure', async () => {
    const leaves = await Promise.all(['x', 'y', 'z'].map(async t => cidOf(raw.code, new TextEncoder().encode(t))))
    const top = dagPb.encode(dagPb.prepare({ Links: leaves.map(Hash => ({ Hash })) }))
    const topCid = await cidOf(dagPb.code, top)
    const get = async (c: CID): Promise<Uint8Array | undefined> => {
      if (c.equals(topCid)) return top
      throw new Error('this read fails')
    }
    let got = 0
    for await (const _ of traverseDag(topCid, get, { ahead: 8 })) { got++; break }
    expect(got).toBe(1)
    // Reads past a failure surface it when the walk gets there.
    await expect((async () => { for await (const _ of traverseDag(topCid, get, { ahead: 8 })) { /* drain */ } })()).rejects.toThrow('this read fails')
  })

  it('ArrivingDag: takes the blocks a DAG links to as they come, each once, and knows when all came', async () => {
    const enc = (t: string): Uint8Array => new TextEncoder().encode(t)
    const leaf = { cid: await cidOf(raw.code, enc('leaf')), bytes: enc('leaf') }
    const inner = dagCbor.encode({ child: leaf.cid })
    const innerCbor = await cidOf(dagCbor.code, inner)
    const top = dagPb.encode(dagPb.prepare({ Links: [{ Hash: innerCbor }, { Hash: leaf.cid }] }))
    const topCid = await cidOf(dagPb.code, top)
    const stranger = { cid: await cidOf(raw.code, enc('not linked')), bytes: enc('not linked') }
    const dag = new ArrivingDag(topCid)
    expect(dag.take({ cid: leaf.cid, bytes: leaf.bytes })).toBe(false) // not linked yet: its parent has not come
    expect(dag.take({ cid: topCid, bytes: top })).toBe(true)
    expect(dag.take(stranger)).toBe(false)
    // Sent under another codec, same multihash: taken, its links read as the CID it was linked as (dag-cbor).
    expect(dag.take({ cid: CID.createV1(raw.code, innerCbor.multihash), bytes: inner })).toBe(true)
    expect(dag.complete).toBe(false)
    expect(dag.missing).toBe(1)
    expect(dag.take({ cid: leaf.cid, bytes: leaf.bytes })).toBe(true)
    expect(dag.complete).toBe(true)
    expect(dag.take({ cid: leaf.cid, bytes: leaf.bytes })).toBe(false) // once
  })
})
