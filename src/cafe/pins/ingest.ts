import { BlockWriter } from '../../ipfs/block-writer.ts'
import { blockKey } from '../../ipfs/blocks.ts'
import { links, traverse } from '../../ipfs/dag.ts'
import type { BlockCollector } from './gc.ts'
import type { BlockRef, PinLedger } from './ledger.ts'
import type { Blocks } from '../../ipfs/blocks.ts'
import type { CID } from 'multiformats/cid'

/**
 * One ingest (an upload or a pull) of one client: verified blocks reserved then written, the
 * DAG walked over what this client supplied, and cleanup of what no pin took. Every block it
 * saw is held in the collector (written here or found stored), so a concurrent unpin
 * elsewhere cannot delete it under this ingest.
 */
export class Ingest {
  readonly #address: string
  readonly #blocks: Blocks
  readonly #ledger: PinLedger
  readonly #gc: BlockCollector
  readonly #marked = new Set<string>()
  /** Blocks it stored (or found stored), with what each added to its reservation. */
  readonly #seen = new Map<string, { bytes: number, links: CID[], cost: number }>()
  #reserved = 0
  #keep: ((blocks: BlockRef[], cost: number) => Promise<void>) | undefined

  constructor (address: string, parts: { blocks: Blocks, ledger: PinLedger, gc: BlockCollector }) {
    this.#address = address
    this.#blocks = parts.blocks
    this.#ledger = parts.ledger
    this.#gc = parts.gc
  }

  #mark (key: string): void {
    if (this.#marked.has(key)) return
    this.#marked.add(key)
    this.#gc.hold(key)
  }

  /** Bytes it holds reserved in the ledger. */
  reserved (): number { return this.#reserved }

  /** Its reservation became the pin's usage. */
  committed (): void { this.#reserved = 0 }

  /**
   * From now on, each batch of blocks it stores is handed to `keep` once durable, with the
   * cost reserved for it: an unfinished upload records them, and their reservation becomes
   * its usage, so they outlive this ingest (a cut upload resumes from them).
   */
  keepIn (keep: (blocks: BlockRef[], cost: number) => Promise<void>): void { this.#keep = keep }

  async #kept (batch: Array<{ cid: CID }>): Promise<void> {
    if (this.#keep == null) return
    const refs: BlockRef[] = []
    let cost = 0
    for (const { cid } of batch) {
      const key = blockKey(cid)
      const node = this.#seen.get(key)
      if (node == null) continue
      refs.push({ cid: key, bytes: node.bytes })
      cost += node.cost
    }
    await this.#keep(refs, cost)
    // Its reservation is the unfinished upload's usage now: never given back by this ingest.
    for (const r of refs) { const node = this.#seen.get(r.cid); if (node != null) node.cost = 0 }
    this.#reserved -= cost
  }

  /**
   * Stores verified blocks, each reserved against `quota` before it is queued. Writes run
   * behind the read in batches (bounded in bytes); this returns once all are durable, and on
   * any failure only once no write of it can still land, so `end` frees all it may have
   * written. Blocks not stored then count as never supplied.
   */
  async take (source: AsyncIterable<{ cid: CID, bytes: Uint8Array }>, quota: number): Promise<void> {
    const writer = new BlockWriter(this.#blocks, { onBatch: async batch => this.#kept(batch) })
    try {
      for await (const { cid, bytes } of source) {
        const key = blockKey(cid)
        if (this.#seen.has(key)) continue
        const cost = this.#ledger.cost(this.#address, [{ cid: key, bytes: bytes.byteLength }])
        // Reserved before it is stored: what is in flight counts against the quota.
        if (cost > 0) { this.#ledger.reserve(this.#address, cost, quota); this.#reserved += cost }
        this.#seen.set(key, { bytes: bytes.byteLength, links: links(cid, bytes), cost })
        // Held before it is queued: no collection can delete it while its write is pending.
        this.#mark(key)
        await writer.add({ cid, bytes })
      }
      await writer.flush()
    } finally {
      // Not stored after all: not supplied (a later source may send it), nor reserved. Still
      // held, so `end` frees it if a failed batch half-landed.
      for (const b of await writer.settle()) this.#unsee(blockKey(b.cid))
    }
  }

  #unsee (key: string): void {
    const node = this.#seen.get(key)
    if (node == null) return
    this.#seen.delete(key)
    this.#ledger.unreserve(this.#address, node.cost)
    this.#reserved -= node.cost
  }

  /** The DAG under `root` over what this client supplied: its blocks (by block key) and the CIDs missing. */
  async walk (root: CID): Promise<{ blocks: BlockRef[], missing: string[] }> {
    const blocks: BlockRef[] = []
    const missing: string[] = []
    // Keyed by multihash, as the blockstore and the ledger are: one entry for the same bytes under two codecs.
    const load = async (cid: CID, key: string): Promise<{ bytes: number, links: CID[] } | undefined> => {
      const node = this.#seen.get(key)
      // Blocks this client's own pins hold count; another client's never do.
      if (node != null || !this.#ledger.holds(this.#address, key)) return node
      this.#mark(key)
      const bytes = await this.#blocks.get(cid)
      return bytes == null ? undefined : { bytes: bytes.byteLength, links: links(cid, bytes) }
    }
    for await (const { cid, key, node } of traverse(root, { load, links: n => n.links, key: blockKey })) {
      if (node == null) missing.push(cid.toString())
      else blocks.push({ cid: key, bytes: node.bytes })
    }
    return { blocks, missing }
  }

  /** Gives back its reservation and its holds, and deletes what no pin took. */
  async end (): Promise<void> {
    this.#ledger.unreserve(this.#address, this.#reserved)
    this.#reserved = 0
    for (const key of this.#marked) this.#gc.letGo(key)
    await this.#gc.free(this.#marked)
  }
}
