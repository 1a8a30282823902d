import * as dagCbor from '@ipld/dag-cbor'
import { varint } from 'multiformats'
import { BLOCK_LIMITS, BlockRejectedError, links } from './verify.ts'
import type { CID } from 'multiformats/cid'

export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car'

function frame (parts: Uint8Array[]): Uint8Array {
  const size = parts.reduce((n, p) => n + p.byteLength, 0)
  const out = new Uint8Array(varint.encodingLength(size) + size)
  varint.encodeTo(size, out, 0)
  let at = varint.encodingLength(size)
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

/**
 * A CARv1 of the DAG under `root`, depth first, each block once: what the trustless gateway
 * serves for `dag-scope=all`. A generator, so a large DAG streams with one block in memory
 * and the reader's pace (backpressure) sets the walk's.
 */
export async function * exportCar (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>): AsyncGenerator<Uint8Array> {
  yield frame([dagCbor.encode({ version: 1, roots: [root] })])
  const seen = new Set<string>()
  const stack: CID[] = [root]
  while (stack.length > 0) {
    const cid = stack.pop()!
    const key = cid.toString()
    if (seen.has(key)) continue
    seen.add(key)
    if (seen.size > BLOCK_LIMITS.maxDagBlocks) throw new BlockRejectedError('DAG_TOO_LARGE', `the DAG under ${root.toString()} has more than ${BLOCK_LIMITS.maxDagBlocks} blocks`)
    const bytes = await get(cid)
    if (bytes == null) throw new BlockRejectedError('BLOCK_MISSING', `block ${key} of ${root.toString()} is not here`, 404)
    yield frame([cid.bytes, bytes])
    // Reverse, so the first link is walked first (the order readers expect of a file).
    stack.push(...links(cid, bytes).reverse())
  }
}

/** The same, for a single block (`dag-scope=block`). */
export async function * exportBlockCar (cid: CID, bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield frame([dagCbor.encode({ version: 1, roots: [cid] })])
  yield frame([cid.bytes, bytes])
}
