import MiniSearch from 'minisearch'
import { isNewer } from '../../contacts/contact.ts'
import type { Contact } from '../../contacts/contact.ts'
import type { ContactStore } from './contact-store.ts'

/** What MiniSearch holds per contact: the name only; the contact itself stays in a map. */
interface NameDoc { id: string, name: string }

export interface ContactHit { contact: Contact, score: number }

/**
 * Lower case without accents, so "José" is found by "jose" and "ÅSA" by "asa". Used for names
 * and queries alike (MiniSearch applies it to both).
 */
function normaliseTerm (term: string): string {
  return term.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()
}

/**
 * Edit distance allowed per query term: none for one or two letters (every name would match),
 * one up to four letters ("smth", "smyth"), two from five ("alcie": a swap is two edits).
 */
function fuzziness (term: string): number {
  return term.length <= 2 ? 0 : term.length <= 4 ? 1 : 2
}

// Prefix so results come while typing; AND so each extra word narrows rather than widens.
const SEARCH = { prefix: true, fuzzy: fuzziness, combineWith: 'AND' } as const

/**
 * A full-text index of the names of the contacts a cafe holds, kept in memory. It is rebuilt
 * from the ContactStore on start (load), then kept in step with upsert/remove as contacts are
 * published and dropped; the store stays the record, the index only a view of it.
 */
export class ContactIndex {
  readonly #contacts = new Map<string, Contact>()
  readonly #names = new MiniSearch<NameDoc>({ fields: ['name'], processTerm: normaliseTerm, searchOptions: SEARCH })

  /** The index of every contact the store holds. */
  static async load (store: ContactStore): Promise<ContactIndex> {
    const index = new ContactIndex()
    for (const contact of await store.all()) index.upsert(contact)
    return index
  }

  /**
   * Indexes a contact, replacing the one held for its address. Like the store, it keeps the
   * newest: a contact not newer than the one held is refused (false), so a replay that lost a
   * race with a newer version cannot bring the old name back into results.
   */
  upsert (contact: Contact): boolean {
    const held = this.#contacts.get(contact.address)
    if (held != null && !isNewer(contact, held)) return false
    this.#contacts.set(contact.address, contact)
    const doc = { id: contact.address, name: contact.name }
    if (held == null) this.#names.add(doc)
    else this.#names.replace(doc)
    return true
  }

  /** Drops an address's contact; false when none was held. */
  remove (address: string): boolean {
    if (!this.#contacts.delete(address)) return false
    this.#names.discard(address)
    return true
  }

  byAddress (address: string): Contact | undefined { return this.#contacts.get(address) }

  /** The best `limit` contacts whose names match every word of `query`, best first. */
  search (query: string, limit: number): ContactHit[] {
    if (!(limit >= 1) || query.trim() === '') return []
    const hits: ContactHit[] = []
    for (const result of this.#names.search(query)) {
      const contact = this.#contacts.get(result.id as string)
      if (contact != null) hits.push({ contact, score: result.score })
    }
    // Name then address break ties, so equal scores come back in the same order every time.
    hits.sort((a, b) => b.score - a.score || compare(a.contact.name, b.contact.name) || compare(a.contact.address, b.contact.address))
    return hits.slice(0, Math.floor(limit))
  }

  /** Bytes of the serialised name index (what it would take to persist it): a size figure for the bench. */
  indexBytes (): number { return JSON.stringify(this.#names).length }

  get size (): number { return this.#contacts.size }
}

function compare (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }
