import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CarBlockIterator } from '@ipld/car'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { LightcafeError } from '../shared/errors.ts'
export interface BlockRef { cid: string, bytes: number }

export const BLOCK_LIMITS = {
  /** Larger than any block IPFS tools make (1 MiB chunks, 2 MiB bitswap limit); bounds memory per block. */
  maxBlockBytes: 2 * 1024 * 1024,
  /** Links followed per DAG walk before giving up: a bound on work a stranger's DAG can cause. */
  maxDagBlocks: 1_000_000
} as const

const SHA2_256 = 0x12
const IDENTITY = 0x00

/** A block whose bytes do not hash to its CID, or that cannot be checked. Nothing of it is kept. */
export class BlockRejectedError extends LightcafeError {
  static override name = 'BlockRejectedError'
  override name = 'BlockRejectedError'
}

/** Checks bytes against their CID's multihash; throws BlockRejectedError otherwise. */
export async function verifyBlock (cid: CID, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength > BLOCK_LIMITS.maxBlockBytes) throw new BlockRejectedError('BLOCK_TOO_LARGE', `block ${cid.toString()} is larger than ${BLOCK_LIMITS.maxBlockBytes} bytes`)
  const { code, digest } = cid.multihash
  let actual: Uint8Array
  if (code === SHA2_256) actual = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  else if (code === IDENTITY) actual = bytes
  else throw new BlockRejectedError('UNSUPPORTED_HASH', `block ${cid.toString()} uses hash 0x${code.toString(16)}; this cafe verifies sha2-256 and identity`)
  if (actual.length !== digest.length || !actual.every((v, i) => v === digest[i])) {
    throw new BlockRejectedError('BLOCK_MISMATCH', `the bytes sent for ${cid.toString()} do not match its hash`)
  }
}

/** Opens a CAR stream: its roots (from the header) and its blocks, each verified against its CID as it is read. */
export async function openCar (car: AsyncIterable<Uint8Array>): Promise<{ roots: CID[], blocks: AsyncGenerator<{ cid: CID, bytes: Uint8Array }> }> {
  let it: CarBlockIterator
  try { it = await CarBlockIterator.fromIterable(car) } catch { throw new BlockRejectedError('INVALID_CAR', 'the body is not a CAR file') }
  const roots = await it.getRoots()
  async function * blocks (): AsyncGenerator<{ cid: CID, bytes: Uint8Array }> {
    for await (const block of it) {
      await verifyBlock(block.cid, block.bytes)
      yield block
    }
  }
  return { roots, blocks: blocks() }
}

/** Reads a CAR stream, yielding only blocks that match their CIDs. */
export async function * verifiedCarBlocks (car: AsyncIterable<Uint8Array>): AsyncGenerator<{ cid: CID, bytes: Uint8Array }> {
  yield * (await openCar(car)).blocks
}

/** The CIDs a block links to, for the codecs a cafe walks (dag-pb, raw, dag-cbor). */
export function links (cid: CID, bytes: Uint8Array): CID[] {
  switch (cid.code) {
    case raw.code: return []
    case dagPb.code: return dagPb.decode(bytes).Links.map(l => l.Hash)
    case dagCbor.code: {
      const out: CID[] = []
      const walk = (v: unknown): void => {
        const asCid = CID.asCID(v)
        if (asCid != null) { out.push(asCid); return }
        if (Array.isArray(v)) v.forEach(walk)
        else if (v != null && typeof v === 'object' && !(v instanceof Uint8Array)) Object.values(v).forEach(walk)
      }
      walk(dagCbor.decode(bytes))
      return out
    }
    default: throw new BlockRejectedError('UNSUPPORTED_CODEC', `codec 0x${cid.code.toString(16)} of ${cid.toString()} cannot be walked`)
  }
}

/**
 * The DAG under `root`, depth first, first link first, each block once: `bytes` is undefined
 * for a block `get` lacks (its links are then unknown). Bounded by BLOCK_LIMITS.maxDagBlocks.
 */
export async function * traverseDag (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>): AsyncGenerator<{ cid: CID, bytes: Uint8Array | undefined }> {
  const seen = new Set<string>()
  const stack: CID[] = [root]
  while (stack.length > 0) {
    const cid = stack.pop()!
    const key = cid.toString()
    if (seen.has(key)) continue
    seen.add(key)
    if (seen.size > BLOCK_LIMITS.maxDagBlocks) throw new BlockRejectedError('DAG_TOO_LARGE', `the DAG under ${root.toString()} has more than ${BLOCK_LIMITS.maxDagBlocks} blocks`)
    const bytes = await get(cid)
    yield { cid, bytes }
    if (bytes != null) stack.push(...links(cid, bytes).reverse())
  }
}

/** Every block of the DAG under `root` that `get` has, and the CIDs it lacks. */
export async function walkDag (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>): Promise<{ blocks: BlockRef[], missing: string[] }> {
  const blocks: BlockRef[] = []
  const missing: string[] = []
  for await (const { cid, bytes } of traverseDag(root, get)) {
    if (bytes == null) missing.push(cid.toString())
    else blocks.push({ cid: cid.toString(), bytes: bytes.byteLength })
  }
  return { blocks, missing }
}
