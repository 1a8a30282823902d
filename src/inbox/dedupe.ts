import type { SeenIds } from '../shared/seen-ids.ts'
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
