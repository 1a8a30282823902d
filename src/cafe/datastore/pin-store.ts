import { Records } from './records.ts'
import type { PinRecord, PinStore } from '../pins/pin-store.ts'
import type { Datastore } from 'interface-datastore'

/** Pin records at `/pins/<requestid>`: each write is one key, so a kill leaves whole records only. */
export class DatastorePinStore implements PinStore {
  readonly #rows: Records<PinRecord>
  constructor (ds: Datastore) { this.#rows = new Records<PinRecord>(ds, 'pins') }

  async all (): Promise<PinRecord[]> {
    const out: PinRecord[] = []
    for await (const { value } of this.#rows.all()) out.push(value)
    return out
  }

  async put (pin: PinRecord): Promise<void> { await this.#rows.put(this.#rows.key(pin.requestid), pin) }
  async delete (requestid: string): Promise<void> { await this.#rows.delete(this.#rows.key(requestid)) }
}
