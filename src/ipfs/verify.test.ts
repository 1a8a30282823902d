import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import { varint } from 'multiformats'
import { walkDag } from './dag.ts'
import { BLOCK_LIMITS, CAR_LIMITS, verifiedCarBlocks, verifyBlock } from './verify.ts'
import { rawBlock, writtenCar } from '../../test/fixtures/car.ts'

async function dag (): Promise<{ root: { cid: CID, bytes: Uint8Array }, leaves: Array<{ cid: CID, bytes: Uint8Array }> }> {
  const leaves = await Promise.all(['one', 'two', 'three'].map(rawBlock))
  const bytes = dagPb.encode(dagPb.prepare({ Links: leaves.map((l, i) => ({ Hash: l.cid, Name: `f${i}`, Tsize: l.bytes.length })) }))
  return { root: { cid: CID.createV1(dagPb.code, await sha256.digest(bytes)), bytes }, leaves }
}

async function carBytes (root: CID, blocks: Array<{ cid: CID, bytes: Uint8Array }>): Promise<Uint8Array> {
  return new Uint8Array(Buffer.concat(await writtenCar([root], blocks)))
}

async function collect (car: Uint8Array): Promise<string[]> {
  const out: string[] = []
  for await (const b of verifiedCarBlocks((async function * () { yield car })())) out.push(b.cid.toString())
  return out
}

describe('block verification', () => {
  it('accepts bytes that hash to their CID and refuses anything else', async () => {
    const b = await rawBlock('hello')
    await verifyBlock(b.cid, b.bytes)
    await expect(verifyBlock(b.cid, new TextEncoder().encode('hellp'))).rejects.toMatchObject({ reason: 'BLOCK_MISMATCH' })
    const id = CID.createV1(raw.code, identity.digest(b.bytes))
    await verifyBlock(id, b.bytes)
    const other = CID.createV1(raw.code, await sha512.digest(b.bytes))
    await expect(verifyBlock(other, b.bytes)).rejects.toMatchObject({ reason: 'UNSUPPORTED_HASH' })
  })

  it('reads a CAR block by block and stops at a block whose bytes do not match', async () => {
    const { root, leaves } = await dag()
    const good = await carBytes(root.cid, [root, ...leaves])
    expect(await collect(good)).toEqual([root, ...leaves].map(b => b.cid.toString()))
    const forged = await carBytes(root.cid, [root, { cid: leaves[0].cid, bytes: new TextEncoder().encode('evil') }, leaves[1]])
    await expect(collect(forged)).rejects.toMatchObject({ reason: 'BLOCK_MISMATCH' })
    await expect(collect(new TextEncoder().encode('not a car'))).rejects.toMatchObject({ reason: 'INVALID_CAR' })
  })

  it('walks a DAG and reports the blocks it lacks', async () => {
    const { root, leaves } = await dag()
    const store = new Map([root, leaves[0], leaves[2]].map(b => [b.cid.toString(), b.bytes]))
    const walked = await walkDag(root.cid, async cid => store.get(cid.toString()))
    expect(walked.blocks.map(b => b.cid).sort()).toEqual([root, leaves[0], leaves[2]].map(b => b.cid.toString()).sort())
    expect(walked.missing).toEqual([leaves[1].cid.toString()])
  })

  describe('CAR lengths are checked before anything is read', () => {
    const lp = (n: number): Uint8Array => { const b = new Uint8Array(varint.encodingLength(n)); varint.encodeTo(n, b, 0); return b }
    const chunk = 64 * 1024
    /** `prefix`, then filler bytes up to `total`, in 64 KiB chunks; counts what the reader pulled. */
    function source (prefix: Uint8Array, total: number): { car: AsyncIterable<Uint8Array>, pulled: () => number } {
      let pulled = 0
      const car = (async function * () {
        pulled += prefix.byteLength
        yield prefix
        const filler = new Uint8Array(chunk)
        while (pulled < total) { pulled += chunk; yield filler }
      })()
      return { car, pulled: () => pulled }
    }
    const drain = async (car: AsyncIterable<Uint8Array>): Promise<void> => { for await (const _ of verifiedCarBlocks(car)) { /* read on */ } }

    it('refuses a section claiming 128 MiB after reading its length, not its bytes', async () => {
      const { root } = await dag()
      const header = dagCbor.encode({ version: 1, roots: [root.cid] })
      const claim = 128 * 1024 * 1024
      const prefix = new Uint8Array([...lp(header.byteLength), ...header, ...lp(claim), ...root.cid.bytes])
      const s = source(prefix, claim + prefix.byteLength)
      await expect(drain(s.car)).rejects.toMatchObject({ reason: 'BLOCK_TOO_LARGE' })
      console.log(`CAR section claiming 128 MiB: ${s.pulled()} bytes read before the refusal`)
      expect(s.pulled()).toBeLessThanOrEqual(prefix.byteLength + chunk)
    })

    it('refuses a header claiming more than its limit before reading it', async () => {
      const claim = 128 * 1024 * 1024
      const prefix = lp(claim)
      const s = source(prefix, claim)
      await expect(drain(s.car)).rejects.toMatchObject({ reason: 'CAR_HEADER_TOO_LARGE' })
      expect(s.pulled()).toBeLessThanOrEqual(prefix.byteLength + chunk)
      expect(CAR_LIMITS.maxHeaderBytes).toBeLessThan(claim)
    })

    it('accepts a block of exactly the limit and refuses one byte more', async () => {
      const big = new Uint8Array(BLOCK_LIMITS.maxBlockBytes).fill(7)
      const ok = { cid: CID.createV1(raw.code, await sha256.digest(big)), bytes: big }
      expect(await collect(await carBytes(ok.cid, [ok]))).toEqual([ok.cid.toString()])
      const over = new Uint8Array(BLOCK_LIMITS.maxBlockBytes + 1).fill(7)
      const tooBig = { cid: CID.createV1(raw.code, await sha256.digest(over)), bytes: over }
      await expect(collect(await carBytes(tooBig.cid, [tooBig]))).rejects.toMatchObject({ reason: 'BLOCK_TOO_LARGE' })
    })

    it('refuses truncated and malformed CARs with INVALID_CAR', async () => {
      const { root, leaves } = await dag()
      const good = await carBytes(root.cid, [root, ...leaves])
      await expect(collect(good.subarray(0, good.byteLength - 3))).rejects.toMatchObject({ reason: 'INVALID_CAR' })
      await expect(collect(good.subarray(0, 5))).rejects.toMatchObject({ reason: 'INVALID_CAR' })
      const badHeader = dagCbor.encode({ version: 2, roots: [root.cid] })
      await expect(collect(new Uint8Array([...lp(badHeader.byteLength), ...badHeader]))).rejects.toMatchObject({ reason: 'INVALID_CAR' })
      await expect(collect(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).rejects.toMatchObject({ reason: 'INVALID_CAR' })
    })
  })
})
