import { CONTACT_LIMITS, isNewer, verifyContactAsync } from '../contacts/contact.ts'
import { SEARCH_LIMITS } from './query.ts'
import type { Contact } from '../contacts/contact.ts'

/** One contact in the merged results: the newest version seen, its best score, and who returned it. */
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
  /** Contacts of addresses not in the results before this answer (what a UI shows as new). */
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
  now?: () => number
  /** Contacts verified at most, for direct answers and for passed-on ones (default SEARCH_LIMITS). */
  budget?: { direct: number, forwarded: number }
  /** Answers checked at once (each answer's contacts together). */
  concurrency?: number
}

type Checked = Array<{ contact: Contact, score: number }>

/**
 * Checks one cafe's answer, its shape already checked (answerItems): every contact signed by
 * its address. Returns undefined for anything else: a cafe that passes on one forgery may be
 * passing on others we cannot tell apart. Signatures are checked by WebCrypto (off the main
 * thread where the platform has Ed25519), all at once.
 */
async function checkItems (items: Array<{ contact: unknown, score: number }>, now: number): Promise<Checked | undefined> {
  try {
    return await Promise.all(items.map(async ({ contact, score }) => ({ contact: await verifyContactAsync(contact, CONTACT_LIMITS, now), score })))
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

function compare (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }

/**
 * Merges answers to one search as they arrive, for a UI that shows results while cafes are
 * still answering. Each cafe counts once: a second answer under the same cafe name is ignored
 * (and its first answer kept). Checking is bounded: answers wait their turn, direct ones
 * first, and past a class's budget of contacts an answer is skipped unverified.
 */
export class AnswerMerger {
  readonly #byAddress = new Map<string, MergedResult>()
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

  constructor (opts: MergerOptions | (() => number) = {}) {
    const o = typeof opts === 'function' ? { now: opts } : opts
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
    const added = new Map<string, Contact>()
    const updated = new Map<string, Contact>()
    for (const { contact, score } of checked) {
      const held = this.#byAddress.get(contact.address)
      if (held == null) {
        this.#byAddress.set(contact.address, { contact, score, cafes: [cafe] })
        added.set(contact.address, contact)
        continue
      }
      if (isNewer(contact, held.contact)) {
        held.contact = contact
        // Newly added in this answer stays "added" (with its newest version), not "updated".
        if (added.has(contact.address)) added.set(contact.address, contact)
        else updated.set(contact.address, contact)
      }
      held.score = Math.max(held.score, score)
      if (!held.cafes.includes(cafe)) held.cafes.push(cafe)
    }
    return { added: [...added.values()], updated: [...updated.values()], ignored: false }
  }

  /**
   * The best `limit` results so far: by score, then name, then address (so the order is stable).
   * Scores come from different cafes' indexes, so they rank only roughly across cafes.
   */
  results (limit: number): MergedResult[] {
    if (!(limit >= 1)) return []
    return [...this.#byAddress.values()]
      .sort((a, b) => b.score - a.score || compare(a.contact.name, b.contact.name) || compare(a.contact.address, b.contact.address))
      .slice(0, Math.floor(limit))
      .map(r => ({ contact: r.contact, score: r.score, cafes: [...r.cafes] }))
  }

  get ignoredCafes (): string[] { return [...this.#ignored] }
}

/** Merges every cafe's answer to one search at once (see AnswerMerger). */
export async function mergeAnswers (answers: ReadonlyArray<{ cafe: string, results: unknown }>, limit: number, now: number = Date.now()): Promise<MergedAnswers> {
  const merger = new AnswerMerger(() => now)
  for (const answer of answers) await merger.add(answer.cafe, answer.results)
  return { results: merger.results(limit), ignoredCafes: merger.ignoredCafes }
}
