import { ContactIndex } from '../cafe/contacts/contact-index.ts'
import { CONTACT_LIMITS, isNewer, verifyContactAsync } from '../contacts/contact.ts'
import { SEARCH_LIMITS } from './query.ts'
import type { Contact } from '../contacts/contact.ts'

/** One contact in the merged results: the newest version seen, its score here (see AnswerMerger), and who returned it. */
export interface MergedResult {
  contact: Contact
  score: number
  cafes: string[]
}

export interface MergedAnswers {
  results: MergedResult[]
  /** Cafes whose answer was dropped whole: malformed, or holding a forged or invalid contact. */
  ignoredCafes: string[]
}

export interface AddOutcome {
  /** Contacts matching the query whose addresses were not in the results before this answer (what a UI shows as new). */
  added: Contact[]
  /** Contacts already shown that this answer brought a newer version of (a UI redraws them). */
  updated: Contact[]
  /** True when this answer was dropped whole. */
  ignored: boolean
  /** True when it was not checked: the search's verification budget for its class was spent. */
  skipped?: boolean
}

const RESULT_KEYS = ['contact', 'score']
const ignoredOutcome = (): AddOutcome => ({ added: [], updated: [], ignored: true })
const skippedOutcome = (): AddOutcome => ({ added: [], updated: [], ignored: false, skipped: true })

/**
 * Whose answer it is, in the order answers are checked: a cafe this search asked itself
 * (`direct`), one passed on by it from a cafe the relays' directories list (`listed`), or from
 * a cafe only the forwarder names (`unlisted`). Direct answers have a budget of their own, so
 * passed-on ones can never crowd them out.
 */
export type AnswerClass = 'direct' | 'listed' | 'unlisted'
const ORDER: Record<AnswerClass, number> = { direct: 0, listed: 1, unlisted: 2 }

export interface MergerOptions {
  /** The query answered: results are the verified contacts that match it, ranked here. */
  query: string
  now?: () => number
  /** Contacts verified at most, for direct answers and for passed-on ones (default SEARCH_LIMITS). */
  budget?: { direct: number, forwarded: number }
  /** Answers checked at once (each answer's contacts together). */
  concurrency?: number
}

type Checked = Contact[]

/**
 * Checks one cafe's answer, its shape already checked (answerItems): every contact signed by
 * its address. Returns undefined for anything else: a cafe that passes on one forgery may be
 * passing on others we cannot tell apart. Signatures are checked by WebCrypto (off the main
 * thread where the platform has Ed25519), all at once.
 */
async function checkItems (items: Array<{ contact: unknown, score: number }>, now: number): Promise<Checked | undefined> {
  try {
    return await Promise.all(items.map(async ({ contact }) => verifyContactAsync(contact, CONTACT_LIMITS, now)))
  } catch {
    return undefined
  }
}

/** An answer's items, shape and scores checked (contacts not yet), or undefined. */
function answerItems (results: unknown): Array<{ contact: unknown, score: number }> | undefined {
  if (!Array.isArray(results) || results.length > SEARCH_LIMITS.maxLimit) return undefined
  const items: Array<{ contact: unknown, score: number }> = []
  for (const item of results as unknown[]) {
    if (item == null || typeof item !== 'object' || Array.isArray(item)) return undefined
    const record = item as Record<string, unknown>
    const keys = Object.keys(record)
    if (keys.length !== RESULT_KEYS.length || !RESULT_KEYS.every(key => Object.hasOwn(record, key))) return undefined
    const score = record.score
    if (typeof score !== 'number' || !Number.isFinite(score) || score < 0) return undefined
    items.push({ contact: record.contact, score })
  }
  return items
}

/**
 * Merges answers to one search as they arrive, for a UI that shows results while cafes are
 * still answering. Each cafe counts once: a second answer under the same cafe name is ignored
 * (and its first answer kept). Checking is bounded: answers wait their turn, direct ones
 * first, and past a class's budget of contacts an answer is skipped unverified.
 *
 * Ranking is this device's own: the verified contacts go into a contact index like a cafe's
 * (the same matching and scoring), and the query is run on it. The score a cafe claims is
 * read only as part of its answer's shape: a fake cafe claiming huge scores, or sending
 * contacts that do not match the query, cannot put them above real results or into them.
 */
