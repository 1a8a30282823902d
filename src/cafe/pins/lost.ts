import { cidOfKey } from '../../ipfs/blocks.ts'
import { PIN_LIMITS } from './limits.ts'
import type { PinIndex } from './pin-index.ts'
import type { PinStore } from './pin-store.ts'
import type { Blocks } from '../../ipfs/blocks.ts'

export interface LostBlocksInit {
  store: PinStore
  pins: PinIndex
  blocks: Blocks
  now: () => number
  /** Told the address of a client whose pins changed. */
  changed: (address: string) => void
}

/**
 * Blocks a pin holds that the store no longer has (an evicted or wiped store, a disk that lost
 * them): recorded on each pin that holds them (shown failed, BLOCKS_LOST, so its client uploads
 * them again), and cleared once they are stored again.
 */
export class LostBlocks {
  readonly #init: LostBlocksInit
  /** Lost blocks found while serving are recorded one finding at a time. */
  #losing: Promise<void> = Promise.resolve()

  constructor (init: LostBlocksInit) { this.#init = init }

  /** Marks (or clears) each pin's lost blocks from what the store was found to lack at start. */
  async atStart (absent: Set<string>): Promise<void> {
    for (const r of this.#init.pins.all()) {
      if (r.status !== 'pinned') continue
      const gone = absent.size === 0 ? [] : r.blocks.filter(b => absent.has(b.cid)).map(b => b.cid)
      if (gone.length === 0 && r.lost == null) continue
      if (gone.length === 0) delete r.lost
      else r.lost = { count: gone.length, keys: gone.slice(0, PIN_LIMITS.maxLostKeys), at: r.lost?.at ?? new Date(this.#init.now()).toISOString() }
      await this.#init.store.put(r)
    }
  }

  /** Records blocks found missing from the store on the client's pins that hold them. */
  async found (address: string, keys: string[]): Promise<void> {
    const step = this.#losing.then(async () => {
      const gone = new Set(keys)
      for (const r of this.#init.pins.ofClient(address)) {
        if (r.status !== 'pinned') continue
        const hit = r.blocks.filter(b => gone.has(b.cid) && r.lost?.keys.includes(b.cid) !== true).map(b => b.cid)
        if (hit.length === 0) continue
        const listed = [...(r.lost?.keys ?? []), ...hit]
        r.lost = { count: (r.lost?.count ?? 0) + hit.length, keys: listed.slice(0, PIN_LIMITS.maxLostKeys), at: r.lost?.at ?? new Date(this.#init.now()).toISOString() }
        await this.#init.store.put(r)
        this.#init.changed(address)
      }
    })
    this.#losing = step.catch(() => {})
    await step
  }

  /** Pins with lost blocks whose blocks are all stored again (an upload brought them back) are whole again. */
  async recheck (): Promise<void> {
    for (const r of this.#init.pins.all()) {
      if (r.status !== 'pinned' || r.lost == null) continue
      const keys = r.lost.count > r.lost.keys.length ? r.blocks.map(b => b.cid) : r.lost.keys
      let whole = true
      for (const k of keys) if (!(await this.#init.blocks.has(cidOfKey(k)))) { whole = false; break }
      if (!whole) continue
      delete r.lost
      await this.#init.store.put(r)
      this.#init.changed(r.address)
    }
  }
}
