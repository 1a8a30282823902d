// Test fixtures (imported by unit tests only): blocks and CARs made by @ipld/car's own writer,
// so what the code under test reads was not written by the code under test.
import { CarWriter } from '@ipld/car'
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
