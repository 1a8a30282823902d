import type { PinRecord } from './pin-store.ts'

/**
 * The cafe's pins in memory, by requestid and by client: a client's list, count and usage
 * read that client's pins only, so their cost does not grow with every other client's.
 */
export class PinIndex {
  readonly #all = new Map<string, PinRecord>()
  readonly #byClient = new Map<string, Map<string, PinRecord>>()

  get (requestid: string): PinRecord | undefined { return this.#all.get(requestid) }
  has (requestid: string): boolean { return this.#all.has(requestid) }

  set (record: PinRecord): void {
    const held = this.#all.get(record.requestid)
    if (held != null && held.address !== record.address) this.#byClient.get(held.address)?.delete(record.requestid)
    this.#all.set(record.requestid, record)
    let mine = this.#byClient.get(record.address)
    if (mine == null) { mine = new Map(); this.#byClient.set(record.address, mine) }
    mine.set(record.requestid, record)
  }

  delete (requestid: string): boolean {
    const held = this.#all.get(requestid)
    if (held == null) return false
    this.#all.delete(requestid)
    const mine = this.#byClient.get(held.address)
    mine?.delete(requestid)
    if (mine?.size === 0) this.#byClient.delete(held.address)
    return true
  }

  /** One client's pins (a snapshot: safe to change the index while going through it). */
  ofClient (address: string): PinRecord[] { return [...this.#byClient.get(address)?.values() ?? []] }

  /** Every pin (a snapshot, as `ofClient`). */
  all (): PinRecord[] { return [...this.#all.values()] }

  countOf (address: string): number { return this.#byClient.get(address)?.size ?? 0 }
}
