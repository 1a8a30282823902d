import { Records } from './records.ts'
import type { PinRecord, PinStore, UploadBatch } from '../pins/pin-store.ts'
import type { Datastore } from 'interface-datastore'

/**
 * Pin records at `/pins/<requestid>`, unfinished uploads' batches at
 * `/uploads/<address>/<root>/<n>`: each write is one key, so a kill leaves whole records only.
 */
export class DatastorePinStore implements PinStore {
  readonly #rows: Records<PinRecord>
  readonly #batches: Records<UploadBatch>
  constructor (ds: Datastore) {
    this.#rows = new Records<PinRecord>(ds, 'pins')
    this.#batches = new Records<UploadBatch>(ds, 'uploads')
  }

  async all (): Promise<PinRecord[]> {
    const out: PinRecord[] = []
    for await (const { value } of this.#rows.all()) out.push(value)
    return out
  }

  async put (pin: PinRecord): Promise<void> { await this.#rows.put(this.#rows.key(pin.requestid), pin) }
  async delete (requestid: string): Promise<void> { await this.#rows.delete(this.#rows.key(requestid)) }

  async batches (): Promise<UploadBatch[]> {
    const out: UploadBatch[] = []
    for await (const { value } of this.#batches.all()) out.push(value)
    return out
  }

  async putBatch (batch: UploadBatch): Promise<void> { await this.#batches.put(this.#batches.key(batch.address, batch.root, batch.n), batch) }

  async deleteBatches (address: string, root: string): Promise<void> {
    const gone = this.#batches.batch()
    for await (const { key } of this.#batches.all(address, root)) gone.delete(key)
    await gone.commit()
  }
}
