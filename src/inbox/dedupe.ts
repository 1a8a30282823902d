import type { Envelope } from './envelope.ts'

export const DEDUPE_LIMITS = {
  /** Ids remembered: a few days of a busy inbox, about 1 MiB of keys. */
  maxIds: 10_000
} as const

/**
 * The dedupe key of an envelope: sender and id. Ids are chosen by senders, so keying on the id
 * alone would let anyone who saw an id (a cafe holding one of several inboxes) send a forgery
 * with it first and have the genuine message dropped as a duplicate.
 */
export function envelopeKey (envelope: Pick<Envelope, 'from' | 'id'>): string {
  return `${envelope.from}/${envelope.id}`
}

/**
 * A bounded set of seen keys. At most `max` are kept; past that the one seen longest ago is
 * forgotten, so an envelope older than the window could be accepted twice: pair it with a
 * bound on envelope age where that matters.
 */
export class SeenIds {
  // Map order = order of last sighting: the first key is the one to forget.
  readonly #keys = new Map<string, true>()
  readonly #max: number

  constructor (max: number = DEDUPE_LIMITS.maxIds) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('max must be a positive integer')
    this.#max = max
  }

  has (key: string): boolean { return this.#keys.has(key) }

  /** Records a sighting; a key seen again moves to the back, as it is evidently still travelling. */
  add (key: string): void {
    this.#keys.delete(key)
    this.#keys.set(key, true)
    if (this.#keys.size > this.#max) this.#keys.delete(this.#keys.keys().next().value as string)
  }

  /** Forgets a key, e.g. when handling its envelope failed and a redelivery should be let in. */
  delete (key: string): boolean { return this.#keys.delete(key) }

  get size (): number { return this.#keys.size }
}

/**
 * The envelopes not seen before, in their order, each once (duplicates inside the batch too);
 * all of them are recorded as seen. Call it on verified envelopes only, or a forgery could
 * spend a genuine key.
 */
export function selectNew<T extends Pick<Envelope, 'from' | 'id'>> (seen: SeenIds, envelopes: Iterable<T>): T[] {
  const fresh: T[] = []
  for (const envelope of envelopes) {
    const key = envelopeKey(envelope)
    if (!seen.has(key)) fresh.push(envelope)
    seen.add(key)
  }
  return fresh
}
