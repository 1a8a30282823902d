import { cidOfKey } from '../../ipfs/blocks.ts'
import type { PinLedger } from './ledger.ts'
import type { Blocks } from '../../ipfs/blocks.ts'
import type { AbortOptions } from '@libp2p/interface'

/**
 * Garbage collection of the cafe's blocks: a block goes when no pin holds it (the ledger) and
 * no running ingest wrote or relies on it (held here, counted, by block key).
 */
export class BlockCollector {
  readonly #blocks: Blocks
  readonly #ledger: PinLedger
  /** Blocks written by ingests still running: GC and failed ingests must not delete them. */
  readonly #inflight = new Map<string, number>()

  constructor (blocks: Blocks, ledger: PinLedger) {
    this.#blocks = blocks
    this.#ledger = ledger
  }

  /** An ingest holds this block until it lets go. */
  hold (key: string): void { this.#inflight.set(key, (this.#inflight.get(key) ?? 0) + 1) }

  letGo (key: string): void {
    const n = (this.#inflight.get(key) ?? 1) - 1
    if (n > 0) this.#inflight.set(key, n)
    else this.#inflight.delete(key)
  }

  #unused (key: string): boolean { return !this.#ledger.isHeld(key) && !this.#inflight.has(key) }

  /** Deletes those of these blocks nothing holds any more. */
  async free (keys: Iterable<string>): Promise<void> {
    for (const key of keys) if (this.#unused(key)) await this.#blocks.delete(cidOfKey(key))
  }

  /**
   * Deletes every stored block that no pin holds and no running ingest wrote. Returns how many.
   * With `mark`, every held block found stored is marked in the ledger (`seen`): the same pass
   * tells which held blocks the store lost.
   */
  async collect (options: AbortOptions & { mark?: number } = {}): Promise<number> {
    const doomed: string[] = []
    for await (const cid of this.#blocks.keys()) {
      options.signal?.throwIfAborted()
      const key = cid.toString()
      if (options.mark != null) this.#ledger.seen(key, options.mark)
      if (this.#unused(key)) doomed.push(key)
    }
    // Checked again: an ingest may have taken one while the keys were listed.
    await this.free(doomed)
    return doomed.length
  }
}
