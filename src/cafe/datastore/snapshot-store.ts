import { Records, Serial } from './records.ts'
import type { SnapshotRecord, SnapshotStore } from '../snapshots.ts'
import type { Datastore } from 'interface-datastore'

/** Thread snapshots at `/snapshots/<address>/<id>`; which ids each client holds is indexed in memory. */
export class DatastoreSnapshotStore implements SnapshotStore {
  readonly #rows: Records<SnapshotRecord>
  readonly #serial = new Serial()
  readonly #ids = new Map<string, Set<string>>()
  readonly #ready: Promise<void>

  constructor (ds: Datastore) {
    this.#rows = new Records<SnapshotRecord>(ds, 'snapshots')
    this.#ready = this.#load()
  }

  async #load (): Promise<void> {
    for await (const { value } of this.#rows.all()) this.#idsOf(value.address).add(value.id)
  }

  #idsOf (address: string): Set<string> {
    let ids = this.#ids.get(address)
    if (ids == null) { ids = new Set(); this.#ids.set(address, ids) }
    return ids
  }

  async get (address: string, id: string): Promise<SnapshotRecord | undefined> {
    await this.#ready
    return this.#rows.get(this.#rows.key(address, id))
  }

  async list (address: string): Promise<SnapshotRecord[]> {
    await this.#ready
    const out: SnapshotRecord[] = []
    for await (const { value } of this.#rows.all(address)) out.push(value)
    return out
  }

  // Count and write one at a time: two racing puts cannot both pass the bound.
  async put (record: SnapshotRecord, max: number): Promise<boolean> {
    await this.#ready
    return this.#serial.run(async () => {
      const ids = this.#idsOf(record.address)
      if (!ids.has(record.id) && ids.size >= max) return false
      await this.#rows.put(this.#rows.key(record.address, record.id), record)
      ids.add(record.id)
      return true
    })
  }

  async delete (address: string, id: string): Promise<boolean> {
    await this.#ready
    return this.#serial.run(async () => {
      const ids = this.#ids.get(address)
      if (ids?.has(id) !== true) return false
      await this.#rows.delete(this.#rows.key(address, id))
      ids.delete(id)
      return true
    })
  }

  async deleteAll (address: string): Promise<void> {
    await this.#ready
    await this.#serial.run(async () => {
      const ids = [...this.#ids.get(address) ?? []]
      const batch = this.#rows.batch()
      for (const id of ids) batch.delete(this.#rows.key(address, id))
      await batch.commit()
      this.#ids.delete(address)
    })
  }
}
