import { TypedEventEmitter } from 'main-event'
import { isAddress } from '../../account/index.ts'
import { CONTACT_LIMITS, verifyContact } from '../../contacts/contact.ts'
import { ForbiddenError, InvalidInputError, LightcafeError, NotFoundError } from '../../shared/errors.ts'
import type { Contact } from '../../contacts/contact.ts'
import type { ContactStore } from './contact-store.ts'

/** What the contacts tell: one was stored (with it) or removed (without): the search index follows. */
export interface CafeContactsEvents { change: CustomEvent<{ address: string, contact?: Contact }> }

/**
 * The contacts a cafe holds: each registered client publishes its own, anyone may read one.
 * Contacts are signed by their accounts, so the cafe only checks and keeps them; it cannot
 * change one, and a client cannot publish (or overwrite) another account's. The cafe's owner
 * (a tab's account) is not its own client: its contact is given by the owner (`setOwner`) and
 * answered like a client's, so guests can find and write to the owner.
 */
export class CafeContacts extends TypedEventEmitter<CafeContactsEvents> {
  readonly #store: ContactStore
  readonly #now: () => number
  #owner: Contact | undefined
  constructor (store: ContactStore, now: () => number = Date.now) { super(); this.#store = store; this.#now = now }

  #changed (address: string, contact?: Contact): void { this.safeDispatchEvent('change', { detail: { address, contact } }) }

  /** Stores the session's own contact; refuses another account's and any not newer than the one held. */
  async publish (address: string, body: unknown): Promise<Contact> {
    const contact = verifyContact(body, CONTACT_LIMITS, this.#now())
    if (contact.address !== address) throw new ForbiddenError('CONTACT_NOT_YOURS', 'a client may publish only its own account\'s contact')
    // A replayed older copy must not roll back a newer one (say, one with a new box key).
    if (!(await this.#store.put(contact))) throw new LightcafeError('CONTACT_STALE', 'the cafe holds a contact for this account at least as new; sign one with a later updated time')
    this.#changed(address, contact)
    return contact
  }

  /** The owner's own contact (verified as any other), or undefined when it has none; the search index follows. */
  setOwner (body: unknown): void {
    const contact = body == null ? undefined : verifyContact(body, CONTACT_LIMITS, this.#now())
    const before = this.#owner
    this.#owner = contact
    if (before != null && before.address !== contact?.address) this.#changed(before.address)
    if (contact != null) this.#changed(contact.address, contact)
  }

  async get (address: string): Promise<Contact> {
    if (!isAddress(address)) throw new InvalidInputError('INVALID_ADDRESS', 'address must be an account address (z6Mk…)')
    const contact = await this.#store.get(address) ?? (this.#owner?.address === address ? this.#owner : undefined)
    if (contact == null) throw new NotFoundError('CONTACT_NOT_FOUND', `no contact for ${address}`)
    return contact
  }

  /** Drops an account's contact (the client left or was removed); no error when there is none. */
  async remove (address: string): Promise<void> {
    await this.#store.delete(address)
    this.#changed(address)
  }

  /** Every contact held, for search. */
  async all (): Promise<Contact[]> { return this.#store.all() }
}
