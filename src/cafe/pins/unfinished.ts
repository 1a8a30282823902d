import { PIN_LIMITS } from './limits.ts'
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
 * dropped when the pin is made, when the client gives up, after `ttlMs` untouched, or for room
 * (at most `maxUnfinishedPerClient` per client).
 */
export class UnfinishedUploads {
  readonly #init: UnfinishedInit
  /** By client, then root (at most `maxUnfinishedPerClient` each). */
  readonly #uploads = new Map<string, Map<string, Unfinished>>()
  /** Uploads running now per `address|root`: their unfinished upload is never the one dropped for room. */
  readonly #running = new Map<string, number>()

  constructor (init: UnfinishedInit) { this.#init = init }

  /** A client's unfinished uploads by root (made on first use). */
  #of (address: string): Map<string, Unfinished> {
    let mine = this.#uploads.get(address)
    if (mine == null) this.#uploads.set(address, mine = new Map())
    return mine
  }

  /** A batch kept by an earlier run: its upload known again, its blocks held in the ledger. */
  restore (b: UploadBatch): void {
    const mine = this.#of(b.address)
    const u = mine.get(b.root) ?? { address: b.address, root: b.root, n: 0, updated: 0 }
    u.n = Math.max(u.n, b.n)
    u.updated = Math.max(u.updated, Date.parse(b.at))
    mine.set(b.root, u)
    this.#init.ledger.extend({ requestid: entryId(b.address, b.root), address: b.address, cid: b.root, blocks: b.blocks })
  }

  /** An upload of `root` runs from now until the returned function is called. */
  running (address: string, root: string): () => void {
    const key = `${address}|${root}`
    this.#running.set(key, (this.#running.get(key) ?? 0) + 1)
    return () => {
      const left = this.#running.get(key)! - 1
      if (left > 0) this.#running.set(key, left)
      else this.#running.delete(key)
    }
  }

  /**
   * Keeps one durable batch of an upload: recorded, then its reservation (`cost`) becomes
   * usage. A client's first batch of another root past `maxUnfinishedPerClient` drops its
   * oldest unfinished upload not running now: batches of blocks it already holds cost no quota,
   * so without a bound any number of roots could be kept for a day (and listed on every check).
   */
  async keep (address: string, root: string, blocks: BlockRef[], cost: number): Promise<void> {
    if (this.#uploads.get(address)?.has(root) !== true) {
      const mine = [...this.#uploads.get(address)?.values() ?? []]
      const idle = mine.filter(o => !this.#running.has(`${address}|${o.root}`)).sort((a, b) => a.updated - b.updated)
      for (let left = mine.length; left >= PIN_LIMITS.maxUnfinishedPerClient && idle.length > 0; left--) await this.drop(address, idle.shift()!.root)
    }
    // Read again after the drops: another batch of this root may have begun it meanwhile.
    const mine = this.#of(address)
    const u = mine.get(root) ?? { address, root, n: 0, updated: 0 }
    mine.set(root, u)
    const n = ++u.n
    u.updated = this.#init.now()
    await this.#init.store.putBatch({ address, root, n, at: new Date(u.updated).toISOString(), blocks })
    this.#init.ledger.extend({ requestid: entryId(address, root), address, cid: root, blocks }, cost)
  }

  /** Drops an unfinished upload: its batches, and the blocks nothing else holds. */
  async drop (address: string, root: string): Promise<void> {
    const mine = this.#uploads.get(address)
    if (mine?.delete(root) !== true) return
    if (mine.size === 0) this.#uploads.delete(address)
    await this.#init.store.deleteBatches(address, root)
    await this.#init.free(this.#init.ledger.release(entryId(address, root)))
  }

  /** Drops every unfinished upload of a client. */
  async dropAll (address: string): Promise<void> {
    for (const root of [...this.#uploads.get(address)?.keys() ?? []]) await this.drop(address, root)
  }

  /** Drops the uploads untouched for longer than `ttlMs`. */
  async sweep (): Promise<void> {
    const before = this.#init.now() - this.#init.ttlMs
    for (const mine of [...this.#uploads.values()]) for (const u of [...mine.values()]) if (u.updated < before) await this.drop(u.address, u.root)
  }

  /** A client's unfinished uploads: what each holds, and until when it is kept. */
  of (address: string): UnfinishedView[] {
    return [...this.#uploads.get(address)?.values() ?? []].map(u => {
      const held = this.#init.ledger.pin(entryId(u.address, u.root))?.blocks ?? []
      return { cid: u.root, bytes: held.reduce((n, b) => n + b.bytes, 0), blocks: held.length, updated: new Date(u.updated).toISOString(), expires: new Date(u.updated + this.#init.ttlMs).toISOString() }
    })
  }
}
