import type { PinLedger } from './ledger.ts'
import type { PinStore, UploadBatch } from './pin-store.ts'
import type { BlockRef } from '../../ipfs/verify.ts'

/** An unfinished upload of one root by one client: its batches, as kept. */
interface Unfinished { address: string, root: string, n: number, updated: number }

/** An unfinished upload as its client sees it (`GET /cafe/v1/storage`). */
export interface UnfinishedView { cid: string, bytes: number, blocks: number, updated: string, expires: string }

export interface UnfinishedInit {
  store: PinStore
  ledger: PinLedger
  /** An upload untouched this long is dropped. */
  ttlMs: number
  now: () => number
  /** Frees blocks nothing holds any more (garbage collection). */
  free: (keys: string[]) => Promise<void>
}

/** The ledger entry of an unfinished upload (never a requestid: those are base64url). */
const entryId = (address: string, root: string): string => `~upload ${address} ${root}`

/**
 * Uploads cut before their DAG was whole: each durable batch of blocks kept (recorded, and its
 * reservation made usage in the ledger), so the next upload of the root sends only the rest;
 * dropped when the pin is made, when the client gives up, or after `ttlMs` untouched.
 */
export class UnfinishedUploads {
  readonly #init: UnfinishedInit
  /** By `address|root`. */
  readonly #uploads = new Map<string, Unfinished>()

  constructor (init: UnfinishedInit) { this.#init = init }

  /** A batch kept by an earlier run: its upload known again, its blocks held in the ledger. */
  restore (b: UploadBatch): void {
    const key = `${b.address}|${b.root}`
    const u = this.#uploads.get(key) ?? { address: b.address, root: b.root, n: 0, updated: 0 }
    u.n = Math.max(u.n, b.n)
    u.updated = Math.max(u.updated, Date.parse(b.at))
    this.#uploads.set(key, u)
    this.#init.ledger.extend({ requestid: entryId(b.address, b.root), address: b.address, cid: b.root, blocks: b.blocks })
  }

  /** Keeps one durable batch of an upload: recorded, then its reservation (`cost`) becomes usage. */
  async keep (address: string, root: string, blocks: BlockRef[], cost: number): Promise<void> {
    const key = `${address}|${root}`
    const u = this.#uploads.get(key) ?? { address, root, n: 0, updated: 0 }
    const n = ++u.n
    u.updated = this.#init.now()
    this.#uploads.set(key, u)
    await this.#init.store.putBatch({ address, root, n, at: new Date(u.updated).toISOString(), blocks })
    this.#init.ledger.extend({ requestid: entryId(address, root), address, cid: root, blocks }, cost)
  }

  /** Drops an unfinished upload: its batches, and the blocks nothing else holds. */
  async drop (address: string, root: string): Promise<void> {
    const key = `${address}|${root}`
    if (!this.#uploads.has(key)) return
    this.#uploads.delete(key)
    await this.#init.store.deleteBatches(address, root)
    await this.#init.free(this.#init.ledger.release(entryId(address, root)))
  }

  /** Drops every unfinished upload of a client. */
  async dropAll (address: string): Promise<void> {
    for (const u of [...this.#uploads.values()]) if (u.address === address) await this.drop(address, u.root)
  }

  /** Drops the uploads untouched for longer than `ttlMs`. */
  async sweep (): Promise<void> {
    const before = this.#init.now() - this.#init.ttlMs
    for (const u of [...this.#uploads.values()]) if (u.updated < before) await this.drop(u.address, u.root)
  }

  /** A client's unfinished uploads: what each holds, and until when it is kept. */
  of (address: string): UnfinishedView[] {
    return [...this.#uploads.values()].filter(u => u.address === address).map(u => {
      const held = this.#init.ledger.pin(entryId(u.address, u.root))?.blocks ?? []
      return { cid: u.root, bytes: held.reduce((n, b) => n + b.bytes, 0), blocks: held.length, updated: new Date(u.updated).toISOString(), expires: new Date(u.updated + this.#init.ttlMs).toISOString() }
    })
  }
}
