import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { exportBlocksCar } from '../ipfs/car.ts'
import { streamFromIterator } from '../shared/streams.ts'
import { PROOF_LIMITS, pickBlocks, randomBelow, readProof } from './proofs.ts'
import type { BlockRef } from '../ipfs/verify.ts'

afterEach(() => { vi.restoreAllMocks() })

const refs = (n: number, bytes = 1000): BlockRef[] => Array.from({ length: n }, (_, i) => ({ cid: `b${i}`, bytes }))

async function rawBlock (text: string): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

describe('proofs: which blocks are asked', () => {
  it('draws from WebCrypto, never Math.random, and never the same sequence twice from the same inputs', () => {
    const spy = vi.spyOn(crypto, 'getRandomValues')
    vi.spyOn(Math, 'random').mockImplementation(() => { throw new Error('Math.random is predictable') })
    const blocks = refs(10_000)
    const a = pickBlocks(blocks).map(b => b.cid)
    const b = pickBlocks(blocks).map(b => b.cid)
    expect(spy).toHaveBeenCalled()
    expect(a).toHaveLength(PROOF_LIMITS.blocks)
    // 8 of 10,000 drawn twice alike by chance: about 1 in 10^32.
    expect(a).not.toEqual(b)
  })

  it('is uniform: over many draws each block comes about as often (chi-square), whatever the time or the list order', () => {
    vi.useFakeTimers({ now: 0 }) // the clock stands still: a choice derived from it would repeat
    try {
      const blocks = refs(20)
      const seen = new Map<string, number>()
      const rounds = 5000
      for (let i = 0; i < rounds; i++) for (const b of pickBlocks(blocks, { count: 2 })) seen.set(b.cid, (seen.get(b.cid) ?? 0) + 1)
      const expected = (rounds * 2) / blocks.length
      const chi = [...blocks].reduce((n, b) => n + ((seen.get(b.cid) ?? 0) - expected) ** 2 / expected, 0)
      // 19 degrees of freedom: 43.8 is the 0.999 quantile.
      expect(chi).toBeLessThan(43.8)
    } finally {
      vi.useRealTimers()
    }
  })

  it('is stratified: a cafe that dropped a run of a quarter of the blocks (a file\'s tail) is caught by every proof', () => {
    const blocks = refs(1000)
    const dropped = new Set(blocks.slice(700, 950).map(b => b.cid))
    // Drawn uniformly, 8 blocks miss such a quarter in 1 proof of 10: 500 proofs would miss ~50.
    for (let i = 0; i < 500; i++) expect(pickBlocks(blocks).some(b => dropped.has(b.cid))).toBe(true)
  })

  it('has no modulo bias: values past the last whole multiple of n are drawn again', () => {
    // n = 3: 2^32 % 3 = 1, so 2^32 - 1 must be refused; a biased `% n` would answer 0 for it.
    const values = [2 ** 32 - 1, 2 ** 32 - 1, 7]
    const random = (buf: Uint32Array): void => { buf[0] = values.shift()! }
    expect(randomBelow(3, random)).toBe(1)
    expect(values).toEqual([])
  })

  it('is bounded: at most `count` distinct blocks, at most `maxBytes` in all', () => {
    const blocks = [...refs(50, 1024 * 1024), ...refs(50, 100).map(b => ({ ...b, cid: `s${b.cid}` }))]
    for (let i = 0; i < 200; i++) {
      const picked = pickBlocks(blocks)
      expect(picked.length).toBeLessThanOrEqual(PROOF_LIMITS.blocks)
      expect(new Set(picked.map(b => b.cid)).size).toBe(picked.length)
      expect(picked.reduce((n, b) => n + b.bytes, 0)).toBeLessThanOrEqual(PROOF_LIMITS.maxBytes)
    }
    expect(pickBlocks(refs(3))).toHaveLength(3)
    expect(pickBlocks([])).toEqual([])
  })
})

describe('proofs: what the cafe answers', () => {
  it('names the blocks left out, catches forged bytes, and stops reading past the bound', async () => {
    const a = await rawBlock('kept block a')
    const b = await rawBlock('kept block b')
    const asked = [a, b].map(x => ({ cid: x.cid.toString(), bytes: x.bytes.length }))
    const body = (blocks: Array<{ cid: CID, bytes: Uint8Array }>): ReadableStream<Uint8Array> => streamFromIterator(exportBlocksCar([], blocks))

    expect(await readProof(body([a, b]), asked, AbortSignal.timeout(5000))).toMatchObject({ proven: [a.cid.toString(), b.cid.toString()], missing: [], forged: [] })
    expect(await readProof(body([a]), asked, AbortSignal.timeout(5000))).toMatchObject({ proven: [a.cid.toString()], missing: [b.cid.toString()], forged: [] })
    // b's CID with other bytes: the cafe dropped b and made something up.
    const forged = await readProof(body([a, { cid: b.cid, bytes: new TextEncoder().encode('made up') }]), asked, AbortSignal.timeout(5000))
    expect(forged.forged).toEqual([b.cid.toString()])
    expect(forged.missing).toEqual([b.cid.toString()])
    // A block nobody asked for is forged too.
    const other = await rawBlock('not asked')
    expect((await readProof(body([other]), asked, AbortSignal.timeout(5000))).forged).toEqual([other.cid.toString()])

    // An endless answer (a header, then a section claiming 2 MiB that never ends) is cut at the
    // blocks' bytes plus the slack.
    const header: Uint8Array[] = []
    for await (const c of exportBlocksCar([], [])) header.push(c)
    let produced = 0
    const claim = new Uint8Array([0x80, 0x80, 0x80, 0x01]) // varint 2^21
    const chunks = [header[0], claim]
    const endless = new ReadableStream<Uint8Array>({ pull (c) { const next = chunks.shift() ?? new Uint8Array(64 * 1024); produced += next.byteLength; c.enqueue(next) } })
    await expect(readProof(endless, asked, AbortSignal.timeout(5000))).rejects.toMatchObject({ reason: 'BODY_TOO_LARGE' })
    expect(produced).toBeLessThan(PROOF_LIMITS.carSlackBytes + 4 * 64 * 1024)
  })
})
