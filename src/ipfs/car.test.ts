import { CarReader } from '@ipld/car'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { concat } from 'uint8arrays/concat'
import { describe, expect, it } from 'vitest'
import { exportBlockCar, exportCar } from './car.ts'
import { writtenCar } from '../../test/fixtures/car.ts'

async function collect (chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of chunks) out.push(c)
  return out
}

describe('CAR export', () => {
  it('writes the bytes @ipld/car\'s CarWriter writes, one chunk per section, depth first', async () => {
    const leaves = await Promise.all(['a', 'bb', ''].map(async t => { const bytes = new TextEncoder().encode(t); return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes } }))
    const rootBytes = dagPb.encode(dagPb.prepare({ Links: leaves.map(l => ({ Hash: l.cid })) }))
    const root = { cid: CID.createV1(dagPb.code, await sha256.digest(rootBytes)), bytes: rootBytes }
    const store = new Map([root, ...leaves].map(b => [b.cid.toString(), b.bytes]))
    const chunks = await collect(exportCar(root.cid, async c => store.get(c.toString())))
    expect(chunks).toHaveLength(1 + 4)

    expect(concat(chunks)).toEqual(concat(await writtenCar([root.cid], [root, ...leaves])))

    const reader = await CarReader.fromBytes(concat(chunks))
    expect((await reader.getRoots()).map(String)).toEqual([root.cid.toString()])
    const read: string[] = []
    for await (const b of reader.blocks()) read.push(b.cid.toString())
    expect(read).toEqual([root, ...leaves].map(b => b.cid.toString()))
  })

  it('refuses a DAG with a block missing, and frames a single block', async () => {
    const bytes = new TextEncoder().encode('only')
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    const pb = dagPb.encode(dagPb.prepare({ Links: [{ Hash: cid }] }))
    const top = CID.createV1(dagPb.code, await sha256.digest(pb))
    await expect(collect(exportCar(top, async c => c.equals(top) ? pb : undefined))).rejects.toMatchObject({ reason: 'BLOCK_MISSING', status: 404 })
    const reader = await CarReader.fromBytes(concat(await collect(exportBlockCar(cid, bytes))))
    expect(new TextDecoder().decode((await reader.get(cid))?.bytes)).toBe('only')
  })
})
