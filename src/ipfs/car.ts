import * as dagCbor from '@ipld/dag-cbor'
import { varint } from 'multiformats'
import { traverseDag } from './dag.ts'
import { BlockRejectedError } from './verify.ts'
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
  for await (const { cid, bytes } of traverseDag(root, get)) {
    if (bytes == null) throw new BlockRejectedError('BLOCK_MISSING', `block ${cid.toString()} of ${root.toString()} is not here`, 404)
    yield frame([cid.bytes, bytes])
  }
}

/** The same, for a single block (`dag-scope=block`). */
export async function * exportBlockCar (cid: CID, bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield frame([dagCbor.encode({ version: 1, roots: [cid] })])
  yield frame([cid.bytes, bytes])
}