export class AnswerMerger {
  readonly #byAddress = new Map<string, MergedResult>()
  readonly #index = new ContactIndex()
  readonly #query: string
  /** Addresses a UI was told of (matching the query): a later version of one is an update. */
  readonly #shown = new Set<string>()
  readonly #answered = new Set<string>()
  readonly #ignored: string[] = []
  readonly #now: () => number
  readonly #left: { direct: number, forwarded: number }
  readonly #concurrency: number
  readonly #queue: Array<{ order: number, seq: number, start: () => void }> = []
  #running = 0
  #seq = 0
  verified = 0
  skipped = 0

  constructor (o: MergerOptions) {
    this.#query = o.query
    this.#now = o.now ?? Date.now
    this.#left = { ...(o.budget ?? { direct: SEARCH_LIMITS.maxVerifiedDirect, forwarded: SEARCH_LIMITS.maxVerifiedForwarded }) }
    this.#concurrency = o.concurrency ?? 4
  }

  /**
   * Checks and merges one cafe's answer. The cafe counts as answered at once, so a second
   * answer under its name is ignored even while this one is checked.
   */
  async add (cafe: string, results: unknown, kind: AnswerClass = 'direct'): Promise<AddOutcome> {
    if (this.#answered.has(cafe)) return ignoredOutcome()
    this.#answered.add(cafe)
    const items = answerItems(results)
    if (items == null) return this.#merge(cafe, undefined)
    await this.#turn(ORDER[kind])
    try {
      // Charged when its turn comes, so answers of a better class that came later go first.
      const budget = kind === 'direct' ? 'direct' : 'forwarded'
      if (items.length > this.#left[budget]) {
        this.skipped += items.length
        return skippedOutcome()
      }
      this.#left[budget] -= items.length
      this.verified += items.length
      return this.#merge(cafe, await checkItems(items, this.#now()))
    } finally {
      this.#done()
    }
  }

  async #turn (order: number): Promise<void> {
    if (this.#running < this.#concurrency && this.#queue.length === 0) { this.#running++; return }
    await new Promise<void>(resolve => {
      this.#queue.push({ order, seq: this.#seq++, start: resolve })
      this.#queue.sort((a, b) => a.order - b.order || a.seq - b.seq)
      this.#pump()
    })
  }

  #pump (): void {
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      this.#running++
      this.#queue.shift()!.start()
    }
  }

  #done (): void {
    this.#running--
    this.#pump()
  }

  #merge (cafe: string, checked: Checked | undefined): AddOutcome {
    if (checked == null) {
      this.#ignored.push(cafe)
      return ignoredOutcome()
    }
    const changed = new Set<string>()
    for (const contact of checked) {
      const held = this.#byAddress.get(contact.address)
      if (held == null) {
        this.#byAddress.set(contact.address, { contact, score: 0, cafes: [cafe] })
        this.#index.upsert(contact)
        changed.add(contact.address)
        continue
      }
      if (isNewer(contact, held.contact)) {
        held.contact = contact
        this.#index.upsert(contact)
        changed.add(contact.address)
      }
      if (!held.cafes.includes(cafe)) held.cafes.push(cafe)
    }
    // What a UI should show or redraw: the changed contacts that match the query here.
    const matching = new Set(this.#matches(Infinity).map(m => m.contact.address))
    const added: Contact[] = []
    const updated: Contact[] = []
    for (const address of changed) {
      if (!matching.has(address)) continue
      const { contact } = this.#byAddress.get(address)!
      if (this.#shown.has(address)) updated.push(contact)
      else { this.#shown.add(address); added.push(contact) }
    }
    return { added, updated, ignored: false }
  }

  /** The verified contacts matching the query, best first, scored by this device's index. */
  #matches (limit: number): Array<{ contact: Contact, score: number }> {
    return this.#index.search(this.#query, limit)
  }

  /** The best `limit` results so far: by this device's score, then name, then address (so the order is stable). */
  results (limit: number): MergedResult[] {
    if (!(limit >= 1)) return []
    return this.#matches(limit).map(({ contact, score }) => ({ contact, score, cafes: [...this.#byAddress.get(contact.address)!.cafes] }))
  }

  get ignoredCafes (): string[] { return [...this.#ignored] }
}

/** Merges every cafe's answer to one search for `query` at once (see AnswerMerger). */
export async function mergeAnswers (query: string, answers: ReadonlyArray<{ cafe: string, results: unknown }>, limit: number, now: number = Date.now()): Promise<MergedAnswers> {
  const merger = new AnswerMerger({ query, now: () => now })
  for (const answer of answers) await merger.add(answer.cafe, answer.results)
  return { results: merger.results(limit), ignoredCafes: merger.ignoredCafes }
}
