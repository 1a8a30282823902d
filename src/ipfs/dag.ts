import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { createUnsafe } from 'multiformats/block'
import * as raw from 'multiformats/codecs/raw'
import { blockKey } from './blocks.ts'
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
  /**
   * Loads begun ahead of the walk, at most this many at once: the next blocks it will visit
   * (the top of its stack), so a store's reads overlap instead of one at a time. 0 by default.
   */
  ahead?: number
}

/** How far a walk over a local store reads ahead: enough to keep IndexedDB busy, a few blocks of memory. */
export const READ_AHEAD = 8

/**
 * The one DAG walk: depth first, first link first, each key once, the node undefined for a
 * block `load` lacks. Bounded by BLOCK_LIMITS.maxDagBlocks.
 */
export async function * traverse<T> (root: CID, walk: DagWalk<T>): AsyncGenerator<{ cid: CID, key: string, node: T | undefined }> {
  const keyOf = walk.key ?? (cid => cid.toString())
  const ahead = walk.ahead ?? 0
  const seen = new Set<string>()
  const stack: CID[] = [root]
  // By CID, not key: a node may depend on the CID it was loaded as (its codec).
  const started = new Map<string, Promise<T | undefined>>()
  const readAhead = (): void => {
    for (let i = stack.length - 1; i >= 0 && started.size < ahead; i--) {
      const cid = stack[i]
      const id = cid.toString()
      if (started.has(id) || seen.has(keyOf(cid))) continue
      const loading = walk.load(cid, keyOf(cid))
      // Awaited when the walk gets there; a walk that stops first leaves its failure unheard.
      loading.catch(() => {})
      started.set(id, loading)
    }
  }
  while (stack.length > 0) {
    const cid = stack.pop()!
    const key = keyOf(cid)
    const early = started.get(cid.toString())
    started.delete(cid.toString())
    if (seen.has(key)) continue
    seen.add(key)
    if (seen.size > BLOCK_LIMITS.maxDagBlocks) throw new BlockRejectedError('DAG_TOO_LARGE', `the DAG under ${root.toString()} has more than ${BLOCK_LIMITS.maxDagBlocks} blocks`)
    readAhead()
    const node = await (early ?? walk.load(cid, key))
    yield { cid, key, node }
    if (node != null) stack.push(...walk.links(node, cid).reverse())
    readAhead()
  }
}

/** The DAG under `root` as block bytes (`bytes` undefined where `get` lacks a block), keyed by CID. */
export async function * traverseDag (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>, options: { ahead?: number } = {}): AsyncGenerator<{ cid: CID, bytes: Uint8Array | undefined }> {
  for await (const { cid, node } of traverse(root, { load: async cid => get(cid), links: (bytes, c) => links(c, bytes), ...options })) yield { cid, bytes: node }
}

/** Every block of the DAG under `root` that `get` has, and the CIDs it lacks. */
export async function walkDag (root: CID, get: (cid: CID) => Promise<Uint8Array | undefined>, options: { ahead?: number } = {}): Promise<{ blocks: BlockRef[], missing: string[] }> {
  const blocks: BlockRef[] = []
  const missing: string[] = []
  for await (const { cid, bytes } of traverseDag(root, get, options)) {
    if (bytes == null) missing.push(cid.toString())
    else blocks.push({ cid: cid.toString(), bytes: bytes.byteLength })
  }
  return { blocks, missing }
}

/**
 * A DAG arriving parents first (a CAR in depth-first order): which blocks belong to it and
 * whether all have come, from the blocks themselves, nothing read back from a store. A block
 * is taken when a block taken before links to it (the root first), under any codec with its
 * multihash; its links are read as the CID it was linked as.
 */
export class ArrivingDag {
  /** Blocks still wanted: by multihash (`blockKey`), each CID they are linked as. */
  readonly #wanted = new Map<string, Map<string, CID>>()
  /** CIDs (as text) already taken. */
  readonly #taken = new Set<string>()

  constructor (root: CID) { this.#want(root) }

  #want (cid: CID): void {
    const id = cid.toString()
    if (this.#taken.has(id)) return
    const key = blockKey(cid)
    const as = this.#wanted.get(key) ?? new Map<string, CID>()
    as.set(id, cid)
    this.#wanted.set(key, as)
  }

  /** Whether this (verified) block is one the DAG wants now; if so its links are wanted next. */
  take (block: { cid: CID, bytes: Uint8Array }): boolean {
    const key = blockKey(block.cid)
    const as = this.#wanted.get(key)
    if (as == null) return false
    if (this.#taken.size + as.size > BLOCK_LIMITS.maxDagBlocks) throw new BlockRejectedError('DAG_TOO_LARGE', `the DAG has more than ${BLOCK_LIMITS.maxDagBlocks} blocks`)
    this.#wanted.delete(key)
    for (const [id, cid] of as) {
      this.#taken.add(id)
      for (const l of links(cid, block.bytes)) this.#want(l)
    }
    return true
  }

  /** Every block the DAG links to has come. */
  get complete (): boolean { return this.#wanted.size === 0 }

  /** How many blocks are still wanted. */
  get missing (): number { return this.#wanted.size }
}
