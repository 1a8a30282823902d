import { openDB } from 'idb'
import { isNewer } from '../../contacts/contact.ts'
import type { Contact } from '../../contacts/contact.ts'
import type { DBSchema, IDBPDatabase } from 'idb'

interface ContactDB extends DBSchema { contacts: { key: string, value: Contact } }

/** The contacts a cafe holds, one per account address. */
export interface ContactStore {
  get(address: string): Promise<Contact | undefined>
  /** Writes the contact unless the one held for its address is as new or newer; false if refused. */
  put(contact: Contact): Promise<boolean>
  delete(address: string): Promise<boolean>
  all(): Promise<Contact[]>
}

export class MemoryContactStore implements ContactStore {
  readonly #rows = new Map<string, Contact>()
  async get (address: string): Promise<Contact | undefined> { const c = this.#rows.get(address); return c == null ? undefined : structuredClone(c) }
  async put (contact: Contact): Promise<boolean> {
    const held = this.#rows.get(contact.address)
    if (held != null && !isNewer(contact, held)) return false
    this.#rows.set(contact.address, structuredClone(contact))
    return true
  }

  async delete (address: string): Promise<boolean> { return this.#rows.delete(address) }
  async all (): Promise<Contact[]> { return [...this.#rows.values()].map(c => structuredClone(c)) }
}

export class IdbContactStore implements ContactStore {
  readonly #db: Promise<IDBPDatabase<ContactDB>>
  constructor (name: string) {
    this.#db = openDB<ContactDB>(name, 1, { upgrade (db, old) { if (old < 1) db.createObjectStore('contacts', { keyPath: 'address' }) } })
  }

  async get (address: string): Promise<Contact | undefined> { return (await this.#db).get('contacts', address) }
  // Compare and write in one transaction: an older contact racing a newer one cannot overwrite it.
  async put (contact: Contact): Promise<boolean> {
    const tx = (await this.#db).transaction('contacts', 'readwrite')
    const held = await tx.store.get(contact.address)
    if (held != null && !isNewer(contact, held)) { await tx.done; return false }
    await tx.store.put(contact)
    await tx.done
    return true
  }

  async delete (address: string): Promise<boolean> {
    const tx = (await this.#db).transaction('contacts', 'readwrite')
    const exists = (await tx.store.getKey(address)) != null
    if (exists) await tx.store.delete(address)
    await tx.done
    return exists
  }

  async all (): Promise<Contact[]> { return (await this.#db).getAll('contacts') }
  async close (): Promise<void> { (await this.#db).close() }
}
