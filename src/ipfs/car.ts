import * as CarBufferWriter from '@ipld/car/buffer-writer'
import { READ_AHEAD, traverseDag } from './dag.ts'
import { BlockRejectedError } from './verify.ts'
import type { CID } from 'multiformats/cid'

export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car'

// The framing is @ipld/car's; each header and section is written into a buffer of its exact
// size, so the export stays a pull-based generator: one chunk per block, at the reader's pace.

/** A CARv1 header naming `roots`. */
function carHeader (roots: CID[]): Uint8Array {
  return CarBufferWriter.close(CarBufferWriter.createWriter(new ArrayBuffer(CarBufferWriter.headerLength({ roots })), { roots }))
}

/** One CAR section: varint | CID | block. */
function carSection (block: { cid: CID, bytes: Uint8Array }): Uint8Array {
  const writer = CarBufferWriter.createWriter(new ArrayBuffer(CarBufferWriter.blockLength(block)), { headerSize: 0 })
  CarBufferWriter.addBlock(writer, block)
  return writer.bytes
}

/**
 * A CARv1 of the DAG under `root`, depth first, each block once: what the trustless gateway
 * serves for `dag-scope=all`. A generator, so a large DAG streams with a few blocks in memory
 * (those read ahead, READ_AHEAD) and the reader's pace (backpressure) sets the walk's.
 */
export async function * exportCar (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>, options: { skipMissing?: boolean } = {}): AsyncGenerator<Uint8Array> {
  yield carHeader([root])
  for await (const { cid, bytes } of traverseDag(root, get, { ahead: READ_AHEAD })) {
    if (bytes == null) {
      // A cafe that lost blocks sends what it has: the reader knows what is missing from the
      // DAG itself, rather than from a stream cut in the middle (which names nothing).
      if (options.skipMissing === true) continue
      throw new BlockRejectedError('BLOCK_MISSING', `block ${cid.toString()} of ${root.toString()} is not here`)
    }
    yield carSection({ cid, bytes })
  }
}

/** A CAR naming `roots` of the given blocks, in their order (a resumed upload's missing blocks; a proof's, with no root). */
export async function * exportBlocksCar (roots: CID[], blocks: AsyncIterable<{ cid: CID, bytes: Uint8Array }> | Iterable<{ cid: CID, bytes: Uint8Array }>): AsyncGenerator<Uint8Array> {
  yield carHeader(roots)
  for await (const block of blocks) yield carSection(block)
}

/** The same, for a single block (`dag-scope=block`). */
export async function * exportBlockCar (cid: CID, bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield * exportBlocksCar([cid], [{ cid, bytes }])
}
