import { isNewer } from '../../contacts/contact.ts'
import { Records, Serial } from './records.ts'
import type { Contact } from '../../contacts/contact.ts'
import type { ContactStore } from '../contacts/contact-store.ts'
import type { Datastore } from 'interface-datastore'

/** Contacts at `/contacts/<address>`. */
export class DatastoreContactStore implements ContactStore {
  readonly #rows: Records<Contact>
  readonly #serial = new Serial()
  constructor (ds: Datastore) { this.#rows = new Records<Contact>(ds, 'contacts') }

  async get (address: string): Promise<Contact | undefined> { return this.#rows.get(this.#rows.key(address)) }

  // Compare and write one at a time: an older contact racing a newer one cannot overwrite it.
  async put (contact: Contact): Promise<boolean> {
    return this.#serial.run(async () => {
      const held = await this.#rows.get(this.#rows.key(contact.address))
      if (held != null && !isNewer(contact, held)) return false
      await this.#rows.put(this.#rows.key(contact.address), contact)
      return true
    })
  }

  async delete (address: string): Promise<boolean> {
    return this.#serial.run(async () => {
      if ((await this.#rows.get(this.#rows.key(address))) == null) return false
      await this.#rows.delete(this.#rows.key(address))
      return true
    })
  }

  async all (): Promise<Contact[]> {
    const out: Contact[] = []
    for await (const { value } of this.#rows.all()) out.push(value)
    return out
  }
}
