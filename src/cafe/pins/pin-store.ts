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
}

/** Pin records; each write is one record, so a killed tab leaves whole records only. */
export interface PinStore {
  all(): Promise<PinRecord[]>
  put(pin: PinRecord): Promise<void>
  delete(requestid: string): Promise<void>
}

export class MemoryPinStore implements PinStore {
  readonly #rows = new Map<string, PinRecord>()
  async all (): Promise<PinRecord[]> { return [...this.#rows.values()].map(r => structuredClone(r)) }
  async put (pin: PinRecord): Promise<void> { this.#rows.set(pin.requestid, structuredClone(pin)) }
  async delete (requestid: string): Promise<void> { this.#rows.delete(requestid) }
}
