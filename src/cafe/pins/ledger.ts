import { LightcafeError } from '../../shared/errors.ts'
import type { BlockRef } from '../../ipfs/verify.ts'

/**
 * Who pins what, in bytes. A block pinned by two clients is stored once and counted for
 * both (each client's usage is what it would cost to keep its own pins alone); unpinning
 * frees a block only when no pin of any client references it any more.
 *
 * Pure bookkeeping: callers verify and store the blocks, then commit; a commit that would
 * put a client over its quota changes nothing. Bytes in flight count too: an ingest reserves
 * each block's cost before it writes the block, so concurrent uploads and pulls of one client
 * together never store more than its quota; the commit turns the reservation into usage.
 */

export type { BlockRef }

export interface PinEntry {
  requestid: string
  address: string
  /** The pinned root. */
  cid: string
  /** Every block of the DAG, the root included. */
  blocks: BlockRef[]
}

export class QuotaExceededError extends LightcafeError {
  static override name = 'QuotaExceededError'
  override name = 'QuotaExceededError'
  constructor (needed: number, quota: number, used: number) {
    super('QUOTA_EXCEEDED', `this pin needs ${needed} more bytes; the client uses ${used} of its ${quota}`)
  }
}

interface Holding { bytes: number, holders: Map<string, number>, seen?: number }

/** The accounting in memory; the IndexedDB store persists the same three tables. */
export class PinLedger {
  readonly #pins = new Map<string, PinEntry>()
  readonly #blocks = new Map<string, Holding>()
  readonly #usage = new Map<string, number>()
  readonly #reserved = new Map<string, number>()

  usage (address: string): number { return this.#usage.get(address) ?? 0 }

  /** Bytes reserved by this client's ingests in flight. */
  reserved (address: string): number { return this.#reserved.get(address) ?? 0 }

  /** Reserves bytes for an ingest before it stores them, or throws QuotaExceededError and reserves nothing. */
  reserve (address: string, bytes: number, quota: number): void {
    const held = this.usage(address) + this.reserved(address)
    if (held + bytes > quota) throw new QuotaExceededError(bytes, quota, held)
    this.#reserved.set(address, this.reserved(address) + bytes)
  }

  /** Returns an ingest's reservation (it failed, was aborted, or committed). */
  unreserve (address: string, bytes: number): void {
    const left = this.reserved(address) - bytes
    if (left > 0) this.#reserved.set(address, left)
    else this.#reserved.delete(address)
  }

  pin (requestid: string): PinEntry | undefined { return this.#pins.get(requestid) }

  /** Whether this client's pins reference the block: what it may read back. */
  holds (address: string, key: string): boolean { return (this.#blocks.get(key)?.holders.get(address) ?? 0) > 0 }

  /** Blocks any pin references: what garbage collection must keep. */
  isHeld (cid: string): boolean { return this.#blocks.has(cid) }

  /** Bytes this pin would add to the client's usage (blocks it does not reference yet). */
  cost (address: string, blocks: BlockRef[]): number {
    let extra = 0
    for (const b of distinct(blocks)) if ((this.#blocks.get(b.cid)?.holders.get(address) ?? 0) === 0) extra += b.bytes
    return extra
  }

  /**
   * Records a pin, or throws QuotaExceededError and records nothing. `reserved` is the
   * committing ingest's own reservation: on success it becomes usage; others' still count.
   */
  commit (entry: PinEntry, quota: number, reserved = 0): void {
    if (this.#pins.has(entry.requestid)) throw new LightcafeError('PIN_EXISTS', `pin ${entry.requestid} exists`)
    const extra = this.cost(entry.address, entry.blocks)
    const used = this.usage(entry.address)
    const others = Math.max(0, this.reserved(entry.address) - reserved)
    if (used + others + extra > quota) throw new QuotaExceededError(extra, quota, used + others)
    this.unreserve(entry.address, reserved)
    const blocks = distinct(entry.blocks)
    for (const b of blocks) {
      const h = this.#blocks.get(b.cid) ?? { bytes: b.bytes, holders: new Map<string, number>() }
      h.holders.set(entry.address, (h.holders.get(entry.address) ?? 0) + 1)
      this.#blocks.set(b.cid, h)
    }
    this.#usage.set(entry.address, used + extra)
    this.#pins.set(entry.requestid, { ...entry, blocks })
  }

  /**
   * Adds blocks to an entry (made if absent): an unfinished upload grows batch by batch. Their
   * cost was reserved by the ingest that stored them (`reserved`, moved to usage here), so no
   * quota check: the reservation already passed it.
   */
  extend (entry: PinEntry, reserved = 0): void {
    this.unreserve(entry.address, reserved)
    const held = this.#pins.get(entry.requestid) ?? { ...entry, blocks: [] }
    const have = new Set(held.blocks.map(b => b.cid))
    const added = distinct(entry.blocks).filter(b => !have.has(b.cid))
    this.#usage.set(entry.address, this.usage(entry.address) + this.cost(entry.address, added))
    for (const b of added) {
      const h = this.#blocks.get(b.cid) ?? { bytes: b.bytes, holders: new Map<string, number>() }
      h.holders.set(entry.address, (h.holders.get(entry.address) ?? 0) + 1)
      this.#blocks.set(b.cid, h)
    }
    this.#pins.set(entry.requestid, { ...held, blocks: [...held.blocks, ...added] })
  }

  /** A presence check of the store: `seen` marks each held block found stored; `unseen` lists the held ones not found since `mark`. */
  seen (key: string, mark: number): void {
    const h = this.#blocks.get(key)
    if (h != null) h.seen = mark
  }

  unseen (mark: number): string[] {
    const out: string[] = []
    for (const [key, h] of this.#blocks) if (h.seen !== mark) out.push(key)
    return out
  }

  /** Removes a pin; returns the blocks no pin references any more (to delete from the blockstore). */
  release (requestid: string): string[] {
    const entry = this.#pins.get(requestid)
    if (entry == null) return []
    this.#pins.delete(requestid)
    const freed: string[] = []
    let released = 0
    for (const b of entry.blocks) {
      const h = this.#blocks.get(b.cid)
      if (h == null) continue
      const n = (h.holders.get(entry.address) ?? 0) - 1
      if (n > 0) { h.holders.set(entry.address, n); continue }
      h.holders.delete(entry.address)
      released += h.bytes
      if (h.holders.size === 0) {
        this.#blocks.delete(b.cid)
        freed.push(b.cid)
      }
    }
    this.#usage.set(entry.address, Math.max(0, this.usage(entry.address) - released))
    return freed
  }
}

function distinct (blocks: BlockRef[]): BlockRef[] {
  const seen = new Map<string, BlockRef>()
  for (const b of blocks) if (!seen.has(b.cid)) seen.set(b.cid, b)
  return [...seen.values()]
}
