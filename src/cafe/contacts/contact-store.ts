import { isNewer } from '../../contacts/contact.ts'
import type { Contact } from '../../contacts/contact.ts'

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
