// Test fixtures (imported by unit tests only): blocks and CARs made by @ipld/car's own writer,
// so what the code under test reads was not written by the code under test.
import { CarWriter } from '@ipld/car'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

/** A raw block of `text`. */
export async function rawBlock (text: string): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

/** The chunks CarWriter writes for these roots and blocks, as given (any blocks, any roots). */
export async function writtenCar (roots: CID[], blocks: Array<{ cid: CID, bytes: Uint8Array }>): Promise<Uint8Array[]> {
  const { writer, out } = CarWriter.create(roots)
  const chunks: Uint8Array[] = []
  const collected = (async () => { for await (const c of out) chunks.push(c) })()
  for (const b of blocks) await writer.put(b)
  await writer.close()
  await collected
  return chunks
}

/**
 * A DAG of `count` raw leaves of `bytes` each (leaf i filled with i + 1) under one dag-pb root,
 * stored in `blocks`: the root's CID and bytes, and the leaves.
 */
export async function storedDag (blocks: { put: (cid: CID, bytes: Uint8Array) => Promise<void> }, count: number, bytes: number): Promise<{ root: CID, rootBytes: Uint8Array, leaves: Array<{ cid: CID, bytes: Uint8Array }> }> {
  const leaves: Array<{ cid: CID, bytes: Uint8Array }> = []
  for (let i = 0; i < count; i++) {
    const leaf = new Uint8Array(bytes).fill(i + 1)
    const cid = CID.createV1(raw.code, await sha256.digest(leaf))
    await blocks.put(cid, leaf)
    leaves.push({ cid, bytes: leaf })
  }
  const rootBytes = dagPb.encode(dagPb.prepare({ Links: leaves.map((l, i) => ({ Hash: l.cid, Name: `${i}`, Tsize: l.bytes.length })) }))
  const root = CID.createV1(dagPb.code, await sha256.digest(rootBytes))
  await blocks.put(root, rootBytes)
  return { root, rootBytes, leaves }
}
