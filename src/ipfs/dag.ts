import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { createUnsafe } from 'multiformats/block'
import * as raw from 'multiformats/codecs/raw'
import { BLOCK_LIMITS, BlockRejectedError } from './verify.ts'
import type { BlockRef } from './verify.ts'
import type { BlockCodec } from 'multiformats/codecs/interface'
import type { CID } from 'multiformats/cid'

/** The codecs a cafe walks; any other is refused, not guessed at. */
const CODECS = new Map<number, BlockCodec<number, unknown>>([[raw.code, raw], [dagPb.code, dagPb], [dagCbor.code, dagCbor]])

/** The CIDs a block links to, in the order its codec lays them out (multiformats' Block.links()). */
export function links (cid: CID, bytes: Uint8Array): CID[] {
  const codec = CODECS.get(cid.code)
  if (codec == null) throw new BlockRejectedError('UNSUPPORTED_CODEC', `codec 0x${cid.code.toString(16)} of ${cid.toString()} cannot be walked`)
  return [...createUnsafe({ bytes, cid, codec }).links()].map(([, link]) => link)
}

/** How one walk reads a DAG. */
export interface DagWalk<T> {
  /** The node of a block (`key` is its identity, below), or undefined when it is not here (its links are then unknown). */
  load: (cid: CID, key: string) => Promise<T | undefined>
  /** The node's links, asked only once the node was yielded. */
  links: (node: T, cid: CID) => CID[]
  /**
   * A block's identity, each visited once: the CID's text (the default; a CAR needs every CID
   * it names), or `blockKey` (the multihash) where storage is keyed by it, so the same bytes
   * under two codecs count once.
   */
  key?: (cid: CID) => string
}

/**
 * The one DAG walk: depth first, first link first, each key once, the node undefined for a
 * block `load` lacks. Bounded by BLOCK_LIMITS.maxDagBlocks.
 */
export async function * traverse<T> (root: CID, walk: DagWalk<T>): AsyncGenerator<{ cid: CID, key: string, node: T | undefined }> {
  const keyOf = walk.key ?? (cid => cid.toString())
  const seen = new Set<string>()
  const stack: CID[] = [root]
  while (stack.length > 0) {
    const cid = stack.pop()!
    const key = keyOf(cid)
    if (seen.has(key)) continue
    seen.add(key)
    if (seen.size > BLOCK_LIMITS.maxDagBlocks) throw new BlockRejectedError('DAG_TOO_LARGE', `the DAG under ${root.toString()} has more than ${BLOCK_LIMITS.maxDagBlocks} blocks`)
    const node = await walk.load(cid, key)
    yield { cid, key, node }
    if (node != null) stack.push(...walk.links(node, cid).reverse())
  }
}

/** The DAG under `root` as block bytes (`bytes` undefined where `get` lacks a block), keyed by CID. */
export async function * traverseDag (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>): AsyncGenerator<{ cid: CID, bytes: Uint8Array | undefined }> {
  for await (const { cid, node } of traverse(root, { load: async cid => get(cid), links: (bytes, c) => links(c, bytes) })) yield { cid, bytes: node }
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
