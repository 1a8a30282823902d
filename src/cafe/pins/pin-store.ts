import type { BlockRef } from './ledger.ts'

export type PinState = 'queued' | 'pinning' | 'pinned' | 'failed'

/** A pin as the cafe keeps it: the Pinning Service API's fields plus who and which blocks. */
export interface PinRecord {
  requestid: string
  /** The client (account address) the pin belongs to. */
  address: string
  cid: string
  name?: string
  origins: string[]
  meta: Record<string, string>
  status: PinState
  created: string
  /** Every block of the DAG (by block key), once pinned. */
  blocks: BlockRef[]
  /** Bytes of the DAG (each block once). */
  bytes: number
  error?: { reason: string, details: string }
  /** A replacement names the pin it replaces; that one is removed once this one is pinned. */
  replaces?: string
  /**
   * Blocks of this pin the cafe found missing from its own storage (at start, or serving
   * them): the pin is shown failed (`BLOCKS_LOST`) until they are uploaded again. `keys`
   * names up to PIN_LIMITS.maxLostKeys of them; `count` is how many.
   */
  lost?: { count: number, keys: string[], at: string }
}

/**
 * One durable batch of an unfinished upload: the blocks (by block key) a cut upload of `root`
 * kept for `address`. The batches of one root together are what the next upload of it need
 * not send again.
 */
export interface UploadBatch { address: string, root: string, n: number, at: string, blocks: BlockRef[] }

/** Pin records; each write is one record, so a killed tab leaves whole records only. */
export interface PinStore {
  all(): Promise<PinRecord[]>
  put(pin: PinRecord): Promise<void>
  delete(requestid: string): Promise<void>
  /** Every batch of every unfinished upload. */
  batches(): Promise<UploadBatch[]>
  putBatch(batch: UploadBatch): Promise<void>
  /** Drops every batch of one unfinished upload. */
  deleteBatches(address: string, root: string): Promise<void>
}

export class MemoryPinStore implements PinStore {
  readonly #rows = new Map<string, PinRecord>()
  async all (): Promise<PinRecord[]> { return [...this.#rows.values()].map(r => structuredClone(r)) }
  async put (pin: PinRecord): Promise<void> { this.#rows.set(pin.requestid, structuredClone(pin)) }
  async delete (requestid: string): Promise<void> { this.#rows.delete(requestid) }
  readonly #batches = new Map<string, UploadBatch>()
  async batches (): Promise<UploadBatch[]> { return [...this.#batches.values()].map(b => structuredClone(b)) }
  async putBatch (batch: UploadBatch): Promise<void> { this.#batches.set(`${batch.address}|${batch.root}|${batch.n}`, structuredClone(batch)) }
  async deleteBatches (address: string, root: string): Promise<void> {
    for (const [k, b] of this.#batches) if (b.address === address && b.root === root) this.#batches.delete(k)
  }
}
